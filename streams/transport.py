"""The Faust transport kpiwatch runs on, and the durability rule it keeps.

kpiwatch extends Faust only through Faust's own seams: this transport is registered under the
``faust.transports`` entry point as ``kpiwatch`` (pyproject.toml), the app's broker URL names it
(``kpiwatch://host:port``, ``Settings.faust_broker``), and it is Faust's aiokafka transport with
its own ``Consumer`` and ``Producer`` classes (``Transport.Consumer`` and ``.Producer`` are class
variables for that). No Faust, mode or aiokafka class is changed for the rest of the process.

The durability rule
-------------------
An event's effects reach the broker before its offset is committed; whatever is not committed
is read again after a crash or a rebalance, and the KPI engine takes a replay for what it is
(streams/applied_once.py, streams/kpis/engine.py). In commit order:

1. The KPI engine applies an event to the table in memory and queues its changelog records
   (streams/changelog_writes.py, ``ChangelogWriter``).
2. The KPI agent hands the queued records to the Kafka client before it acknowledges the
   batch they came from, and acknowledges batches in offset order only
   (streams/kpis/agent.py, streams/kpis/in_order_acks.py). Every agent runs with concurrency 1,
   so no offset is acknowledged past an event in flight (faust-streaming issue #606).
3. Faust commits a run of acknowledged offsets; for the topics named in
   ``KpiwatchApp.gapless_topics`` only a run that starts at the committed offset, and a jump in
   the offsets read is never taken for a gap to skip (``Consumer._new_offset``, ``_add_gap``).
4. Before it commits, Faust flushes the producer (``Consumer._commit_offsets``). Here that
   flush delivers (``DeliveringBuffer.flush``): the changelog writers' records, then every
   message put in Faust's buffer up to the last one, then the client's batches; and it
   raises, from then on, once any of those sends failed, so no commit passes a lost write.
5. After a rebalance every assigned partition of those topics is read again from its committed
   offset, or from its start when nothing is committed (``Consumer.perform_seek``), and none is
   fetched before its seek is done (``Consumer.resume_partitions``).

What the pinned Faust does and these classes rely on is asserted by tests/contract/.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer

log = logging.getLogger(__name__)

# Faust's worker consumer asks the broker to hold each fetch up to 1.5 s, and no setting changes
# it. aiokafka does not fetch a partition whose records are still buffered, and its next fetch
# (of the partitions with nothing new) then holds the buffered partition's next records back
# until the wait is over: with live traffic, batches reached the KPI agent up to that wait after
# they were written while the agent sat idle. A short wait bounds that delay.
FETCH_MAX_WAIT_MS = 50

# Faust stops consuming while more than ``max_messages`` (100) writes wait in its buffer. A KPI
# engine's checkpoint writes thousands at once (streams/kpis/engine.py): they go out while the
# next batches are applied, instead of holding every partition's events back until they are
# sent. (Still bounded: the engine checkpoints at most ``checkpoint_events`` events at once.)
BUFFERED_WRITES = 50_000
WRITES_FLUSH_TIMEOUT_S = 60.0


class WorkerConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # Shim: Faust passes fetch_max_wait_ms=1500 to the consumer it builds, with no setting,
        # and aiokafka reads the attribute when the consumer starts (tests/contract).
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # noqa: SLF001
        return consumer


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with steps 3 and 5 of the durability rule for the app's
    ``gapless_topics``: topics whose offsets have no holes (no transactions, no compaction)."""

    _deferred: set | None = None  # partitions to resume once an assignment's seek is done

    def _new_consumer_thread(self) -> WorkerConsumerThread:
        return WorkerConsumerThread(self, loop=self.loop, beacon=self.beacon)

    @property
    def gapless_topics(self) -> frozenset[str]:
        return getattr(self.app, "gapless_topics", frozenset())

    def committed_offset(self, tp) -> int | None:
        """The offset Faust last committed for a partition (None: nothing yet)."""
        return self._committed_offset.get(tp)

    def move_committed_offset(self, tp, offset: int) -> None:
        """Where the run of acknowledgements Faust commits must start: the log's start, when
        retention deleted the log past the committed offset."""
        self._committed_offset[tp] = offset

    async def on_partitions_assigned(self, assigned, generation_id: int = 0) -> None:
        # Faust pauses every assigned partition, recovers the tables, then resumes the stream
        # partitions and only after that seeks them: ours stay paused until the seek.
        self._deferred = set()
        await super().on_partitions_assigned(assigned, generation_id)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        names = self.gapless_topics
        await rewind_uncommitted(self, names)
        try:
            await skip_deleted(self, names)
        except Exception as error:  # noqa: BLE001 - the KPI agent also checks (streams/kpis/agent.py)
            log.warning("the log starts of %s are unknown (%r): a committed offset deleted by "
                        "retention is not skipped", sorted(names), error)
        deferred, self._deferred = self._deferred, None
        if deferred:
            super().resume_partitions(deferred)

    def resume_partitions(self, tps) -> None:
        if self._deferred is not None:  # an assignment's seek is pending
            names = self.gapless_topics
            ours = {tp for tp in tps if tp.topic in names}
            self._deferred |= ours
            tps = {tp for tp in tps if tp not in ours}
        super().resume_partitions(tps)

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        # After a seek back, a message fetched before the seek makes a jump over the very
        # events to be read again; Faust would count them acknowledged.
        if tp.topic not in self.gapless_topics:
            await super()._add_gap(tp, offset_from, offset_to)

    def _new_offset(self, tp):
        if tp.topic in self.gapless_topics and not starts_at_committed(
                self._committed_offset[tp], self._acked[tp], self._acked_index[tp]):
            return None
        return super()._new_offset(tp)


