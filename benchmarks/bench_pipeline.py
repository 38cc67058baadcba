"""Full-pipeline throughput and latency on one worker, side by side with raw aiokafka loops.
Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_pipeline.py --events 50000

It starts the local stack on the tests' ports (KPIWATCH_TEST_PORT_OFFSET applies), preloads
simulated shop traffic (canonical JSON) into fresh input topics, then measures in one run:
  raw        aiokafka getmany + orjson.loads over the input topics, doing no work;
  hand-coded the same loop plus a hand-coded aggregation: drop repeated event_ids, count events
             per (minute, type), distinct sessions and users per minute;
  kpiwatch   one worker from ready to every minute of the data settled in every partition
             (ingest, validate, classify, batches on the canonical topic, dedup and the KPI
             engine with all families, changelog writes), read from its /metrics
             (kpiwatch_settled_through_...);
then the state per open cart and per active user (the KPI table's changelog), and the
event -> /metrics latency with live traffic at half the measured kpiwatch rate, at a live
shop's pace (event time runs with the wall clock) and no allowed lateness: the time from an
event's input message being written to the event applied, visible in /metrics (provisional
slices, KPIWATCH_PROVISIONAL_INTERVAL), and the settle latency (the input message that let a
slice be applied -> that slice visible). ``--speedup 60`` runs event time 60x faster (a
minute settles every second); input partitions with few events (orders) then hold the
watermark back for longer in wall time, as their events are as far apart in event time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack import DevStack  # noqa: E402
from simulator import ShopSimulator  # noqa: E402
from tests.integration.services import (  # noqa: E402
    TEST_STACK_ENV,
    Worker,
    consume_all,
    produce_many,
    stack_settings_for_tests,
    unique_names,
)

PARTITIONS = 4
SETTLED = "kpiwatch_settled_through_timestamp_seconds"


async def raw_loop(bootstrap: str, topics: list[str], expect: int, aggregate: bool) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    seen_ids: set[str] = set()
    counts: Counter = Counter()
    sessions: dict[int, set] = defaultdict(set)
    users: dict[int, set] = defaultdict(set)
    seen, started = 0, time.perf_counter()
    try:
        while seen < expect:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    event = orjson.loads(record.value)
                    seen += 1
                    if not aggregate or event["event_id"] in seen_ids:
                        continue
                    seen_ids.add(event["event_id"])
                    minute = int(datetime.fromisoformat(event["timestamp"]).timestamp()) // 60
                    counts[(minute, event["type"])] += 1
                    user = event.get("user_id") or event.get("anonymous_id")
                    sessions[minute].add((user, event.get("session_id")))
                    users[minute].add(user)
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - started)


def metric_samples(text: str, name: str) -> list:
    from prometheus_client.parser import text_string_to_metric_families

    return [sample for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name]


def settled_partitions(worker: Worker, through_s: float) -> int:
    try:
        text = worker.metrics_text()
    except OSError:  # the worker is inside a long settle (it runs on the event loop)
        return 0
    return sum(1 for s in metric_samples(text, SETTLED) if s.value >= through_s)


def markers(now: datetime) -> list[tuple[str, bytes, bytes]]:
    """Events at ``now`` on many user keys and every input stream: they move every input
    partition's event time, and so every partition's watermark, past the data."""
    kinds = (("clickstream", "page_view", {}), ("cart", "checkout_started", {}),
             ("purchase", "payment_failed", {"payment_method": "card"}))
    return [(stream, f"marker-{i}".encode(), orjson.dumps({
        "event_id": f"marker-{stream}-{i}", "type": kind, "timestamp": now.isoformat(),
        "anonymous_id": f"marker-{i}", **extra}))
        for i in range(64) for stream, kind, extra in kinds]


def histogram_quantiles(text: str, name: str, qs: tuple[float, ...]) -> tuple[list, int, float]:
    """Quantiles (linear within a bucket, as histogram_quantile), count, share <= 0.25 s."""
    buckets = sorted((float(s.labels["le"]), s.value)
                     for s in metric_samples(text, name + "_bucket"))
    total = buckets[-1][1] if buckets else 0
    within = next((count for le, count in buckets if le == 0.25), 0)
    out = []
    for q in qs:
        rank, lower, below = q * total, 0.0, 0.0
        for le, count in buckets:
            if count >= rank:
                out.append(le if le == float("inf") else
                           lower + (le - lower) * (rank - below) / max(count - below, 1e-9))
                break
            lower, below = le, count
    return out, int(total), within / total if total else 0.0


def state_sizes(bootstrap: str, app_id: str) -> None:
    latest = {}
    for record in consume_all(bootstrap, f"{app_id}-kpi-state-v1-changelog", expect=1, idle=3):
        latest[orjson.loads(record.key)] = record.value
    for kind, label in (("cart", "open cart"), ("user", "active user"), ("session", "session")):
        values = [v for k, v in latest.items() if v and k.startswith(kind + "|")]
        if kind == "cart":
            values = [v for v in values if not orjson.loads(v).get("resolved")]
        if values:
            json_bytes = statistics.mean(len(v) for v in values)
            # The memory store keeps the same bytes (streams/changelog_writes.py); what they
            # take decoded, as the store kept them before, for comparison.
            memory = statistics.mean(sys.getsizeof(v) for v in values)
            decoded = statistics.mean(deep_size(orjson.loads(v)) for v in values)
            print(f"state per {label:<12}: {json_bytes:6.0f} bytes JSON (changelog), "
                  f"{memory:6.0f} bytes in the memory store ({decoded:.0f} decoded), "
                  f"mean of {len(values)}")
        else:
            print(f"state per {label:<12}: none in the table")


def deep_size(value) -> int:
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k) + deep_size(v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        size += sum(deep_size(v) for v in value)
    return size


def children_cpu_seconds() -> float:
    """User + system CPU of the waited-for child processes (the worker, once stopped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(args, settings, names, messages) -> float:
    bootstrap = settings.kafka_bootstrap_servers
    topics = {s: names[f"KPIWATCH_TOPIC_{s.upper()}"] for s in ("clickstream", "cart", "purchase")}
    from streams.admin import ensure_topics

    asyncio.run(ensure_topics(bootstrap, list(topics.values()), PARTITIONS))
    now = datetime.now(UTC)
    produce_many(bootstrap, [(topics[m.stream], m.key, m.value) for m in messages]
                 + [(topics[s], k, v) for s, k, v in markers(now)])
    total = len(messages) + 3 * 64
    print(f"preloaded {total} messages ({statistics.mean(len(m.value) for m in messages):.0f} "
          f"bytes mean) into 3 topics x {PARTITIONS} partitions")

    raw = asyncio.run(raw_loop(bootstrap, list(topics.values()), total, aggregate=False))
    print(f"(a) raw aiokafka getmany + orjson.loads     : {raw:10,.0f} events/s")
    hand = asyncio.run(raw_loop(bootstrap, list(topics.values()), total, aggregate=True))
    print(f"(b) hand-coded aggregation on raw aiokafka  : {hand:10,.0f} events/s")

    data_end = max(m.event_time for m in messages).timestamp()
    through = data_end - data_end % 60 + 60  # the end of the data's last minute
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-worker-{names['KPIWATCH_APP_ID']}.log"
    cpu_before = children_cpu_seconds()
    began = time.perf_counter()
    worker = Worker(env={**TEST_STACK_ENV, **names, "KPIWATCH_LOG_LEVEL": "warning"},
                    log_path=log).start()
    ready = time.perf_counter()
    try:
        while settled_partitions(worker, through) < PARTITIONS:
            time.sleep(1.0)  # a scrape costs the worker too (consumer lag asks for positions)
        elapsed = time.perf_counter() - ready
    finally:
        worker.stop()
    cpu = children_cpu_seconds() - cpu_before
    rate = total / elapsed
    print(f"kpiwatch, one worker, full pipeline         : {rate:10,.0f} events/s "
          f"({total} in {elapsed:.1f} s after {ready - began:.1f} s start-up; log {log})")
    # CPU-bound or starved? A worker far below one core is waiting (or the machine is busy).
    print(f"kpiwatch worker CPU (start-up to stop)      : {cpu:10.1f} s, "
          f"{cpu / total * 1e6:,.0f} us per event, {cpu / (time.perf_counter() - began):.0%} "
          "of one core")
    print(f"ratio kpiwatch / (a) raw loop               : {rate / raw:10.3f}")
    print(f"ratio kpiwatch / (b) hand-coded             : {rate / hand:10.3f}")
    state_sizes(bootstrap, names["KPIWATCH_APP_ID"])
    return rate


def latency(args, settings, rate: float) -> None:
    names = unique_names()
    bootstrap = settings.kafka_bootstrap_servers
    topics = {s: names[f"KPIWATCH_TOPIC_{s.upper()}"] for s in ("clickstream", "cart", "purchase")}
    from streams.admin import ensure_topics

    asyncio.run(ensure_topics(bootstrap, list(topics.values()), PARTITIONS))
    send_rate = args.latency_rate or rate / 2
    count = int(send_rate * args.latency_seconds)
    # speedup s of event time per wall second: send_rate / speedup events per second of event
    # time (at 1, a live shop's pace: each minute's events are applied in one burst).
    start = datetime.now(UTC) - timedelta(hours=3)
    simulator = ShopSimulator(seed=4, diurnal=False)
    messages = []
    for message in simulator.generate(start, None, send_rate / args.speedup):
        messages.append(message)
        if len(messages) >= count:
            break
    env = {**TEST_STACK_ENV, **names, "KPIWATCH_LOG_LEVEL": "warning",
           "KPIWATCH_ALLOWED_LATENESS": "PT0S", "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT5S"}
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-worker-{names['KPIWATCH_APP_ID']}.log"
    worker = Worker(env=env, log_path=log).start()
    try:
        sent = asyncio.run(paced_send(bootstrap, topics, messages, send_rate))
        time.sleep(3)
        text = worker.metrics_text()
    finally:
        worker.stop()
    what = "at the given rate" if args.latency_rate else "at half the kpiwatch rate"
    print(f"live traffic {what:<31}: {sent:10,.0f} events/s for {args.latency_seconds} s "
          f"(event time {args.speedup:g}x the wall clock, allowed lateness 0)")
    for name, what in (("kpiwatch_settle_latency_seconds",
                        "settle latency, input -> /metrics"),
                       ("kpiwatch_event_to_metric_latency_seconds",
                        "per event, input -> /metrics")):
        (p50, p99), samples, within = histogram_quantiles(text, name, (0.5, 0.99))
        print(f"{what:<44}: p50 {p50 * 1000:7.0f} ms, p99 {p99 * 1000:7.0f} ms "
              f"({samples} samples, {within:.1%} <= 250 ms; from the histogram's buckets)")


async def paced_send(bootstrap: str, topics: dict, messages: list, rate: float) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        for index, message in enumerate(messages):
            due = started + index / rate
            if due > time.perf_counter():
                await asyncio.sleep(due - time.perf_counter())
            await producer.send(topics[message.stream], message.value, key=message.key)
        await producer.flush()
    finally:
        await producer.stop()
    return len(messages) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--latency-seconds", type=int, default=60,
                        help="0 skips the latency part")
    parser.add_argument("--latency-rate", type=float, default=None, metavar="EVENTS_PER_S",
                        help="live traffic rate of the latency part (default: half the "
                             "measured kpiwatch rate; with --events 0 the throughput part is "
                             "skipped)")
    parser.add_argument("--speedup", type=float, default=1.0,
                        help="event time per wall-clock second in the latency part (default "
                             "1: a live shop's pace; 60: a minute settles every second)")
    args = parser.parse_args()
    settings = stack_settings_for_tests()
    stack = DevStack(settings, log=lambda line: None)
    stack.up()
    start = datetime.now(UTC) - timedelta(hours=2)
    simulator = ShopSimulator(seed=3, diurnal=False)
    messages = []
    for message in simulator.generate(start, None, 200):
        messages.append(message)
        if len(messages) >= args.events:
            break
    if args.events == 0 and args.latency_rate:
        rate = args.latency_rate
    else:
        rate = throughput(args, settings, unique_names(), messages)
    if args.latency_seconds > 0:
        latency(args, settings, rate)
    print("target: >= 12,000 events/s per worker for a backlog. Stack left "
          f"running for reuse; stop it: KPIWATCH_RUN_DIR={TEST_STACK_ENV['KPIWATCH_RUN_DIR']} "
          ".venv/bin/python -m devstack down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
