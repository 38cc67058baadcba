"""What watching goals costs a worker's alert tick (alerts/goal_watch.py).

Starts its own redis-server (or uses ``--redis-url``), fills the window store as four
partitions' publishers would for a quarter (1-day windows for the days gone, 1-hour windows
for today, 15-minute windows for the last hour), then times ``GoalWatcher.tick`` with as many
goals as ``--goals`` (day, week, month and quarter goals in turn, each with an alert): the
pass a worker makes each time more windows become complete. Prints ms per pass and Redis
windows read per pass; the pass runs on the alert timer, not in the event path.

Run from the repository root:  python benchmarks/bench_goals.py [--goals 10] [--passes 50]
"""

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import redis.asyncio as redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.goal_watch import GoalWatcher  # noqa: E402
from alerts.goals import GoalSet  # noqa: E402
from alerts.state_store import StateStore  # noqa: E402
from alerts.window_store import WindowStore  # noqa: E402
from benchmarks.bench_outbox import percentile, start_redis, wait_ready  # noqa: E402

PARTITIONS = 4
HOUR = 3_600_000
DAY = 24 * HOUR
UTC = ZoneInfo("UTC")


def shop(paid_orders: int) -> dict:
    values = {}
    for channel in ("paid_search", "email", "direct", "organic_search"):
        values[f"sessions|{channel}|desktop"] = 500
        values[f"funnel|order_completed|{channel}"] = paid_orders
        values[f"orders|{channel}|card"] = paid_orders
        values[f"revenue|{channel}|card"] = str(paid_orders * 50)
    return values


async def fill(store: WindowStore, quarter_start: int, now: int) -> int:
    """The windows of the quarter so far on every partition; returns the store's complete."""
    today = now - now % DAY
    hour = now - now % HOUR
    windows = [("1d", start, shop(20)) for start in range(quarter_start, today, DAY)]
    windows += [("1h", start, shop(1)) for start in range(today, hour, HOUR)]
    windows += [("15m", start, shop(1)) for start in range(hour, hour + 45 * 60_000, 15 * 60_000)]
    complete = hour + 45 * 60_000
    for partition in range(PARTITIONS):
        await store.publish(partition, windows, complete)
    return complete


def goal_set(count: int) -> GoalSet:
    periods = ("day", "week", "month", "quarter")
    return GoalSet.model_validate({"goals": [
        {"name": f"g{n}", "kpi": ("orders", "conversion_rate", "revenue", "roas")[n % 4],
         "target": 1_000_000, "period": periods[n % 4], "alert": {}} for n in range(count)]})


class NullSink:
    async def put(self, notification, targets) -> None:
        pass


async def run(redis_url: str, goals: int, passes: int) -> None:
    client = redis.Redis.from_url(redis_url)
    await wait_ready(client)
    app_id = f"bench-goals-{uuid.uuid4().hex[:6]}"
    store = WindowStore(client, app_id, PARTITIONS)
    now = int(time.time() * 1000)
    quarter_start = int(time.mktime((2026, 10, 1, 0, 0, 0, 0, 0, 0)) * 1000)
    quarter_start = quarter_start - quarter_start % DAY
    complete = await fill(store, quarter_start, now)
    reads = Counter()
    values_many = store.values_many

    async def counted(size, starts):
        reads[size] += len(starts)
        return await values_many(size, starts)

    store.values_many = counted  # counts the windows a pass reads (this benchmark's store only)
    watcher = GoalWatcher(goal_set(goals), store, StateStore(client, app_id), NullSink(), tz=UTC,
                          sizes=("1d", "1h", "15m"), grafana_url="http://localhost:3000",
                          app_id=app_id, clock=lambda: now / 1000)
    times = []
    for n in range(passes):
        watcher.last = None  # as if more windows had become complete
        started = time.perf_counter()
        progress = await watcher.tick()
        times.append((time.perf_counter() - started) * 1000)
        if n == 0:
            first_reads = dict(reads)
    print(f"{goals} goals, {passes} passes over {PARTITIONS} partitions' windows (complete "
          f"to {time.strftime('%Y-%m-%d %H:%M', time.gmtime(complete / 1000))} UTC)")
    print(f"  per pass: p50 {statistics.median(times):.2f} ms, p90 {percentile(times, 0.9):.2f} "
          f"ms, max {max(times):.2f} ms")
    print(f"  windows read per pass: {first_reads} "
          f"(statuses: {Counter(p.status for p in progress)})")
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goals", type=int, default=10, help="goals watched (default 10)")
    parser.add_argument("--passes", type=int, default=50, help="passes timed (default 50)")
    parser.add_argument("--redis-url", help="an existing Redis (default: start one)")
    args = parser.parse_args()
    process = None
    url = args.redis_url
    if url is None:
        process, url, _ = start_redis()
    try:
        asyncio.run(run(url, args.goals, args.passes))
    finally:
        if process is not None:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
