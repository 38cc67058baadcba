"""Ingestion: raw input bytes become batches of validated events or dead letters. Nothing stops
the stream.

Stateless, so it runs on aiokafka directly rather than as a Faust agent: Faust's work per
consumed message alone would cap the worker far below the input rates a shop produces
(docs/benchmarks.md), and a stateless stage needs none of what Faust adds (tables, changelogs). Each
worker runs one ingester in the consumer group ``<app_id>-ingest``:

1. poll the input topics (``getmany``: up to ``BATCH_RECORDS`` messages);
2. parse each message (models.parse_message, the one place input is validated); its events go
   into one batch per destination partition (the user key's, streams/batches.py), its
   rejections to the dead-letter topic with the reason;
3. send the batches (one to every partition, led by the latest event time polled from each
   input partition: the KPI engines' watermark), wait until the broker has acknowledged every
   one, then commit the input offsets;
4. when polls bring nothing, report that progress anyway every ``PROGRESS_EVERY_S`` (a batch
   without events), so the KPI engines see their input fall silent and settle what they have.

At-least-once: a worker killed between 3's send and its commit has its input polled again by
the next owner and sent twice. The KPI engine recognises the second copy (same event id, same
input position: streams/kpis/engine.py) and drops it uncounted; a dead letter may be written
twice (same source position in its headers, counted once: streams/pipeline_health.py). A
rebalance waits for the poll in hand to be committed, so it duplicates nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime

import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError

from metrics import latency
from models import ParseLimits, RejectReason, parse_message
from streams.app import app, settings
from streams.batches import (
    EMPTY,
    MAX_BATCH_BYTES,
    BatchBuilder,
    Source,
    encode_line,
    input_partition,
    partition_of,
)
from streams.dead_letters import DeadLetter, letter_value
from streams.kpis.identity import Links, identity_link
from streams.topics import canonical_topic, dead_letter_topic, input_topics

log = logging.getLogger(__name__)

# Messages per poll at most: big enough to amortise the produce and commit round trip, small
# enough that a poll is processed in well under a second.
BATCH_RECORDS = 2000
# With live traffic a poll would return as soon as one message is there: a few events per
# batch, and the KPI agent spends its time on batches rather than events.
# The broker holds each fetch until this much data is there or the wait is over: a bounded
# delay that gathers live traffic into fewer, larger batches, and none while catching up (a
# backlog fills a fetch past this at once: 64 KiB per partition by default). An event waits
# about one such delay for the next poll to move the watermark past it, so it is kept short
# (benchmarks/bench_pipeline.py measures the event -> /metrics latency).
FETCH_MIN_BYTES = 256 * 1024
# How long a send waits for the broker (aiokafka also drops a batch still waiting for a leader
# after this long). With aiokafka's 40 s, a broker restart that took longer failed the send,
# and the ingester, and the worker with it; nothing is committed past an unsent batch either
# way, so waiting through a rolling restart is safe.
SEND_TIMEOUT_MS = 600_000
FETCH_MAX_WAIT_MS = 20
# Without input, the progress is still reported this often (a batch without events to every
# KPI partition): how the engines learn that all input stopped (streams/kpis/engine.py).
PROGRESS_EVERY_S = 1.0

limits = ParseLimits(
    max_event_bytes=settings.max_event_bytes,
    future_skew=settings.future_skew,
    replay_horizon=settings.replay_horizon,
)


def record_time(timestamp_ms: int | None) -> datetime:
    """The time a message is judged against: its Kafka timestamp, so a replay judges alike."""
    if timestamp_ms and timestamp_ms > 0:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return datetime.now(UTC)


def _identify_time(ignored) -> datetime | None:
    """An identify call's time, as its adapter passed it on (unvalidated text)."""
    try:
        moment = datetime.fromisoformat(ignored.timestamp)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def ingest_records(records, partitions: int, progress: dict[str, int | None],
                   links: Links | None = None
                   ) -> tuple[dict[int, BatchBuilder], list[DeadLetter], list[bytes]]:
    """Parses one poll's records (in offset order per input partition): the batches by
    destination partition, and the dead letters with the rejected bytes. ``progress`` (input
    partition -> latest event time) is brought up to date. An event that carries a user id
    only, and a link between a user id and an anonymous id (``links``), go to every partition
    (streams/kpis/identity.py)."""
    links = Links() if links is None else links
    batches: dict[int, BatchBuilder] = defaultdict(BatchBuilder)
    letters: list[DeadLetter] = []
    rejected: list[bytes] = []
    for record in records:
        value = record.value or b""
        try:
            received = record_time(record.timestamp)
            outcome = parse_message(value, now=received, limits=limits)
            source = Source(record.topic, record.partition, record.offset,
                            int(received.timestamp() * 1000))
            latest = progress.get(source.name)
            latest = None if latest == EMPTY else latest
            for event in outcome.events:
                line = encode_line(source, event)
                event_ms = int(event.timestamp.timestamp() * 1000)
                if event.anonymous_id is None:
                    _send_everywhere(batches, partitions, line)
                else:
                    batches[partition_of(event.anonymous_id, partitions)].add(line)
                    if event.user_id is not None and links.due(event.user_id,
                                                               event.anonymous_id, event_ms):
                        _send_everywhere(batches, partitions, encode_line(source, identity_link(
                            event.user_id, event.anonymous_id, event.timestamp)))
                latest = event_ms if latest is None else max(latest, event_ms)
            for ignored in outcome.ignored:
                latency.ignored.labels(record.topic, ignored.kind).inc()
                moment = (_identify_time(ignored) if ignored.user_id and ignored.anonymous_id
                          else None)
                if moment is not None and links.due(ignored.user_id, ignored.anonymous_id,
                                                    int(moment.timestamp() * 1000)):
                    _send_everywhere(batches, partitions, encode_line(source, identity_link(
                        ignored.user_id, ignored.anonymous_id, moment)))
            progress[source.name] = latest
            rejections = [(r.reason.value, r.detail) for r in outcome.rejections]
        except Exception as error:  # noqa: BLE001 - one bad message must not stop the stream
            log.exception("ingest: unexpected error at %s[%d]@%d",
                          record.topic, record.partition, record.offset)
            rejections = [(RejectReason.PARSER_ERROR.value, f"{type(error).__name__}: {error}")]
        kept, truncated_from = letter_value(value)  # a record the broker takes, headers added
        for index, (reason, detail) in enumerate(rejections):
            letters.append(DeadLetter(reason, record.topic, record.partition, record.offset,
                                      index, detail, truncated_from))
            rejected.append(kept)
    return batches, letters, rejected


