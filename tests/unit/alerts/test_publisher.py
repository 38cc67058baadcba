"""Which settled windows a worker publishes: complete ones only, each once, gaps filled."""

from zoneinfo import ZoneInfo

from alerts.publisher import SettledWindowPublisher, settled_windows
from streams.kpis.working_set import aggregate_key
from streams.windows import MINUTE_MS, Window

UTC = ZoneInfo("UTC")
T0 = 1_764_000_000_000 - 1_764_000_000_000 % (60 * MINUTE_MS)  # on the hour


class FakeStore:
    def __init__(self, settled=None):
        self.published = []
        self.marks = dict(settled or {})

    async def settled_all(self):
        return dict(self.marks)

    async def publish(self, partition, windows, settled_until):
        self.published.append((partition, [(size, start) for size, start, _ in windows]))
        self.marks[partition] = settled_until


def test_settled_windows_are_those_ending_in_the_range_oldest_first():
    until = T0 + 47 * MINUTE_MS
    got = settled_windows("15m", until, T0, UTC, limit=100)
    assert [w.start_ms for w in got] == [T0, T0 + 15 * MINUTE_MS, T0 + 30 * MINUTE_MS]
    assert settled_windows("15m", until, T0 + 45 * MINUTE_MS, UTC, limit=100) == []
    assert settled_windows("15m", until, None, UTC, limit=1) == [
        Window("15m", T0 + 30 * MINUTE_MS, T0 + 45 * MINUTE_MS)]


async def test_publishes_each_window_once_then_only_what_settled_since():
    table = {"progress|0": {"settled_through": T0 + 29 * MINUTE_MS},
             aggregate_key(0, Window("15m", T0, T0 + 15 * MINUTE_MS)): {"values": {"users": 3}}}
    store = FakeStore(settled={0: T0})
    publisher = SettledWindowPublisher(store, table, UTC, ["15m"])
    await publisher.publish([0])
    # the empty window is published too: completeness comes from settled_until, not presence
    assert store.published == [(0, [("15m", T0), ("15m", T0 + 15 * MINUTE_MS)])]
    await publisher.publish([0])
    assert len(store.published) == 1  # nothing new settled
    table["progress|0"] = {"settled_through": T0 + 44 * MINUTE_MS}
    await publisher.publish([0])
    assert store.published[-1] == (0, [("15m", T0 + 30 * MINUTE_MS)])


async def test_first_publish_without_history_backfills_what_the_table_holds():
    table = {"progress|1": {"settled_through": T0 + 59 * MINUTE_MS},
             aggregate_key(1, Window("15m", T0 + 15 * MINUTE_MS, 0)): {"values": {"users": 1}}}
    store = FakeStore()
    await SettledWindowPublisher(store, table, UTC, ["15m"]).publish([1])
    assert store.published == [(1, [("15m", T0 + 15 * MINUTE_MS)])]
    assert store.marks[1] == T0 + 60 * MINUTE_MS


async def test_a_redis_restarted_empty_gets_the_history_the_table_holds_again():
    table = {"progress|0": {"settled_through": T0 + 29 * MINUTE_MS},
             aggregate_key(0, Window("15m", T0, 0)): {"values": {"users": 3}}}
    store = FakeStore()
    publisher = SettledWindowPublisher(store, table, UTC, ["15m"])
    await publisher.publish([0])
    assert store.published == [(0, [("15m", T0)])]
    store.marks.clear()  # Redis restarted without its data
    await publisher.publish([0])
    assert store.published[-1] == (0, [("15m", T0)])  # published again, from the table
    await publisher.publish([0])
    assert len(store.published) == 2


async def test_the_first_backfill_reaches_back_a_week_for_the_week_ago_benchmarks():
    until = T0 + 8 * 24 * 60 * MINUTE_MS
    week_ago = Window("15m", until - 7 * 24 * 60 * MINUTE_MS, 0)
    too_old = Window("15m", until - 9 * 24 * 60 * MINUTE_MS, 0)  # Redis would not keep it
    table = {"progress|0": {"settled_through": until - MINUTE_MS},
             aggregate_key(0, week_ago): {"values": {"users": 2}},
             aggregate_key(0, too_old): {"values": {"users": 1}}}
    store = FakeStore()
    await SettledWindowPublisher(store, table, UTC, ["15m"]).publish([0])
    assert store.published == [(0, [("15m", week_ago.start_ms)])]
