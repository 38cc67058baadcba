"""``kpiwatch kpis`` and ``/kpis/history``: past settled windows, each partition summed once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kpiwatch.history_cli import merge, rows
from streams.kpis.readout import history
from streams.kpis.working_set import aggregate_key
from streams.windows import MINUTE_MS, window_of

DAY = int(datetime(2026, 12, 3, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000


def table(partition: int, settled_hours: int) -> dict:
    out = {f"progress|{partition}": {"settled_through": DAY + settled_hours * HOUR - MINUTE_MS}}
    for h in range(6):
        out[aggregate_key(partition, window_of("1h", DAY + h * HOUR, UTC))] = {"values": {
            "sessions|email|mobile": 10 + partition, "revenue|email|card": f"{h}.50",
            "orders|email|card": 1}}
    return out


def test_history_lists_the_settled_windows_of_the_range_per_partition():
    got = history({**table(0, 4), **table(1, 3)}, [0, 1], "1h", DAY + HOUR // 2, DAY + 6 * HOUR,
                  UTC)
    # From the first whole window in the range; partition 1 has settled one hour less.
    assert [w["start"] for w in got["windows"]] == ["2026-12-03T01:00:00Z",
                                                    "2026-12-03T02:00:00Z",
                                                    "2026-12-03T03:00:00Z"]
    assert set(got["windows"][-1]["partitions"]) == {"0"}
    assert got["windows"][0]["partitions"]["1"]["revenue|email|card"] == "1.50"


def test_workers_reporting_the_same_partition_count_it_once():
    first = history(table(0, 4), [0], "1h", DAY, DAY + 6 * HOUR, UTC)
    both = history({**table(0, 4), **table(1, 4)}, [0, 1], "1h", DAY, DAY + 6 * HOUR, UTC)
    merged = merge([first, both], partitions=2)  # partition 0 from two workers (a handover)
    assert len(merged) == 4 and not merged[0]["missing"]
    (row,) = rows(merged[:1], None)
    assert row["kpis"]["sessions"] == 21 and row["kpis"]["revenue"] == pytest.approx(1.0)
    assert merge([first], partitions=2)[0]["missing"] == ["1"]


def test_rows_by_channel():
    merged = merge([history(table(0, 2), [0], "1h", DAY, DAY + 2 * HOUR, UTC)], partitions=1)
    assert [(r["start"], r["channel"], r["kpis"]["orders"]) for r in rows(merged, "channel")] == [
        ("2026-12-03T00:00:00Z", "email", 1), ("2026-12-03T01:00:00Z", "email", 1)]


def test_the_kpi_option_picks_the_columns_and_names_the_known_ones():
    import click

    from kpiwatch.history_cli import COLUMNS, columns_of

    assert columns_of(None) == COLUMNS
    assert columns_of("nps, csat,churn_rate") == ("nps", "csat", "churn_rate")
    with pytest.raises(click.UsageError, match="unknown nsp; one or more of: sessions"):
        columns_of("nsp")
