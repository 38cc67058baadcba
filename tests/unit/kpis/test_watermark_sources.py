"""The slowest active input partition holds the watermark back, so a stalled one's backlog is
not made late by the others; a partition silent past the idle timeout stops holding it."""

from datetime import UTC, datetime, timedelta

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
