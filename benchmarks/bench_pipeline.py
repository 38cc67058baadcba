"""Full-pipeline throughput on one worker, side by side with a raw aiokafka loop, plus the
size of the KPI engine's state per entity. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_pipeline.py --events 20000

It starts the local stack on its own ports (the tests' launcher), preloads simulated traffic
into fresh input topics, then measures, in one run:
  raw  aiokafka getmany + orjson.loads over the input topics, doing no work;
  kpiwatch  one worker from start to every event counted on the canonical topic (ingest,
       validate, classify, dedup, forward), and to the KPI engine's state holding them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localstack import LocalStack  # noqa: E402
from simulator import ShopSimulator  # noqa: E402
from tests.integration.services import (  # noqa: E402
    TEST_STACK_ENV,
    Worker,
    consume_all,
    metric_sum,
    produce_many,
    stack_settings_for_tests,
    unique_names,
)


async def raw_loop(bootstrap: str, topics: list[str], expect: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    seen, started = 0, time.perf_counter()
    try:
        while seen < expect:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    settings = stack_settings_for_tests()
    stack = LocalStack(settings, log=lambda line: None)
    stack.up()
    names = unique_names()
    topics = {"clickstream": names["KPIWATCH_TOPIC_CLICKSTREAM"],
              "cart": names["KPIWATCH_TOPIC_CART"], "purchase": names["KPIWATCH_TOPIC_PURCHASE"]}
    start = datetime.now(UTC) - timedelta(hours=2)
    simulator = ShopSimulator(seed=3, diurnal=False)
    messages = []
    for message in simulator.generate(start, None, 200):
        messages.append(message)
        if len(messages) >= args.events:
            break
    from streams.admin import ensure_topics

    asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, list(topics.values()), 4))
    produce_many(settings.kafka_bootstrap_servers,
                 ((topics[m.stream], m.key, m.value) for m in messages))
    print(f"preloaded {len(messages)} messages ({statistics.mean(len(m.value) for m in messages):.0f}"
          " bytes mean) into 3 topics x 4 partitions")

    raw = asyncio.run(raw_loop(settings.kafka_bootstrap_servers, list(topics.values()),
                               len(messages)))
    print(f"raw aiokafka getmany + orjson.loads : {raw:10,.0f} msg/s")

    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-worker-{names['KPIWATCH_APP_ID']}.log"
    began = time.perf_counter()
    worker = Worker(env={**TEST_STACK_ENV, **names, "KPIWATCH_LOG_LEVEL": "warning"},
                    log_path=log).start()
    ready = time.perf_counter() - began
    try:
        counted = 0.0
        while counted < len(messages) * 0.95:
            time.sleep(0.5)
            text = worker.metrics_text()
            counted = (metric_sum(text, "kpiwatch_events_total")
                       + metric_sum(text, "kpiwatch_invalid_events_total")
                       + metric_sum(text, "kpiwatch_duplicate_events_total"))
        elapsed = time.perf_counter() - began - ready
        rate = counted / elapsed
        print(f"kpiwatch worker, ingest->dedup->count: {rate:10,.0f} msg/s "
              f"({counted:.0f} in {elapsed:.1f} s after {ready:.1f} s start-up)")
        print(f"ratio kpiwatch / raw loop            : {rate / raw:10.3f}")
    finally:
        worker.stop()
    state = consume_all(settings.kafka_bootstrap_servers,
                        f"{names['KPIWATCH_APP_ID']}-kpi-state-changelog", expect=1, idle=3)
    latest = {}
    for record in state:
        latest[record.key] = record.value
    for kind in ("user", "session", "cart", "customer"):
        sizes = [len(v) for k, v in latest.items() if v and orjson.loads(k).startswith(kind + "|")]
        if sizes:
            print(f"state per {kind:<8}: {statistics.mean(sizes):6.0f} bytes mean over "
                  f"{len(sizes)} (JSON in the changelog)")
    print("stack left running for reuse; stop it with: "
          "KPIWATCH_RUN_DIR=.run/test python -m localstack down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
