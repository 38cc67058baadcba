"""The Redis outbox on the real Redis, delivering to a local server that behaves like Slack.

Done when (issue 5): Slack answers 429 (Retry-After 2), then 500, then is unreachable for
60 s: every notification arrives after recovery, in order, none twice, never faster than 1/s.
Also: two deliverer processes deliver each message once; a killed deliverer is taken over;
a 400 is not retried, is counted and kept in the dead list.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import pytest_asyncio
import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from alerts.notifiers import NotificationMetrics
from alerts.outbox import Outbox
from alerts.rules import RuleSet, Target
from tests.fakes.notifications import make_notification, numbered
from tests.fakes.slack_server import FakeSlack, Fault
from tests.integration.services import REPO

OUTAGE_SECONDS = 60


# Function loop scope: the tests run in their own loops, and so must these (the suite's
# default fixture loop is the session's).
@pytest_asyncio.fixture(loop_scope="function")
async def redis_client(local_stack, stack_settings):
    client = redis.from_url(stack_settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def prefix():
    return f"kpiwatch:test-{uuid.uuid4().hex[:8]}:"


def slack_rules(slack: FakeSlack) -> RuleSet:
    return RuleSet(rules=[], targets={"slack": Target(type="slack", url=slack.url())})


class Running:
    """An in-process ``Outbox.run`` as a task, stopped cleanly after the test."""

    def __init__(self, outbox: Outbox, ruleset: RuleSet):
        self.outbox, self.stop = outbox, asyncio.Event()
        self.task = asyncio.create_task(outbox.run(ruleset, self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


@pytest_asyncio.fixture(loop_scope="function")
async def outbox_factory(redis_client, prefix):
    running: list[Running] = []

    def start(slack: FakeSlack, **options) -> Running:
        registry = CollectorRegistry()
        options = {"poll_interval": 0.1, "base_backoff": 0.5, "max_backoff": 5.0, **options}
        outbox = Outbox(redis_client, prefix, metrics=NotificationMetrics(registry), **options)
        outbox.registry = registry
        runner = Running(outbox, slack_rules(slack))
        running.append(runner)
        return runner

    yield start
    for runner in running:
        await runner.close()


def counted(outbox: Outbox, outcome: str, kind: str = "firing") -> float:
    return outbox.registry.get_sample_value(
        "kpiwatch_notifications_total", {"target": "slack", "kind": kind, "outcome": outcome}) or 0


def summaries(slack: FakeSlack) -> list[str]:
    return [m.payload["blocks"][1]["text"]["text"] for m in slack.messages]


def gaps(slack: FakeSlack) -> list[float]:
    arrivals = [m.arrived_at for m in slack.messages]
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]


async def until(predicate, timeout: float, what: str, interval: float = 0.1):
    """Wait for ``predicate()`` (a value or an awaitable) to be true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(interval)


async def test_slack_429_then_500_then_60s_down_loses_nothing(slack_factory, outbox_factory):
    slack = slack_factory()
    slack.script(Fault(429, retry_after=2), Fault(500), Fault(down_for=OUTAGE_SECONDS))
    outbox = outbox_factory(slack).outbox
    notifications = numbered(6)
    for notification in notifications[:3]:
        await outbox.put(notification, ["slack"])
    await until(lambda: slack.is_down, 30, "the outage to start")
    down_until = slack.down_until
    for notification in notifications[3:]:  # put while Slack is unreachable
        await outbox.put(notification, ["slack"])
    assert await outbox.depth("slack") == 6  # all waiting in Redis

    await slack.messages_arrived(6, timeout=OUTAGE_SECONDS + 60)
    await asyncio.sleep(1.5)  # nothing more arrives: no duplicates trailing behind
    assert summaries(slack) == [n.summary for n in notifications]  # in order, none twice
    assert slack.messages[0].arrived_at >= down_until  # delivered after recovery
    assert min(gaps(slack)) >= 1.0  # never faster than 1/s
    assert [r.status for r in slack.requests[:2]] == [429, 500]
    assert slack.requests[1].arrived_at - slack.requests[0].arrived_at >= 2.0  # Retry-After
    assert [r.status for r in slack.requests].count(429) == 1  # the pace never hit the limit
    assert counted(outbox, "delivered") == 6
    assert counted(outbox, "retried") >= 3  # 429, 500, and at least one refused connection
    assert await outbox.depth("slack") == 0
    assert outbox.registry.get_sample_value(
        "kpiwatch_notification_latency_seconds_count", {"target": "slack"}) == 6


async def test_a_400_is_not_retried_but_counted_and_kept(slack_factory, outbox_factory):
    slack = slack_factory()
    slack.script(Fault(400, answer="invalid_blocks"))
    outbox = outbox_factory(slack).outbox
    notifications = numbered(3, prefix="r")
    for notification in notifications:
        await outbox.put(notification, ["slack"])
    await slack.messages_arrived(2, timeout=30)
    await until(lambda: counted(outbox, "delivered") == 2, 10, "the acks")
    await asyncio.sleep(1.5)
    assert len(slack.requests) == 3  # the rejected message was posted once, never again
    assert summaries(slack) == ["r-001", "r-002"]
    assert counted(outbox, "rejected") == 1
    [dead] = await outbox.dead("slack")
    assert (dead["status"], dead["error"], dead["notification"]["id"]) == (
        400, "invalid_blocks", "r-000")
    await outbox.put(notifications[0], ["slack"])  # put again after it was rejected: ignored
    assert await outbox.depth("slack") == 0


