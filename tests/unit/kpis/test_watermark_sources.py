"""The slowest active input partition holds the watermark back, so a stalled one's backlog is
not made late by the others; a partition silent past the idle timeout stops holding it."""

import time
from datetime import UTC, datetime, timedelta

from streams.batches import EMPTY
from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import KpiSettings
from tests.kpi_oracle.shop import event

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)
SETTINGS = KpiSettings(allowed_lateness_ms=60_000, source_idle_seconds=60)


def view(n: int, minutes: float):
    return event("page_view", n, T0 + timedelta(minutes=minutes), f"u{n}")


def test_a_stalled_source_keeps_its_backlog_on_time():
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.receive(0, view(0, 0), source="cart:0", wall_s=0)
    engine.receive(1, view(1, 0), source="clickstream:0", wall_s=0)
    for n in range(2, 40):  # cart races 38 minutes ahead while clickstream is silent
        engine.receive(n, view(n, n), source="cart:0", wall_s=30)
    outcome = engine.receive(40, view(40, 5), source="clickstream:0", wall_s=40)
    assert not outcome.late


def test_a_source_silent_past_the_idle_timeout_stops_holding_the_watermark():
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.receive(0, view(0, 0), source="clickstream:0", wall_s=0)
    for n in range(1, 40):
        engine.receive(n, view(n, n), source="cart:0", wall_s=100)
    assert engine.receive(40, view(40, 5), source="clickstream:0", wall_s=101).late


def test_a_partition_taken_over_remembers_the_sources_it_heard_of():
    # Input partition x's ingester dies; y's goes on. The KPI partition restarts (or moves to
    # another worker) and hears only of y: x must keep holding the watermark back.
    table: dict = {}
    before = PartitionEngine(table, 0, SETTINGS)
    before.receive(0, view(0, 0), source=None, settle=False)
    before.observe_sources({"x:0": minute_ms(3), "y:0": minute_ms(3)}, wall_s=0)
    before.settle(before.progress())
    after = PartitionEngine(table, 0, SETTINGS)
    wall = time.monotonic()
    for n in range(1, 40):
        after.receive(n, view(n, n), source=None, settle=False)
        after.observe_sources({"y:0": minute_ms(n)}, wall_s=wall + 1)
        after.settle(after.progress())  # as the KPI agent does after each batch
    assert not after.receive(40, view(40, 5), source=None).late  # x's backlog, on time
    after.observe_sources({"y:0": minute_ms(41)}, wall_s=wall + 61)  # x idle past the timeout
    after.settle(after.progress())
    assert after.receive(41, view(41, 6), source=None).late


def minute_ms(minutes: float) -> int:
    return int((T0 + timedelta(minutes=minutes)).timestamp() * 1000)


def test_an_input_partition_nobody_reported_yet_holds_the_watermark():
    # A fresh partition engine hears from one ingester owning y only; x's ingester died before
    # anything settled. The input topics' partition counts name x, so x holds back.
    engine = PartitionEngine({}, 0, SETTINGS)
    for n in range(40):
        engine.receive(n, view(n, n), source=None, settle=False)
        engine.observe_sources({"y:0": minute_ms(n)}, wall_s=1, inputs={"x": 1, "y": 1})
        engine.settle(engine.progress())
    assert not engine.receive(40, view(40, 5), source=None).late


def test_an_input_partition_that_never_had_a_message_holds_nothing_back():
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.observe_sources({"cart:0": EMPTY, "clickstream:0": minute_ms(10)}, wall_s=1,
                           inputs={"cart": 1, "clickstream": 1})
    assert engine.watermark_ms == minute_ms(10)


def test_when_all_input_stops_event_time_goes_on_at_the_wall_clocks_pace():
    # All input stopped: the minutes received and the empty ones after them settle (the
    # ingesters' progress reports keep coming), instead of waiting for traffic to resume.
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.receive(0, view(0, 3), source=None, settle=False)
    reports = {"x:0": minute_ms(3), "z:0": EMPTY}
    engine.observe_sources({**reports, "y:0": minute_ms(2)}, wall_s=0)
    engine.observe_sources({**reports, "y:0": minute_ms(2.5)}, wall_s=30)
    assert engine.watermark_ms == minute_ms(2.5)  # the slowest active one
    engine.observe_sources({**reports, "y:0": minute_ms(2.5)}, wall_s=60)
    assert engine.watermark_ms == minute_ms(2.5)  # y is still active
    assert engine.settle(engine.progress()).written == []
    engine.observe_sources({**reports, "y:0": minute_ms(2.5)}, wall_s=121)  # all silent
    assert engine.watermark_ms == minute_ms(3) + 121_000  # x's time, 121 s on
    assert [p.event_id for p in engine.settle(engine.progress()).written] == [view(0, 3).event_id]
    engine.observe_sources({**reports, "y:0": minute_ms(2.5)}, wall_s=300)
    assert engine.watermark_ms == minute_ms(8)
    engine.settle(engine.progress())
    assert engine.progress()["settled_through"] == minute_ms(6)  # 1 min of lateness
    assert engine.receive(1, view(1, 6.5), source=None, settle=False).late
    assert not engine.receive(2, view(2, 7.5), source=None, settle=False).late


def test_a_source_never_heard_of_does_not_move_an_idle_watermark():
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.observe_sources({"x:0": None}, wall_s=0, inputs={"x": 1})
    engine.observe_sources({"x:0": None}, wall_s=100)
    assert engine.watermark_ms is None


def test_a_source_read_to_its_end_goes_on_at_the_wall_clocks_pace():
    # x carries an event now and then (orders), y many (page views). While x is read to its
    # end its next event is not written yet: it holds y back at its latest event plus the wall
    # time since, not at its latest event until the next one comes.
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.observe_sources({"x:0": minute_ms(1), "y:0": minute_ms(1)}, wall_s=0)
    engine.observe_sources({"x:0": minute_ms(1), "y:0": minute_ms(1.5)}, wall_s=20)
    assert engine.watermark_ms == minute_ms(1)  # x not read to its end: a backlog may follow
    engine.observe_sources({"x:0": minute_ms(1), "y:0": minute_ms(1.5)}, wall_s=20,
                           caught_up=["x:0", "y:0"])
    assert engine.watermark_ms == minute_ms(1) + 20_000
    engine.observe_sources({"x:0": minute_ms(1), "y:0": minute_ms(2)}, wall_s=25,
                           caught_up=["x:0"])
    assert engine.watermark_ms == minute_ms(1) + 25_000
    engine.observe_sources({"x:0": minute_ms(1), "y:0": minute_ms(2)}, wall_s=26)
    assert engine.watermark_ms == minute_ms(1) + 25_000  # behind again: held, never back


def test_a_source_read_to_its_end_without_events_holds_nothing_back():
    engine = PartitionEngine({}, 0, SETTINGS)
    engine.observe_sources({"x:0": None, "y:0": minute_ms(2)}, wall_s=0)
    assert engine.watermark_ms is None
    engine.observe_sources({"x:0": None, "y:0": minute_ms(2)}, wall_s=1, caught_up=["x:0"])
    assert engine.watermark_ms == minute_ms(2)
