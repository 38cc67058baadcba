"""The KPI oracle test on the real broker: a seeded stream with duplicates, out-of-order and
late events, two workers, and again with one of them SIGKILLed mid-stream and restarted; and
once more with the events shaped as a Segment source sends them (tests/kpi_oracle/spec_shape.py:
cart_id on cart events only, payment methods on the payment step, totals, v1 names, identify
calls). Every KPI of every settled window equals the independent batch recomputation
(tests/kpi_oracle)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from models import ParseLimits, encode_canonical, parse_message
from models.streams import STREAM_OF_TYPE
from streams.windows import MINUTE_MS, iso, window_of
from tests.integration.services import consume_all, produce_many, wait_for
from tests.kpi_oracle import spec_shape
from tests.kpi_oracle.oracle import recompute
from tests.kpi_oracle.shop import (
    CAMPAIGNS,
    COSTS_CSV,
    FEATURES,
    SURVEYS,
    arrival_order,
    economics_oracle,
    shop_events,
    watermark_markers,
)

# CI runs 20,000 events, without and with the kill (about 75 s each). Issue #4's bar is
# KPIWATCH_ORACLE_EVENTS=100000 with the kill (``-k kill``, about 2 min).
EVENTS = int(os.environ.get("KPIWATCH_ORACLE_EVENTS", "20000"))
UTC_ZONE = ZoneInfo("UTC")


def changelog_state(bootstrap: str, app_id: str) -> dict:
    records = consume_all(bootstrap, f"{app_id}-kpi-state-v1-changelog", expect=1, idle=5)
    state = {}
    for record in records:
        key = orjson.loads(record.key)
        if record.value is None:
            state.pop(key, None)
        else:
            state[key] = orjson.loads(record.value)
    return state


def settled_windows(state: dict) -> dict:
    progress = [v for k, v in state.items() if k.startswith("progress|")]
    limit = min(p["settled_through"] for p in progress) + MINUTE_MS
    windows: dict = {}
    for key, value in state.items():
        if key.startswith("agg|") and value["size"] != "all" and value["end"] <= limit:
            counter = windows.setdefault((value["size"], value["start"]), Counter())
            counter.update({k: Decimal(v) if isinstance(v, str) else v
                            for k, v in value["values"].items()})
    return {k: +v for k, v in windows.items()}, limit


@pytest.mark.parametrize(("kill", "shape"), [(False, "canonical"), (True, "canonical"),
                                            (True, "segment-spec")],
                         ids=["two-workers", "kill", "segment-spec-kill"])
def test_kpis_equal_the_batch_recomputation(worker_factory, stack_settings, kill, shape,
                                            tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    # A busy shop: EVENTS events in 40 minutes of event time, ending an hour ago. Late events
    # are taken from the first 5 minutes and sent after everything else: late beyond doubt.
    start = now - timedelta(minutes=100)
    events = shop_events(EVENTS, seed=5, span=timedelta(minutes=40), start=start)
    arrived, late_ids = arrival_order(events, seed=6, jitter_s=60, late_share=0.05,
                                      late_before=start + timedelta(minutes=5))
    assert late_ids
    rng = random.Random(7)
    encode = encode_canonical if shape == "canonical" else spec_shape.encode
    messages, identifies = [], []
    for event in arrived:
        raw = encode(event)
        messages.append((event, raw))
        if rng.random() < 0.05:
            messages.append((event, raw))  # a client retry
        if shape != "canonical":  # calls without a KPI input: ignored, never counted
            for call in spec_shape.ignored_calls(event):
                messages.append((event, orjson.dumps(call)))
                if call["type"] == "identify" and event.event_id not in late_ids:
                    identifies.append((int(event.timestamp.timestamp() * 1000),
                                       call["userId"], call["anonymousId"]))
    # Markers at "now" on many user keys, on all three input streams, move every input
    # partition's event time, and so every partition's watermark, past the data.
    markers = watermark_markers(now)

    names = worker_factory.names
    # The load arrives far faster than real time, and ingestion reads the three input topics
    # at its own pace: their event times can drift minutes apart while it catches up. The
    # allowed lateness covers that drift here; the late events are 35+ minutes late.
    # The killed worker's input partitions are silent until the restart and rebalance are
    # through (table recovery included): they must keep holding the watermark meanwhile.
    costs = tmp_path / "costs.csv"
    costs.write_text(COSTS_CSV)
    # A goal over the data's span: `kpiwatch goals` and the workers' goal gauges must both
    # give the oracle's orders (a target out of reach keeps it at risk).
    goals = tmp_path / "goals.yaml"
    goals.write_text(f"goals:\n  - name: orders_now\n    kpi: orders\n    target: 1000000\n"
                     f"    start: {events[0].timestamp.date()}\n    deadline: {now.date()}\n")
    env = {"KPIWATCH_TOPIC_PARTITIONS": "4", "KPIWATCH_ALLOWED_LATENESS": "PT30M",
           "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT10M", "KPIWATCH_BASE_CURRENCY": "EUR",
           "KPIWATCH_CAMPAIGNS": orjson.dumps(CAMPAIGNS).decode(),
           "KPIWATCH_PRODUCT_COSTS_FILE": str(costs),
           "KPIWATCH_SURVEYS": orjson.dumps(SURVEYS).decode(),
           "KPIWATCH_FEATURES": orjson.dumps(FEATURES).decode(),
           "KPIWATCH_GOALS_FILE": str(goals)}
    first, second = worker_factory(**env), worker_factory(**env)
    bootstrap = stack_settings.kafka_bootstrap_servers
    topics = {"clickstream": names["KPIWATCH_TOPIC_CLICKSTREAM"],
              "cart": names["KPIWATCH_TOPIC_CART"], "purchase": names["KPIWATCH_TOPIC_PURCHASE"]}

    def send(batch):
        # One producer, in arrival order: the three streams interleave as a shop's would.
        produce_many(bootstrap, ((topics[STREAM_OF_TYPE[event.type]], event.user_key.encode(),
                                  raw) for event, raw in batch))  # (identify calls too: ignored)

    on_time = [(e, raw) for e, raw in messages if e.event_id not in late_ids]
    late = [(e, raw) for e, raw in messages if e.event_id in late_ids]
    half = len(on_time) // 2
    send(on_time[:half])
    if kill:
        second.kill()  # SIGKILL mid-stream: no flush, no goodbye to the group
    send(on_time[half:])
    if kill:
        second.start(timeout=180)

    app_id = names["KPIWATCH_APP_ID"]
    data_end = int(max(e.timestamp for e in events).timestamp() * 1000)

    def settled_through() -> int:
        state = changelog_state(bootstrap, app_id)
        progress = [v["settled_through"] for k, v in state.items() if k.startswith("progress|")]
        return min(progress) if len(progress) == 4 else 0

    # Everything on time is in before the late events go out: whether one is late must not
    # depend on which input partition ingestion happened to read first.
    # Settled past the late events' first 5 minutes: the watermark within 4 min of the data's
    # end (a sparse input partition's last event may be minutes before it).
    caught_up = data_end - 35 * 60_000
    wait_for(lambda: settled_through() >= caught_up, timeout=600, interval=5,
             what="the pipeline to catch up with the on-time data")
    send(late)
    send([(m, encode_canonical(m)) for m in markers])

    def settled_past_data():
        return settled_through() >= data_end

    wait_for(settled_past_data, timeout=600, interval=5, what="every partition to settle the data")
    got, limit = settled_windows(changelog_state(bootstrap, app_id))

    parsed = [parse_message(encode(e), now=now, limits=ParseLimits()).events[0]
              for e in events if e.event_id not in late_ids]
    want = {k: +v for k, v in recompute(parsed + markers, UTC_ZONE, identifies=identifies,
                                        partitions=4, **economics_oracle()).items()
            if window_of(k[0], k[1], UTC_ZONE).end_ms <= limit and +v}
    assert len(want) >= 50  # 40 one-minute windows and their roll-ups
    compared = {m.split("|")[0] for values in want.values() for m in values}
    # The timer-driven KPIs are among those compared, not just absent on both sides.
    assert {"abandoned_carts", "checkout_abandonments", "session_seconds_count",
            "ordered_carts", "new_customers", "campaign_revenue", "cogs", "uncosted_orders",
            "paying_users"} <= compared
    campaigns = {m.split("|")[2] for values in want.values() for m in values
                 if m.startswith("campaign_orders|")}
    assert {"brand", "black_friday", "other"} <= campaigns
    mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                  if got.get(k) != want.get(k)}
    if mismatched and os.environ.get("KPIWATCH_ORACLE_DUMP"):
        Path(os.environ["KPIWATCH_ORACLE_DUMP"]).write_bytes(orjson.dumps(
            {f"{k[0]}|{k[1]}": {m: [str(got.get(k, {}).get(m)), str(want.get(k, {}).get(m))]
                                for m in _difference(got.get(k), want.get(k))}
             for k in mismatched}, option=orjson.OPT_SORT_KEYS))
    progress = {k: {f: v.get(f) for f in ("settled_through", "watermark", "late",
                                           "duplicate_events", "max_origin")}
                for k, v in changelog_state(bootstrap, app_id).items() if k.startswith("progress|")}
    assert not mismatched, (f"progress: {progress}; "
                            f"{len(mismatched)} of {len(want)} settled windows differ; first: "
                            + "; ".join(f"{k}: {_difference(*v)}" for k, v in
                                        sorted(mismatched.items())[:3]))
    assert first.process.poll() is None and second.process.poll() is None

    # `kpiwatch kpis` reads the same settled windows back from both workers' tables.
    start = window_of("1h", int(events[0].timestamp.timestamp() * 1000), UTC_ZONE)
    done = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "kpis", "--window", "1h", "--format", "json",
         "--from", iso(start.start_ms), "--to", iso(limit), "--worker", first.url,
         "--worker", second.url], env={**os.environ, **first.env}, capture_output=True,
        text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    history = {(row["start"], row["complete"]): +Counter(
        {k: Decimal(v) if isinstance(v, str) else v for k, v in row["values"].items()})
        for row in orjson.loads(done.stdout)}
    expected = {(iso(k[1]), True): v for k, v in want.items() if k[0] == "1h"}
    assert expected and {k: v for k, v in history.items() if v} == expected

    # `kpiwatch goals` sums the same windows over a goal's span, down to the rules' 15 minutes,
    # past the data's end: every settled order.
    done = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "goals", "--json", "--worker", first.url,
         "--worker", second.url], env={**os.environ, **first.env},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (progress,) = orjson.loads(done.stdout)
    all_orders = sum(v for (size, _), values in want.items() if size == "1m"
                     for k, v in values.items() if k.startswith("orders|"))
    assert (progress["value"], progress["status"]) == (all_orders, "at_risk")

    # The goal watcher sums the same windows as published to Redis: the same figure, on both
    # workers.
    labels = {"goal": "orders_now", "kpi": "orders"}

    deadline, values = time.monotonic() + 120, None
    while values != [all_orders, all_orders] and time.monotonic() < deadline:
        time.sleep(2)
        values = [scraped(w.url, "kpiwatch_goal_value", labels) for w in (first, second)]
    assert values == [all_orders, all_orders], (values, all_orders)
    assert scraped(first.url, "kpiwatch_goal_status", {**labels, "status": "at_risk"}) == 1


def scraped(url: str, name: str, labels: dict[str, str]) -> float | None:
    """A sample's value in a worker's /metrics, or None when it is not exported."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def _difference(got: Counter | None, want: Counter | None) -> dict:
    got, want = got or Counter(), want or Counter()
    return {m: (got.get(m), want.get(m)) for m in sorted(set(got) | set(want))
            if got.get(m) != want.get(m)}
