"""Wires the KPI engine to Faust: one PartitionEngine per canonical-topic partition.

Events are consumed without automatic acks and acknowledged only once applied (or found late,
a bot's, or a replay), so Faust never commits past an event whose effect is not yet written.
"""

from __future__ import annotations

import time

from metrics import latency
from models import decode_canonical
from streams.app import app, settings
from streams.dead_letters import DeadLetter
from streams.dedup import ORIGIN_OFFSET_HEADER
from streams.ingest import INPUT_TIME_HEADER, SOURCE_PARTITION_HEADER, SOURCE_TOPIC_HEADER
from streams.kpis.engine import PartitionEngine
from streams.kpis.in_order_acks import InOrderAcks
from streams.kpis.kpi_settings import KpiSettings
from streams.topics import canonical_topic, dead_letter_topic

LATE_EVENT = "late_event"

kpi_settings = KpiSettings.from_settings(settings)
kpi_state = app.Table("kpi-state")
engines: dict[int, PartitionEngine] = {}
acks: dict[int, InOrderAcks] = {}
last_offset: dict[int, int] = {}


def engine_for(partition: int) -> PartitionEngine:
    if partition not in engines:
        engines[partition] = PartitionEngine(kpi_state, partition, kpi_settings)
        acks[partition] = InOrderAcks()
    return engines[partition]


def input_time(message) -> float:
    """The input message's Kafka timestamp (s), carried by ingestion; else this message's."""
    headers = message.headers or ()
    for key, value in headers.items() if isinstance(headers, dict) else headers:
        if key == INPUT_TIME_HEADER:
            return int(value) / 1000
    return message.timestamp


def observe_latency(trigger, applied: list) -> None:
    # Applied means visible: /metrics reads the table at scrape time.
    now = time.time()
    latency.settle.observe(max(now - input_time(trigger), 0.0))
    for pending in applied:
        if pending.handle is not None:
            latency.event_to_metric.observe(max(now - input_time(pending.handle.message), 0.0))


@app.on_partitions_revoked.connect
async def forget_pending(sender, revoked, **kwargs) -> None:
    # Unacknowledged events of a revoked partition come back to whoever owns it next.
    for tp in revoked:
        if tp.topic == canonical_topic.get_topic_name():
            engines.pop(tp.partition, None)
            acks.pop(tp.partition, None)


@app.agent(canonical_topic, concurrency=1)
async def compute_kpis(stream):
    manual = stream.noack()
    async for event in manual.events():
        message = event.message
        if message.offset <= last_offset.get(message.partition, -1):
            # The consumer was sought back (a rebalance): what we hold of this partition is
            # stale and comes again; acknowledging any of it could commit past a live event.
            engines.pop(message.partition, None)
            acks.pop(message.partition, None)
        last_offset[message.partition] = message.offset
        engine = engine_for(message.partition)
        in_order = acks[message.partition]
        in_order.arrived(message.offset, event)
        finished = []
        canonical = decode_canonical(message.value)
        if canonical.is_bot:
            for handle in in_order.done(message.offset):
                await manual.ack(handle)
            continue
        headers = dict(message.headers or {})
        origin = int(headers[ORIGIN_OFFSET_HEADER])
        source = (headers.get(SOURCE_TOPIC_HEADER, b"") + b":"
                  + headers.get(SOURCE_PARTITION_HEADER, b"")).decode()
        outcome = engine.receive(origin, canonical, event, source=source)
        if outcome.superseded is not None:
            finished.append(outcome.superseded)
        if outcome.late:
            letter = DeadLetter(LATE_EVENT, message.topic, message.partition, origin, 0,
                                f"timestamp: {canonical.timestamp.isoformat()} is in a window "
                                "settled already (allowed_lateness passed)")
            await dead_letter_topic.send(key=letter.key, value=message.value,
                                         headers=letter.headers())
        if outcome.late or outcome.replayed:
            finished.append(event)
        if outcome.settled:
            observe_latency(message, outcome.settled)
        finished.extend(pending.handle for pending in outcome.settled)
        for done in finished:
            for handle in in_order.done(done.message.offset):
                await manual.ack(handle)