async def test_each_id_is_delivered_once_however_often_it_is_put(slack_factory, outbox_factory):
    slack = slack_factory()
    outbox = outbox_factory(slack).outbox
    notification = make_notification(id="same-id", summary="once")
    for _ in range(3):
        await outbox.put(notification, ["slack"])
    await slack.messages_arrived(1, timeout=30)
    await until(lambda: counted(outbox, "delivered") == 1, 10, "the ack")
    await outbox.put(notification, ["slack"])  # after delivery too
    await asyncio.sleep(1.5)
    assert summaries(slack) == ["once"]


async def test_two_deliverers_in_one_process_share_a_target(slack_factory, outbox_factory):
    slack = slack_factory()
    first, second = outbox_factory(slack).outbox, outbox_factory(slack).outbox
    notifications = numbered(5, prefix="p")
    for i, notification in enumerate(notifications):
        await (first if i % 2 else second).put(notification, ["slack"])
    await slack.messages_arrived(5, timeout=30)
    await asyncio.sleep(1.5)
    assert summaries(slack) == [n.summary for n in notifications]
    assert min(gaps(slack)) >= 1.0
    assert counted(first, "delivered") + counted(second, "delivered") == 5


class Deliverer:
    """``tests/fakes/outbox_process.py`` as a real process."""

    def __init__(self, redis_url: str, prefix: str, slack_url: str, log_path, lock_ttl: float):
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.outbox_process", redis_url, prefix, slack_url,
             str(lock_ttl)], cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)})

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def deliverer_factory(stack_settings, prefix, tmp_path):
    started: list[Deliverer] = []

    def start(slack: FakeSlack, lock_ttl: float = 3.0) -> Deliverer:
        deliverer = Deliverer(stack_settings.redis_url, prefix, slack.url(),
                              tmp_path / f"deliverer-{len(started)}.log", lock_ttl)
        started.append(deliverer)
        return deliverer

    yield start
    for deliverer in started:
        deliverer.stop()


async def test_two_deliverer_processes_deliver_each_message_once(
        slack_factory, deliverer_factory, redis_client, prefix):
    slack = slack_factory()
    deliverers = [deliverer_factory(slack), deliverer_factory(slack)]
    outbox = Outbox(redis_client, prefix)
    notifications = numbered(8, prefix="two")
    for notification in notifications:
        await outbox.put(notification, ["slack"])
    await slack.messages_arrived(8, timeout=60)
    await asyncio.sleep(1.5)
    assert summaries(slack) == [n.summary for n in notifications]
    assert min(gaps(slack)) >= 1.0
    assert [r.status for r in slack.requests].count(429) == 0
    assert all(d.process.poll() is None for d in deliverers)


async def test_a_killed_deliverer_is_taken_over(slack_factory, deliverer_factory, redis_client,
                                                prefix):
    slack = slack_factory()
    deliverers = [deliverer_factory(slack, lock_ttl=3.0), deliverer_factory(slack, lock_ttl=3.0)]
    outbox = Outbox(redis_client, prefix)
    notifications = numbered(8, prefix="kill")
    for notification in notifications:
        await outbox.put(notification, ["slack"])
    await slack.messages_arrived(3, timeout=60)
    holder = (await redis_client.get(outbox.keys("slack").lock)).decode()
    pid = int(holder.split(":")[1])
    [victim] = [d for d in deliverers if d.process.pid == pid]
    victim.kill()  # SIGKILL mid-queue: no release, the lock must expire
    killed_at = time.monotonic()
    await slack.messages_arrived(len(slack.messages) + 1, timeout=60)
    print(f"taken over: next message {slack.messages[-1].arrived_at - killed_at:.1f} s after the"
          " SIGKILL (lock TTL 3 s)")
    await until(lambda: set(summaries(slack)) == {n.summary for n in notifications}, 60,
                "every notification")
    await asyncio.sleep(1.5)
    delivered = summaries(slack)
    # In order; at most one duplicate: the message whose POST the victim made but never acked.
    assert [s for i, s in enumerate(delivered) if s not in delivered[:i]] == [
        n.summary for n in notifications]
    assert len(delivered) - len(set(delivered)) <= 1
    assert min(gaps(slack)) >= 1.0


async def test_an_unreadable_entry_goes_to_the_dead_list(slack_factory, outbox_factory,
                                                         redis_client):
    slack = slack_factory()
    outbox = outbox_factory(slack).outbox
    await redis_client.rpush(outbox.keys("slack").queue, b"{not a notification")
    await outbox.put(make_notification(summary="after the garbage"), ["slack"])
    await slack.messages_arrived(1, timeout=30)
    assert summaries(slack) == ["after the garbage"]
    [dead] = await outbox.dead("slack")
    assert dead["raw"] == "{not a notification"
    assert counted(outbox, "dropped", kind="unknown") == 1
