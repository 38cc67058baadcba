"""Window aggregates expire after their size's retention (``KpiSettings.window_retention_ms``):
over many days of event time their number levels off and every window still kept equals the
batch recomputation; a crash at any write around an expiry sweep, or a late event for an
expired window, never brings a window back nor counts into it twice."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import DAY_MS, WINDOW_RETENTION_MS, KpiSettings
from streams.kpis.working_set import expire_windows, windows_ending
from streams.windows import MINUTE_MS, SUB_DAY_SIZES_MS, window_of
from tests.kpi_oracle.shop import arrival_order, as_ingested, event, shop_events
from tests.unit.kpis.test_engine_against_oracle import (
    SETTINGS,
    TZ,
    RecordingTable,
    expected,
    settled_aggregates,
)
from tests.unit.kpis.test_timers import later_traffic, ms

HOUR_MS = 60 * MINUTE_MS
# Short enough that a stream of a day and a half expires windows of every size.
SHORT = {"1m": 20 * MINUTE_MS, "5m": HOUR_MS, "15m": 2 * HOUR_MS, "1h": 4 * HOUR_MS,
         "1d": 3 * HOUR_MS}
SHORT_SETTINGS = KpiSettings(allowed_lateness_ms=MINUTE_MS, window_retention_ms=SHORT)
T0 = datetime(2026, 5, 4, 10, 0, 7, tzinfo=UTC)


def aggregates_by_size(table) -> Counter:
    return Counter(key.split("|")[2] for key in table if key.startswith("agg|"))


def retained(size: str, start: int, settled_until: int, retention=WINDOW_RETENTION_MS) -> bool:
    keep = retention.get(size)
    return keep is None or window_of(size, start, TZ).end_ms + keep > settled_until


def test_aggregates_level_off_and_the_kept_windows_equal_the_recomputation():
    """45 days of a small shop (across the Berlin DST switch), 1 % of events two hours late."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    events = shop_events(9000, seed=11, span=timedelta(days=45), start=start)
    arrived, _ = arrival_order(events, seed=12)
    table: dict = {}
    engine = PartitionEngine(table, 0, SETTINGS)
    daily, day, late_ids = [], start, set()
    for origin, e in enumerate(as_ingested(arrived)):
        if e.timestamp >= day + timedelta(days=1):
            daily.append(aggregates_by_size(table))
            day += timedelta(days=1)
        if engine.receive(origin, e, wall_s=0).late:
            # Not every event held back is late: the stream is sparse, the night quiet.
            late_ids.add(e.event_id)
    assert len(late_ids) > 50
    settled_until = table["progress|0"]["settled_through"] + MINUTE_MS

    got = settled_aggregates(table)
    want = expected(events, late_ids, settled_until)
    kept = {k: v for k, v in want.items() if retained(*k, settled_until)}
    assert len(kept) > 2000
    assert got == kept
    assert not [k for k in got if not retained(*k, settled_until)]
    # Never more of a size than its retention holds (plus the windows not settled yet).
    for size, length in SUB_DAY_SIZES_MS.items():
        bound = WINDOW_RETENTION_MS[size] // length + 2
        assert max(counts[size] for counts in daily) <= bound, size
    # Without expiry it keeps growing: 1m windows number several times what is kept.
    ever = Counter(size for size, _ in want)
    assert daily[-1]["1m"] * 5 < ever["1m"], (daily[-1], ever)
    assert daily[-1]["1m"] <= daily[10]["1m"] * 1.5, (daily[10], daily[-1])


def _two_days():
    """A visit every 90 minutes for 20 hours, then an event for an expired minute (late)."""
    events, n = [], 0
    for i in range(14):
        t = T0 + timedelta(minutes=90 * i)
        user, cart = f"u{i % 3}", f"c{i}"
        for kind, extra in (("page_view", {}),
                            ("cart_add", {"product_id": "p", "price": "3.50", "currency": "EUR"}),
                            ("checkout_started", {})):
            events.append(event(kind, n, t, user, cart_id=cart, **extra))
            n, t = n + 1, t + timedelta(seconds=20)
        if i % 3 == 0:
            events.append(event("order_completed", n, t, user, cart_id=cart, order_id=f"o{i}",
                                revenue="3.50", currency="EUR", user_id=f"cust-{user}"))
            n += 1
    events.append(event("page_view", n, T0 + timedelta(seconds=5), "u9"))  # expired windows
    events.append(later_traffic(n + 1, T0 + timedelta(hours=23)))
    return events


def feed(events, table):
    engine = PartitionEngine(table, 0, SHORT_SETTINGS)
    late = sum(engine.receive(origin, e, wall_s=0).late for origin, e in enumerate(events))
    return engine, late


def test_a_late_event_for_an_expired_window_does_not_bring_it_back():
    events = _two_days()
    table = RecordingTable()
    engine, late = feed(events[:-2] + events[-1:], table)
    first = {size: window_of(size, ms(T0), ZoneInfo("UTC")) for size in SHORT}
    assert not [size for size, w in first.items() if f"agg|0|{size}|{w.start_ms}" in table]
    assert late == 0
    outcome = engine.receive(len(events), events[-2], wall_s=0)
    assert outcome.late and not outcome.settled
    assert engine.receive(len(events), events[-2], wall_s=0).replayed  # delivered again
    assert not [size for size, w in first.items() if f"agg|0|{size}|{w.start_ms}" in table]
    assert table["progress|0"]["late"] == 1


def test_an_expiry_sweep_is_exact_after_a_crash_at_any_write():
    events = _two_days()
    reference = RecordingTable()
    _, late = feed(events, reference)
    assert late == 1
    expired = {key.split("|")[2] for key, value in reference.log
               if value is None and key.startswith("agg|")}
    assert expired == set(SHORT), expired  # every size expired some window
    assert reference["agg|0|all|0"]["values"]["repeat_customers|other"] == 1  # kept forever
    for cut in range(len(reference.log) + 1):
        recovered = RecordingTable.restored(reference.log, cut)
        # Nothing acknowledged past the crash: everything comes again (at least once).
        feed(events, recovered)
        assert {k: v for k, v in recovered.items() if not k.startswith("progress")} == \
            {k: v for k, v in reference.items() if not k.startswith("progress")}, cut
        assert recovered["progress|0"]["late"] == 1, cut


def test_expiring_twice_deletes_nothing_more():
    table = RecordingTable()
    feed(_two_days(), table)
    settled_until = table["progress|0"]["settled_through"] + MINUTE_MS
    writes = len(table.log)
    for _ in range(2):
        assert not expire_windows(table, 0, ms(T0), settled_until, SHORT, ZoneInfo("UTC"))
    assert len(table.log) == writes


def test_days_end_at_local_midnight_across_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    after = ms(datetime(2026, 3, 28, 12, tzinfo=UTC))
    days = list(windows_ending("1d", after, after + 3 * DAY_MS, berlin))
    assert [(w.end_ms - w.start_ms) // HOUR_MS for w in days] == [24, 23, 24]
    assert len(list(windows_ending("15m", after, after + HOUR_MS, berlin))) == 4
