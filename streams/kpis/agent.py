"""Wires the KPI engine to Faust: one PartitionEngine per canonical-topic partition.

Each message is a batch of events (streams/batches.py). A batch is counted when it arrives
(streams/pipeline_health.py, one table write per batch) and its events go to the engine one
by one. The batch is acknowledged once every event of it is finished: applied, found late, a
duplicate, a bot's or a replay; and batches only in offset order (in_order_acks.py). So Faust
never commits past an event whose effect is not yet written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError
from faust.types import TP

from metrics import latency
from models.stored import decode_stored
from streams.app import app, settings
from streams.batches import Source, decode_message, origin
from streams.changelog_writes import ChangelogWriter
from streams.dead_letters import DeadLetter
from streams.kpis.engine import PartitionEngine
from streams.kpis.in_order_acks import InOrderAcks
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.readout import Shown
from streams.kpis.spend import SpendLedger, SpendView
from streams.pipeline_health import count_batch
from streams.state_format import table_name
from streams.topics import canonical_topic, dead_letter_topic

LATE_EVENT = "late_event"

log = logging.getLogger(__name__)

kpi_settings = KpiSettings.from_settings(settings)
# Values kept as their JSON bytes (streams/changelog_writes.py): read them through kpi_values.
# The name carries the state format (streams/state_format.py): "kpi-state-v1".
kpi_state = app.Table(table_name("kpi-state"), value_type=bytes)
# The engines write the table through this: in bulk, sent before their events are acknowledged.
kpi_writes = ChangelogWriter(kpi_state)
kpi_values = kpi_writes.values  # the table's values decoded
runs: dict[int, Run] = {}  # partition -> what this worker holds of it
# Ad spend rows, kept outside the engine and read into partition 0's windows (spend.py); the
# spend topic's reader fills it (streams/spend_feed.py).
spend_ledger = SpendLedger(kpi_settings)
# What /metrics and /kpis read: the table with what the engines applied and did not write yet.
kpi_view = SpendView(Shown(kpi_values, lambda partition: (
    run.engine if (run := runs.get(partition)) and partition in owned else None)), spend_ledger)
# What the alert publisher and the fail-open evaluator read: settled windows, with spend.
kpi_settled_view = SpendView(kpi_values, spend_ledger)
owned: set[int] = set()  # the canonical partitions assigned to this worker
log_starts: dict[int, tuple[int, float]] = {}  # partition -> (log start, when asked)
skipping: dict[int, Skipping] = {}
SEEK_AFTER_S = 10.0


@dataclass
class Run:
    """One unbroken run of a partition's offsets being read here: its engine, the batches
    waiting to be acknowledged in offset order, and the last offset read."""

    engine: PartitionEngine
    acks: InOrderAcks
    last_offset: int


@dataclass
class Batch:
    """One batch message: acknowledged once ``unfinished`` reaches 0."""

    event: Any  # Faust's event, what is acknowledged
    offset: int
    unfinished: int
    input_ms: int | None  # when the newest input message of the ingester's poll was written
    # (None: a progress report without input, streams/ingest.py)


@dataclass
class Held:
    """What the engine holds for one pending event: its batch and its input time."""

    batch: Batch
    input_ms: int
    shown: bool = False  # applied and shown in /metrics already


@app.on_partitions_revoked.connect
async def stop_partitions_revoked(sender, revoked, **kwargs) -> None:
    """A revoked partition is no longer ours, even if the assignment that follows gives it
    back: until then none of its messages is processed (one processed meanwhile would write
    state into a changelog its next owner may be reading already)."""
    topic = canonical_topic.get_topic_name()
    for tp in revoked:
        if tp.topic == topic:
            owned.discard(tp.partition)
            _drop(tp.partition)


@app.on_partitions_assigned.connect
async def take_partitions_assigned(sender, assigned, **kwargs) -> None:
    """Every assigned partition starts again from its committed offset (Faust seeks there
    after the assignment): its engine is built anew by the first message at that offset."""
    topic = canonical_topic.get_topic_name()
    owned.clear()
    owned.update(tp.partition for tp in assigned if tp.topic == topic)
    log_starts.clear()
    skipping.clear()
    for partition in set(runs) - owned:
        _drop(partition)


def _drop(partition: int) -> None:
    runs.pop(partition, None)


async def _start_of(tp, offset: int) -> int:
    """Where this worker's reading of a partition starts: its committed offset, or the start
    of its log when nothing is committed (streams/transport.py seeks there) or when retention
    deleted the log past the committed offset (the consumer then resets to the log's start).
    The log's start is asked of the broker once per assignment, and again when a message
    past the start arrives and the answer is over 10 s old."""
    committed = app.consumer.committed_offset(tp) or 0
    known = log_starts.get(tp.partition)
    if known is None or (offset > max(committed, known[0]) and time.monotonic() - known[1] > 10):
        try:
            earliest = (await asyncio.wait_for(app.consumer.earliest_offsets(tp), 10)).get(tp)
        except (TimeoutError, KafkaError) as error:
            log.warning("KPI partition %d: the start of its log is unknown (%r); asking "
                        "again with the next message", tp.partition, error)
            return committed
        known = log_starts[tp.partition] = (earliest or 0, time.monotonic())
    if committed and known[0] > committed:
        # Retention deleted past the committed offset while the partition was ours (on an
        # assignment, streams/transport.py's skip_deleted sees to it): reading starts at the
        # log's start, and so must the run of acknowledgements Faust commits.
        app.consumer.move_committed_offset(tp, known[0])
    return max(committed, known[0])


@dataclass
class Skipping:
    """Messages of a partition skipped while waiting for its start to come again."""

    start: int
    since: float
    count: int = 0
    first: int = -1
    last: int = -1
    sought: float = 0.0


async def run_at(message) -> Run | None:
    """The run a message continues (its engine), or None when the message must be skipped
    (unprocessed, unacknowledged: it comes again).

    An engine sees one unbroken run of a partition's offsets, from at or before the
    partition's start (its committed offset): every event its settled minutes need, so
    nothing it writes or acknowledges can pass an event it never saw. A message that does
    not continue the run (a seek back after a rebalance, stale messages fetched before the
    seek, a partition no longer ours) ends the engine; a new one starts only at the start,
    and messages past the start are skipped until the seek brings the start again (after
    ``SEEK_AFTER_S`` without it, the agent seeks there itself). Without this a worker handed a
    partition could start from messages fetched before its seek, settle minutes missing the
    events before them, and take those events, read again after the seek, for replays: the
    SIGKILL oracle lost most of the first minutes of a partition or two about one run in four.
    """
    partition = message.partition
    run = runs.get(partition)
    if partition in owned and run is not None and message.offset == run.last_offset + 1:
        run.last_offset = message.offset
        return run
    if run is not None:
        log.info("KPI partition %d: offset %d does not follow %d (a seek back, a message "
                 "fetched before one, or a revocation): its engine starts again", partition,
                 message.offset, run.last_offset)
    _drop(partition)
    if partition not in owned:
        return None
    start = await _start_of(message.tp, message.offset)
    if partition not in owned or partition in runs:
        return None
    if message.offset > start:
        _skip(message, start)
        return None
    engine = PartitionEngine(kpi_writes.partition(partition), partition, kpi_settings)
    run = runs[partition] = Run(engine, InOrderAcks(), message.offset)
    progress = engine.progress()
    waited = skipping.pop(partition, None)
    log.info("KPI partition %d: reading from offset %d (start %d, %d later messages skipped "
             "meanwhile); settled through %s, watermark %s, %d input partitions remembered, "
             "%d late so far", partition, message.offset, start, waited.count if waited else 0,
             progress["settled_through"], progress["watermark"], len(engine.sources),
             progress["late"])
    return run


def _skip(message, start: int) -> None:
    partition = message.partition
    waiting = skipping.get(partition)
    if waiting is None or waiting.start != start:
        waiting = skipping[partition] = Skipping(start, time.monotonic(), first=message.offset)
    waiting.count += 1
    waiting.last = message.offset


async def seek_back_waiting() -> None:
    """A partition waiting more than ``SEEK_AFTER_S`` for its start to come again, with no
    seek bringing it (none was due: messages past a hole, the last of them maybe), is sought
    back to its start here."""
    now = time.monotonic()
    for partition, waiting in list(skipping.items()):
        if (partition not in owned or partition in runs or now - waiting.since <= SEEK_AFTER_S
                or now - waiting.sought <= SEEK_AFTER_S):
            continue
        log.warning("KPI partition %d: offset %d, where its reading starts, has not come for "
                    "%.0f s (%d later messages skipped, offsets %d..%d): seeking back to it",
                    partition, waiting.start, now - waiting.since, waiting.count, waiting.first,
                    waiting.last)
        waiting.sought = now
        try:
            await app.consumer.seek(TP(canonical_topic.get_topic_name(), partition),
                                    waiting.start)
        except Exception as error:  # noqa: BLE001 - a rebalance took it meanwhile: its seek will do
            log.warning("KPI partition %d: seeking back failed (%r); trying again in %.0f s",
                        partition, error, SEEK_AFTER_S)


app.timer(interval=SEEK_AFTER_S / 2)(seek_back_waiting)


@app.agent(canonical_topic, concurrency=1)
async def compute_kpis(stream):
    manual = stream.noack()
    async for event in manual.events():
        message = event.message
        partition = message.partition
        run = await run_at(message)
        if run is None:
            continue
        engine = run.engine
        header, lines = decode_message(message.value)
        batch = Batch(event, message.offset, len(lines) + 1, header.get("polled_ms"))
        run.acks.arrived(message.offset, batch)
        events = [(source, decode_stored(raw), raw) for source, raw in lines]
        if events:
            count_batch(message.topic, partition, message.offset, events)
        finished: list[Batch] = [batch]  # the batch's own share: it has been read
        progress = engine.progress()
        late = 0
        for index, (source, canonical, raw) in enumerate(events):
            if canonical.is_bot:
                finished.append(batch)
                continue
            position = origin(message.offset, index)
            outcome = engine.receive(position, canonical, Held(batch, source.input_ms),
                                     source=None, position=f"{source.name}@{source.offset}",
                                     settle=False, progress=progress)
            if outcome.superseded is not None:
                finished.append(outcome.superseded.batch)
            # (Written before a late event was judged: streams/kpis/engine.py.)
            finished.extend(pending.handle.batch for pending in outcome.settled)
            if outcome.late:
                late += 1
                await _late(message.topic, partition, position, source, canonical, raw)
                if runs.get(partition) is not run:
                    break  # revoked meanwhile: its next owner reads the batch again
            if outcome.late or outcome.replayed or outcome.duplicate or outcome.elsewhere:
                finished.append(batch)
        if runs.get(partition) is not run:
            continue
        # The watermark moves once per batch, after its events: none of them is made late by
        # the batch's own progress report.
        engine.observe_sources(header["sources"], inputs=header.get("inputs"),
                               caught_up=header.get("caught_up", ()))
        applied = engine.settle(progress)
        if applied.shown:
            observe_latency(batch, applied.shown)
        finished.extend(pending.handle.batch for pending in applied.written)
        if late:
            log.warning("KPI partition %d: %d late events in batch %d (watermark %s, applied "
                        "until %s, slowest inputs %s)", partition, late, message.offset,
                        engine.watermark_ms, progress.get("applied_until"),
                        engine.slowest_sources())
        await kpi_writes.send()  # what the batch wrote, before anything it finished is acked
        for done in finished:
            done.unfinished -= 1
            if done.unfinished == 0:
                for ready in run.acks.done(done.offset):
                    await manual.ack(ready.event)


def observe_latency(trigger: Batch, shown: list) -> None:
    # Applied means visible: /metrics shows what the engines applied in memory at scrape time.
    now_ms = time.time() * 1000
    if trigger.input_ms is not None:  # not when the input fell silent (a progress report)
        latency.settle.observe(max(now_ms - trigger.input_ms, 0.0) / 1000)
    for pending in shown:
        held = pending.handle
        if not held.shown:  # (applied again after a late-coming event: shown already)
            held.shown = True
            latency.event_to_metric.observe(max(now_ms - held.input_ms, 0.0) / 1000)


async def _late(topic: str, partition: int, position: int, source: Source, canonical,
                raw: bytes) -> None:
    # Keyed by the canonical partition, with the event's origin as its offset: late events
    # are counted in arrival order there (streams/pipeline_health.py counts each once).
    letter = DeadLetter(LATE_EVENT, topic, partition, position, 0,
                        f"timestamp: {canonical.timestamp.isoformat()} is before the event time "
                        f"applied already (the watermark less allowed_lateness); input "
                        f"{source.name}@{source.offset}")
    await dead_letter_topic.send(key=letter.key, value=raw, headers=letter.headers())
