"""Window aggregate records of one partition after N simulated days, without and with window
retention (figures for docs/benchmarks.md, "Window retention"; not a test):

    .venv/bin/python -m tests.unit.kpis.retention_figures [days=60] [events_per_day=1500]
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import KpiSettings
from tests.kpi_oracle.shop import shop_events

REPORTED_DAYS = {1, 7, 30, 60, 90, 180, 365, 400}


def aggregates(when: str, table: dict) -> str:
    """How many aggregate records, their size as JSON, and how many of each window size."""
    states = [v for k, v in table.items() if k.startswith("agg|")]
    size = sum(len(orjson.dumps(v)) for v in states)
    return (f"  {when:>7}: {len(states):>7} records, {size / 1e6:6.1f} MB  "
            f"{dict(Counter(v['size'] for v in states))}")


def main(days: int = 60, per_day: int = 1500) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = shop_events(days * per_day, seed=3, span=timedelta(days=days), start=start)
    print(f"{len(events)} events over {days} days, one partition")
    for label, settings in (("without retention", KpiSettings(window_retention_ms={})),
                            ("with retention", KpiSettings())):
        table: dict = {}
        engine, day, began = PartitionEngine(table, 0, settings), 0, time.perf_counter()
        print(label)
        for origin, event in enumerate(events):
            while event.timestamp >= start + timedelta(days=day + 1):
                day += 1
                if day in REPORTED_DAYS:
                    print(aggregates(f"day {day}", table))
            engine.receive(origin, event, wall_s=0)
        print(aggregates("end", table))
        print(f"  ({time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
