"""After a rebalance, read a partition again from its start when nothing of it was committed.

Faust seeks every assigned partition to its committed offset after a rebalance
(``Consumer.perform_seek``), so that events held unacknowledged are read again, and the KPI
agent drops what it held of a revoked partition on exactly that promise. But aiokafka's
``seek_to_committed`` skips a partition whose committed offset is None (nothing committed yet)
or 0: the consumer goes on from where it had fetched to. A partition kept by the same worker
through a rebalance, before its first minute settled (so before anything of it could be
committed), lost every event it held: the oracle test with a SIGKILL saw first windows
short of events.

``install()`` makes ``perform_seek`` also seek such partitions of the given topics to offset 0
(the consumer's ``auto_offset_reset=earliest`` applies if the log starts later).

And it makes the seek come before the fetching: after an assignment Faust resumes the stream
partitions first and seeks them to their committed offsets after (``Recovery``), so the agents
could get messages from past the committed offset first. The KPI engine then settled minutes
with them, and the events before them, read again after the seek, were taken for replays and
dropped: a new owner of a partition could lose its first minutes (seen in the oracle test
with a SIGKILL). Here, from an assignment until its seek is done, resuming the
given topics' partitions is put off until right after the seek.

Two of Faust's commit rules are tightened for the given topics, whose offsets have no holes
(no transactions, no compaction):
- Faust takes a jump in the offsets it reads as a gap to skip, and counts the offsets in it as
  acknowledged (``_add_gap``). After a seek back, a message fetched before the seek makes such
  a jump over the very events to be read again, and a commit would pass them. No gaps here.
- Faust commits the first run of acknowledged offsets even when it starts one past the
  committed offset, or anywhere when nothing is committed (``_new_offset``). Here a run must
  start at the committed offset; so when retention deleted the log past it, the committed
  offset moves to the log's start with the seek (``skip_deleted``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import faust
from faust.transport.consumer import Consumer

log = logging.getLogger(__name__)

_faust_perform_seek = Consumer.perform_seek


async def rewind_uncommitted(consumer, topics: Iterable[str]) -> list:
    """Seeks to 0 the assigned partitions of ``topics`` that have no committed offset past 0
    (after ``perform_seek``, whose result ``_read_offset`` holds); returns them."""
    names = set(topics)
    rewound = [tp for tp in consumer.assignment()
               if tp.topic in names and not consumer._read_offset.get(tp)]
    for tp in rewound:
        await consumer.seek(tp, 0)
    return rewound


async def skip_deleted(consumer, topics: Iterable[str]) -> list:
    """Moves the assigned partitions of ``topics`` whose committed offset retention deleted
    (the log starts past it: a worker down for longer than the retention) to the log's start,
    reading and committed offset both; returns them. Reading would start there anyway
    (``auto_offset_reset``), but Faust's committed offset would stay below it, and a run of
    acknowledgements must start at the committed offset (``new_offset``): nothing would be
    committed again."""
    names = set(topics)
    behind = [tp for tp in consumer.assignment()
              if tp.topic in names and consumer._committed_offset.get(tp)]
    if not behind:
        return []
    starts = await consumer.earliest_offsets(*behind)
    moved = [tp for tp in behind if (starts.get(tp) or 0) > consumer._committed_offset[tp]]
    for tp in moved:
        log.warning("%s[%d]: retention deleted the log past the committed offset %d; reading "
                    "and committing go on from the log's start, %d", tp.topic, tp.partition,
                    consumer._committed_offset[tp], starts[tp])
        consumer._committed_offset[tp] = starts[tp]
        await consumer.seek(tp, starts[tp])
    return moved


_faust_resume_partitions = Consumer.resume_partitions
_faust_add_gap = Consumer._add_gap
_faust_new_offset = Consumer._new_offset


def install(app: faust.App, topics: Iterable[str]) -> None:
    names = frozenset(topics)

    async def perform_seek(self: Consumer) -> None:
        await _faust_perform_seek(self)
        await rewind_uncommitted(self, names)
        try:
            await skip_deleted(self, names)
        except Exception as error:  # noqa: BLE001 - the KPI agent also checks (streams/kpis/agent.py)
            log.warning("the log starts of %s are unknown (%r): a committed offset deleted by "
                        "retention is not skipped", sorted(names), error)
        deferred, self._kpiwatch_deferred = self._kpiwatch_deferred, None
        if deferred:
            _faust_resume_partitions(self, deferred)

    def resume_partitions(self: Consumer, tps) -> None:
        if self._kpiwatch_deferred is not None:  # an assignment's seek is pending
            ours = {tp for tp in tps if tp.topic in names}
            self._kpiwatch_deferred |= ours
            tps = {tp for tp in tps if tp not in ours}
        _faust_resume_partitions(self, tps)

    @app.on_partitions_assigned.connect
    async def seek_pending(sender, assigned, **kwargs) -> None:
        # Faust has paused every assigned partition; ours stay paused until the seek.
        if app.consumer._kpiwatch_deferred is None:
            app.consumer._kpiwatch_deferred = set()

    async def add_gap(self: Consumer, tp, offset_from: int, offset_to: int) -> None:
        if tp.topic not in names:
            await _faust_add_gap(self, tp, offset_from, offset_to)

    def new_offset(self: Consumer, tp):
        committed = self._committed_offset[tp]
        acked = self._acked[tp]
        if tp.topic in names and committed and acked:
            done = [offset for offset in acked if offset < committed]
            if done:  # committed already
                acked[:] = [offset for offset in acked if offset >= committed]
                self._acked_index[tp].difference_update(done)
            if acked and min(acked) != committed:
                return None  # the event at the committed offset is not finished yet
        return _faust_new_offset(self, tp)

    Consumer._kpiwatch_deferred = None
    Consumer._add_gap = add_gap
    Consumer._new_offset = new_offset
    Consumer.perform_seek = perform_seek
    Consumer.resume_partitions = resume_partitions
