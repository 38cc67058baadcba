"""streams/transport.py: the consumer's commit and seek rules for gapless topics (steps 3 and 5
of the durability rule)."""

from types import SimpleNamespace

from faust.types import TP

from streams.app import app, settings
from streams.transport import Consumer, rewind_uncommitted, skip_deleted, starts_at_committed


class SeekingConsumer:
    def __init__(self, read_offsets: dict) -> None:
        self._read_offset = read_offsets
        self.seeks: list = []

    def assignment(self):
        return set(self._read_offset)

    async def seek(self, tp, offset) -> None:
        self.seeks.append((tp, offset))


async def test_partitions_without_a_committed_offset_past_0_are_sought_to_0():
    nothing, zero, some, other = TP("events", 0), TP("events", 1), TP("events", 2), TP("x", 0)
    consumer = SeekingConsumer({nothing: None, zero: 0, some: 41, other: None})
    await rewind_uncommitted(consumer, ["events"])
    assert sorted(consumer.seeks) == [(nothing, 0), (zero, 0)]


def _consumer_with(committed, acked):
    from collections import defaultdict

    from intervaltree import IntervalTree
    consumer = SimpleNamespace(_committed_offset=defaultdict(lambda: None),
                               _acked=defaultdict(list), _acked_index=defaultdict(set),
                               _gap=defaultdict(IntervalTree),
                               gapless_topics=frozenset([settings.topic_canonical]))
    tp = TP(settings.topic_canonical, 0)
    consumer._committed_offset[tp] = committed
    consumer._acked[tp] = list(acked)
    consumer._acked_index[tp] = set(acked)
    return consumer, tp


def test_a_run_of_acknowledgements_is_committed_only_from_the_committed_offset():
    # Faust's own rule lets a run start one past the committed offset (41 unfinished here).
    assert not starts_at_committed(40, [41, 42, 43], {41, 42, 43})
    assert starts_at_committed(40, [40, 41, 42, 43], {40, 41, 42, 43})
    assert starts_at_committed(None, [41], {41})  # nothing committed: read from 0 (rewind)


def test_acknowledgements_below_the_committed_offset_do_not_hold_commits_back():
    acked, index = [12, 40, 41], {12, 40, 41}
    assert starts_at_committed(40, acked, index)
    assert acked == [40, 41] and index == {40, 41}


def test_the_apps_consumer_keeps_the_rules_for_the_agents_topics():
    assert type(app.consumer) is Consumer
    assert app.consumer.gapless_topics == {settings.topic_canonical, settings.topic_dead_letter}


async def test_a_jump_in_the_offsets_read_is_not_taken_for_a_gap_to_skip():
    # After a seek back to 40, a message at 90 fetched before the seek: Faust would count
    # 41..90 as acknowledged.
    consumer, tp = _consumer_with(40, [])
    await Consumer._add_gap(consumer, tp, 41, 90)
    assert not consumer._gap[tp]


class LogStartConsumer(SeekingConsumer):
    def __init__(self, committed: dict, starts: dict) -> None:
        super().__init__(dict(committed))
        self._committed_offset = dict(committed)
        self.starts = starts

    def committed_offset(self, tp):
        return self._committed_offset.get(tp)

    def move_committed_offset(self, tp, offset):
        self._committed_offset[tp] = offset

    async def earliest_offsets(self, *tps):
        return {tp: self.starts[tp] for tp in tps}


async def test_a_committed_offset_deleted_by_retention_moves_to_the_log_start():
    # Without this the dead-letter agent (and the KPI agent until its own check) would never
    # commit again: its acknowledgements start at the log's start, past the committed offset.
    deleted, kept, fresh, other = (TP("events", 0), TP("events", 1), TP("events", 2),
                                   TP("x", 0))
    consumer = LogStartConsumer({deleted: 100, kept: 100, fresh: None, other: 5},
                                {deleted: 500, kept: 40, fresh: 0, other: 50})
    assert await skip_deleted(consumer, ["events"]) == [deleted]
    assert consumer._committed_offset == {deleted: 500, kept: 100, fresh: None, other: 5}
    assert consumer.seeks == [(deleted, 500)]