def _send_everywhere(batches, partitions: int, line: bytes) -> None:
    for partition in range(partitions):
        batches[partition].add(line)


class _WaitForPollInHand(ConsumerRebalanceListener):
    def __init__(self, lock: asyncio.Lock, progress: dict[str, int | None]) -> None:
        self.lock = lock
        self.progress = progress

    async def on_partitions_revoked(self, revoked) -> None:
        async with self.lock:  # the poll in hand is sent and committed first
            for tp in revoked:
                self.progress.pop(input_partition(tp.topic, tp.partition), None)

    async def on_partitions_assigned(self, assigned) -> None:
        names = {input_partition(tp.topic, tp.partition) for tp in assigned}
        for name in names:  # not polled yet: holds the KPI engines' watermark back
            self.progress.setdefault(name, None)
        log.info("ingest: assigned %s", sorted(names))


@app.service
class Ingester(mode.Service):
    """Input topics -> batches on the canonical topic, dead letters on the dead-letter topic."""

    def __post_init__(self) -> None:
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.lock = asyncio.Lock()
        self.progress: dict[str, int | None] = {}  # owned input partition -> latest event ms
        self.links = Links()  # identity links sent (streams/kpis/identity.py)
        self.reported = time.monotonic()  # when the KPI partitions last heard of the progress

    async def on_start(self) -> None:
        servers = settings.kafka_bootstrap_servers
        self.producer = AIOKafkaProducer(
            bootstrap_servers=servers, linger_ms=5, max_request_size=2 * MAX_BATCH_BYTES,
            client_id=f"{settings.app_id}-ingest", request_timeout_ms=SEND_TIMEOUT_MS)
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=servers, group_id=f"{settings.app_id}-ingest",
            client_id=f"{settings.app_id}-ingest", enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Small fetches per partition interleave the input partitions finely while
            # catching up, which keeps their event-time skew (and spurious lateness) small.
            max_partition_fetch_bytes=settings.consumer_max_fetch_bytes,
            fetch_min_bytes=FETCH_MIN_BYTES, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            session_timeout_ms=10_000, heartbeat_interval_ms=3_000,
        )
        self.consumer.subscribe(list(input_topics.topics),
                                listener=_WaitForPollInHand(self.lock, self.progress))
        await self.consumer.start()

    async def on_stop(self) -> None:
        async with self.lock:
            if self.consumer is not None:
                await self.consumer.stop()
            if self.producer is not None:
                await self.producer.stop()

    @mode.Service.task
    async def _run(self) -> None:
        while not self.should_stop:
            try:
                polled = await self.consumer.getmany(timeout_ms=200, max_records=BATCH_RECORDS)
            except KafkaError as error:
                log.warning("ingest: poll failed (%s); retrying", error)
                await self.sleep(1.0)
                continue
            if polled:
                async with self.lock:
                    await self._forward(polled)
                    self.reported = time.monotonic()
            elif self.progress and time.monotonic() - self.reported >= PROGRESS_EVERY_S:
                async with self.lock:
                    await self._report_progress()
                    self.reported = time.monotonic()

    def _mark_empty(self) -> None:
        """An owned input partition that never had a message (high watermark 0) is reported
        as EMPTY: it holds no KPI engine back (a topic the shop does not use, a partition its
        keys never hash to), where one merely not polled yet does."""
        for tp in self.consumer.assignment():
            name = input_partition(tp.topic, tp.partition)
            if self.progress.get(name, EMPTY) is None and self.consumer.highwater(tp) == 0:
                self.progress[name] = EMPTY

    async def _caught_up(self) -> list[str]:
        """The owned input partitions read to their end (as of their last fetch): their next
        event is not written yet, so they hold no KPI engine's watermark back meanwhile
        (streams/kpis/engine.py, ``observe_sources``)."""
        caught_up = []
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is not None and await self.consumer.position(tp) >= highwater:
                caught_up.append(input_partition(tp.topic, tp.partition))
        return sorted(caught_up)

    async def _send_batches(self, batches: dict[int, BatchBuilder],
                            polled_ms: int | None) -> list:
        """Sends every KPI partition its batches, each led by the progress: a partition
        without events for it gets the progress alone (its watermark). Returns the sends."""
        canonical = canonical_topic.get_topic_name()
        inputs = {topic: len(self.consumer.partitions_for_topic(topic) or ())
                  for topic in input_topics.topics}
        self._mark_empty()
        caught_up = await self._caught_up()
        sends = []
        for partition in range(settings.topic_partitions):
            for value in batches[partition].messages(self.progress, inputs, polled_ms,
                                                     caught_up):
                sends.append(await self.producer.send(canonical, value=value,
                                                      partition=partition))
        return sends

    async def _report_progress(self) -> None:
        """No input for ``PROGRESS_EVERY_S``: every KPI partition still hears of this
        ingester's progress (a batch without events), so the KPI engines see the input
        partitions fall idle and settle the last minutes received (streams/kpis/engine.py)."""
        try:
            await asyncio.gather(*await self._send_batches(defaultdict(BatchBuilder), None))
        except KafkaError as error:  # the next report, or the next poll's batches, will do
            log.warning("ingest: progress report failed (%s)", error)

    async def _forward(self, polled: dict) -> None:
        records = [record for batch in polled.values() for record in batch]
        batches, letters, rejected = ingest_records(records, settings.topic_partitions,
                                                    self.progress, self.links)
        sends = await self._send_batches(batches, max(record.timestamp for record in records))
        dead_letters = dead_letter_topic.get_topic_name()
        for letter, value in zip(letters, rejected, strict=True):
            sends.append(await self.producer.send(
                dead_letters, key=letter.key, value=value,
                headers=list(letter.headers().items())))
        await asyncio.gather(*sends)  # raises if the broker refused one: nothing is committed
        try:
            await self.consumer.commit({tp: batch[-1].offset + 1 for tp, batch in polled.items()})
        except CommitFailedError as error:
            # The partitions moved during a rebalance: their next owner polls them again, and
            # what we sent comes twice (recognised downstream, see the module docstring).
            log.warning("ingest: commit failed (%s); the input is consumed again", error)
