"""Revenue growth in /kpis: each window against the one before and the same window a week
earlier, from the windows the table keeps (streams/kpis/readout.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.kpis.readout import snapshot
from streams.kpis.working_set import aggregate_key
from streams.windows import MINUTE_MS, window_of

HOUR = int(datetime(2026, 12, 3, 12, tzinfo=UTC).timestamp() * 1000)
WEEK = 7 * 24 * 3_600_000


def state(revenue: str) -> dict:
    return {"values": {"revenue|email|card": revenue, "orders|email|card": 1}}


def test_growth_against_the_previous_window_and_a_week_earlier():
    hour = window_of("1h", HOUR, UTC)
    table = {
        aggregate_key(0, hour): state("150.00"),
        aggregate_key(1, hour): state("50.00"),  # partitions are summed first
        aggregate_key(0, window_of("1h", HOUR - 1, UTC)): state("160.00"),
        aggregate_key(1, window_of("1h", HOUR - WEEK, UTC)): state("100.00"),
        "progress|0": {"settled_through": HOUR + 30 * MINUTE_MS, "watermark": 0},
        "progress|1": {"settled_through": HOUR + 30 * MINUTE_MS, "watermark": 0},
    }
    windows = snapshot(table, [0, 1], UTC)["windows"]["1h"]
    this = next(w for w in windows if w["start"] == "2026-12-03T12:00:00Z")
    assert this["revenue_growth"]["previous"] == pytest.approx(200 / 160 - 1)
    assert this["revenue_growth"]["week_ago"] == pytest.approx(1.0)
    # No window kept a week before the one before: no growth to tell, not -100 %.
    before = next(w for w in windows if w["start"] == "2026-12-03T11:00:00Z")
    assert before["revenue_growth"]["week_ago"] is None
