"""What the Redis outbox adds between ``Outbox.put`` and the endpoint's 200.

Starts its own redis-server (or uses ``--redis-url``) and the fake Slack of the tests, then:

- idle latency: one notification at a time into an idle outbox, put -> the POST arriving
  (the poll interval, 0.25 s by default, dominates);
- drain rate to a generic webhook (no pacing): the outbox's own cost per message (a few Redis
  round trips, one POST);
- drain rate to a Slack webhook: paced to one message per second by design.

Run from the repository root:  python benchmarks/bench_outbox.py [--messages N]
"""

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis.asyncio as redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.outbox import Outbox  # noqa: E402
from alerts.rules import RuleSet, Target  # noqa: E402
from tests.fakes.notifications import make_notification  # noqa: E402
from tests.fakes.slack_server import FakeSlack  # noqa: E402
from tests.integration.services import free_port  # noqa: E402


def start_redis() -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="bench-outbox-")
    process = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                                "--save", "", "--appendonly", "no", "--dir", workdir],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"redis://127.0.0.1:{port}/0", workdir


async def wait_ready(client: redis.Redis) -> None:
    for _ in range(100):
        try:
            await client.ping()
            return
        except redis.ConnectionError:
            await asyncio.sleep(0.05)
    raise SystemExit("redis-server did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(redis_url: str, messages: int) -> None:
    client = redis.from_url(redis_url)
    await wait_ready(client)
    slack = FakeSlack(min_interval=0).start()
    ruleset = RuleSet(rules=[], targets={
        "hook": Target(type="webhook", url=slack.url("hook")),
        "slack": Target(type="slack", url=slack.url("slack"))})
    outbox = Outbox(client, f"kpiwatch:bench-{uuid.uuid4().hex[:8]}:")
    stop = asyncio.Event()
    task = asyncio.create_task(outbox.run(ruleset, stop))

    latencies = []
    for i in range(min(messages, 40)):
        before = len(slack.messages)
        started = time.monotonic()
        await outbox.put(make_notification(id=f"idle-{i}"), ["hook"])
        await slack.messages_arrived(before + 1, timeout=30)
        latencies.append(slack.messages[-1].arrived_at - started)
    print(f"idle put -> POST: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms over {len(latencies)} messages "
          f"(poll interval {outbox.poll_interval} s)")

    before = len(slack.messages)
    started = time.monotonic()
    for i in range(messages):
        await outbox.put(make_notification(id=f"drain-{i}"), ["hook"])
    await slack.messages_arrived(before + messages, timeout=600)
    elapsed = time.monotonic() - started
    print(f"webhook drain: {messages} messages in {elapsed:.1f} s = {messages / elapsed:.0f}/s")

    paced = 5
    for i in range(paced):
        await outbox.put(make_notification(id=f"slack-{i}"), ["slack"])
    arrived = await slack_paced(slack, paced)
    gaps = [b - a for a, b in zip(arrived, arrived[1:], strict=False)]
    print(f"slack drain: {paced} messages, gaps between POSTs {min(gaps):.2f}-{max(gaps):.2f} s"
          f" (paced to 1/s)")

    stop.set()
    await task
    slack.stop()
    await client.aclose()


async def slack_paced(slack: FakeSlack, count: int) -> list[float]:
    deadline = time.monotonic() + 60
    while len(slack.messages_for("slack")) < count:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    return [m.arrived_at for m in slack.messages_for("slack")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--redis-url", help="use this Redis instead of starting one")
    args = parser.parse_args()
    process = None
    url = args.redis_url
    if url is None:
        process, url, workdir = start_redis()
    try:
        asyncio.run(run(url, args.messages))
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