def starts_at_committed(committed: int | None, acked: list[int], acked_index: set[int]) -> bool:
    """Whether Faust may commit the run of acknowledged offsets of a partition: only when it
    starts at the committed offset. Faust's own rule takes a run that starts one past it, or
    anywhere when nothing is committed. Offsets below the committed one (finished before the
    last commit, read again after a seek) are dropped from ``acked`` first."""
    if not committed or not acked:
        return True
    done = [offset for offset in acked if offset < committed]
    if done:
        acked[:] = [offset for offset in acked if offset >= committed]
        acked_index.difference_update(done)
    return not acked or min(acked) == committed


async def rewind_uncommitted(consumer, topics: Iterable[str]) -> list:
    """Seeks to 0 the assigned partitions of ``topics`` that have no committed offset past 0
    (after ``perform_seek``, whose result the read offsets hold); returns them. aiokafka's
    ``seek_to_committed`` skips them (aio-libs/aiokafka issue #1003): the consumer would go on
    from where it had fetched to, past events it held unacknowledged."""
    names = set(topics)
    rewound = [tp for tp in consumer.assignment()
               if tp.topic in names and not consumer._read_offset.get(tp)]  # noqa: SLF001
    for tp in rewound:
        await consumer.seek(tp, 0)
    return rewound


async def skip_deleted(consumer, topics: Iterable[str]) -> list:
    """Moves the assigned partitions of ``topics`` whose committed offset retention deleted
    (the log starts past it: a worker down for longer than the retention) to the log's start,
    reading and committed offset both; returns them. Reading would start there anyway
    (``auto_offset_reset``), but Faust's committed offset would stay below it, and a run of
    acknowledgements must start at the committed offset (``starts_at_committed``): nothing
    would be committed again."""
    names = set(topics)
    behind = [tp for tp in consumer.assignment()
              if tp.topic in names and consumer.committed_offset(tp)]
    if not behind:
        return []
    starts = await consumer.earliest_offsets(*behind)
    moved = [tp for tp in behind if (starts.get(tp) or 0) > consumer.committed_offset(tp)]
    for tp in moved:
        log.warning("%s[%d]: retention deleted the log past the committed offset %d; reading "
                    "and committing go on from the log's start, %d", tp.topic, tp.partition,
                    consumer.committed_offset(tp), starts[tp])
        consumer.move_committed_offset(tp, starts[tp])
        await consumer.seek(tp, starts[tp])
    return moved


# Tables whose writes bypass Faust's buffer (streams/changelog_writes.py): flushed with it.
_writers: list = []


def register_writer(writer) -> None:
    """Flush ``writer`` (a ChangelogWriter: ``await writer.flush()``) before every commit."""
    _writers.append(writer)


def unregister_writer(writer) -> None:
    _writers.remove(writer)


class DeliveringBuffer(ProducerBuffer):
    """Faust's send buffer with a flush that delivers (step 4 of the durability rule).

    Faust's flush returns as soon as 0.1 s pass without a message leaving the buffer, and does
    not count the message being handed to the client at that moment (faust-streaming PR #112
    made it wait for an empty buffer, not for delivery). Under load a commit could then go out
    while changelog writes of acknowledged events were still buffered, and a send that failed
    was only logged: a SIGKILL then loses effects whose offsets are committed."""

    max_messages = BUFFERED_WRITES

    def __post_init__(self) -> None:
        super().__post_init__()
        self.last: asyncio.Future | None = None
        self.failed: BaseException | None = None

    def put(self, fut) -> None:
        self.last = fut
        fut.add_done_callback(self._note_failure)
        super().put(fut)

    def _note_failure(self, fut) -> None:
        if not fut.cancelled() and fut.exception() is not None and self.failed is None:
            self.failed = fut.exception()

    async def flush(self) -> None:
        for writer in _writers:
            # Bounded: a producer that is stopping may never deliver them; the commit then
            # fails, and the events are read again.
            await asyncio.wait_for(writer.flush(), timeout=WRITES_FLUSH_TIMEOUT_S)
        last = self.last
        while last is not None and not last.done():
            if self.state != "running" or self.should_stop:
                # Stopping: nothing drains the buffer any more; Faust's flush says so.
                await super().flush()
                break
            await asyncio.wait({last}, timeout=1.0)
        if self.failed is not None:
            # Sticky: no later commit may pass the lost write either; the worker must restart.
            raise RuntimeError(f"a buffered send (changelog write) failed: {self.failed!r}"
                               ) from self.failed


class Producer(faust_aiokafka.Producer):
    """Faust's aiokafka producer with a ``DeliveringBuffer``, and the Kafka client for the
    changelog writers' whole record batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        buffer = DeliveringBuffer(loop=self.loop, beacon=self.beacon)
        # What Faust's __init__ gives its own buffer (the one replaced is never started).
        if self.threaded_producer is not None:
            buffer.threaded_producer = self.threaded_producer
        buffer.app = self.app
        self.buffer = buffer

    async def record_client(self):
        """The started aiokafka producer, for sending whole record batches."""
        await self.maybe_start()
        return self._ensure_producer()


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type] = Consumer
    Producer: ClassVar[type] = Producer
