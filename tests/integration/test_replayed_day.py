"""A backfill as a user runs one: a whole business day of a shop's events, two days old (as
canonical events, and as Segment sends them, identify calls included), sent with `kpiwatch
replay` into two workers, then read back with `kpiwatch kpis`: the day's window and each of
its hours equal the oracle's recomputation from the same events."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest

from models import ParseLimits, encode_canonical, parse_message
from streams.windows import iso
from tests.integration.services import REPO
from tests.kpi_oracle import spec_shape
from tests.kpi_oracle.oracle import recompute
from tests.kpi_oracle.shop import (
    CAMPAIGNS,
    COSTS_CSV,
    FEATURES,
    SURVEYS,
    economics_oracle,
    shop_events,
    watermark_markers,
)

UTC_ZONE = ZoneInfo("UTC")


def kpis(env: dict, urls: list[str], size: str, start: datetime, end: datetime) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "kpis", "--window", size, "--format", "json",
         "--from", iso(int(start.timestamp() * 1000)), "--to", iso(int(end.timestamp() * 1000)),
         *[arg for url in urls for arg in ("--worker", url)]],
        env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


def values_of(row: dict) -> Counter:
    return +Counter({k: Decimal(v) if isinstance(v, str) else v for k, v in row["values"].items()})


@pytest.mark.parametrize("shape", ["canonical", "segment-spec"])
def test_kpiwatch_kpis_of_a_replayed_day_equal_the_oracle(worker_factory, tmp_path, shape):
    now = datetime.now(UTC).replace(microsecond=0)
    day = (now - timedelta(days=2)).replace(hour=0, minute=0, second=0)
    events = shop_events(8000, seed=23, span=timedelta(hours=23, minutes=55), start=day)
    assert all(day <= e.timestamp < day + timedelta(days=1) for e in events)
    encode = encode_canonical if shape == "canonical" else spec_shape.encode
    lines, identifies = [], []
    for n, event in enumerate(events):
        lines.append(encode(event))
        if n % 20 == 0:
            lines.append(encode(event))  # a client retry: counted once
        if shape != "canonical":  # Segment's identify, group, ... calls: no KPI input
            for call in spec_shape.ignored_calls(event):
                lines.append(orjson.dumps(call))
                if call["type"] == "identify":
                    identifies.append((int(event.timestamp.timestamp() * 1000),
                                       call["userId"], call["anonymousId"]))
    backfill = tmp_path / "day.jsonl"
    backfill.write_bytes(b"\n".join(lines) + b"\n")
    # Then events at "now" on every input partition: the watermark passes the whole day.
    markers = watermark_markers(now)
    marker_file = tmp_path / "markers.jsonl"
    marker_file.write_bytes(b"\n".join(encode_canonical(m) for m in markers) + b"\n")

    costs = tmp_path / "costs.csv"
    costs.write_text(COSTS_CSV)
    # A replay at full speed reads the three input topics at their own pace: hours of event
    # time apart at times. The allowed lateness covers that, as a backfill's should.
    env = {"KPIWATCH_TOPIC_PARTITIONS": "4", "KPIWATCH_ALLOWED_LATENESS": "PT6H",
           "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT10M", "KPIWATCH_BASE_CURRENCY": "EUR",
           "KPIWATCH_CAMPAIGNS": orjson.dumps(CAMPAIGNS).decode(),
           "KPIWATCH_PRODUCT_COSTS_FILE": str(costs),
           "KPIWATCH_SURVEYS": orjson.dumps(SURVEYS).decode(),
           "KPIWATCH_FEATURES": orjson.dumps(FEATURES).decode()}
    first, second = worker_factory(**env), worker_factory(**env)
    for path in (backfill, marker_file):
        done = subprocess.run([sys.executable, "-m", "kpiwatch", "replay", str(path)],
                              env={**os.environ, **first.env}, cwd=REPO, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    urls = [first.url, second.url]
    deadline, rows = time.monotonic() + 600, []
    while time.monotonic() < deadline:
        rows = kpis(first.env, urls, "1d", day, day + timedelta(days=1))
        if rows and all(row["complete"] for row in rows):
            break
        time.sleep(5)
    day_ms = int(day.timestamp() * 1000)
    assert [row["start"] for row in rows if row["complete"]] == [iso(day_ms)], rows

    parsed = [parse_message(encode(e), now=now, limits=ParseLimits()).events[0] for e in events]
    want = recompute(parsed + markers, UTC_ZONE, identifies=identifies, partitions=4,
                     **economics_oracle())
    assert values_of(rows[0]) == +want[("1d", day_ms)]
    hours = kpis(first.env, urls, "1h", day, day + timedelta(days=1))
    assert len(hours) == 24 and all(row["complete"] for row in hours)
    for row in hours:
        start_ms = int(datetime.fromisoformat(row["start"]).timestamp() * 1000)
        assert values_of(row) == +want.get(("1h", start_ms), Counter()), row["start"]
    orders = sum(v for k, v in want[("1d", day_ms)].items() if k.startswith("orders|"))
    print(f"\nreplayed day {day.date()} ({shape}): {len(events)} events ({len(lines)} lines), {orders} "
          "orders; the day and its 24 hours equal the oracle")
