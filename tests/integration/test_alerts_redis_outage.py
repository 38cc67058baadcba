"""Redis goes away and comes back under a running evaluator (issue 5: "if Redis is down alerts
still go out: fail open, at most one duplicate, counted").

The worker's alerting pieces (alerts/runner.py's wiring, without Faust) run against a Redis of
the test's own, which the test stops and starts again, and deliver to the fake Slack. The KPI
table is a dict holding what the engine would (values per window, settled_through per
partition), so each step settles exactly one window: no Kafka, no timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from zoneinfo import ZoneInfo

import orjson
import pytest_asyncio
import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from alerts.alert_metrics import AlertMetrics
from alerts.evaluator import Evaluator
from alerts.fail_open import DirectSink, FailOpen, LocalWindows, MemoryStates
from alerts.notifiers import NotificationMetrics
from alerts.outbox import Outbox
from alerts.publisher import SettledWindowPublisher
from alerts.rules import RuleSet
from alerts.state_store import StateStore, incident_id
from alerts.window_store import WindowStore
from streams.kpis.working_set import aggregate_key, progress_key
from streams.windows import MINUTE_MS
from tests.integration import alerts_fixtures
from tests.integration.alerts_fixtures import shop_values, window

dedicated_redis = alerts_fixtures.dedicated_redis

PARTITIONS = 2
NORMAL = shop_values(paid_orders=20)  # paid_search converts at 4 %
DROP = shop_values(paid_orders=5)  # ... at 1 %, below the 2 % benchmark
RULE = "paid_conversion_low"
PAID = "channel=paid_search"


def ruleset(slack_url: str) -> RuleSet:
    return RuleSet.model_validate({
        "targets": {"default": {"type": "slack", "url": slack_url}},
        "rules": [{"name": RULE, "kpi": "conversion_rate", "condition": "below",
                   "per": "channel", "benchmark": {"type": "static", "value": 0.02},
                   "window": "15m", "min_volume": {"sessions": 100}, "for": 2,
                   "recovery": {"keep_firing_for": 0}}],
    })


class AlertingWorker:
    """What AlertRunner wires in a worker that owns every partition: publisher, shared evaluator,
    fallback, outbox and its delivery loop, all on one Redis client."""

    def __init__(self, redis_url: str, app_id: str, rules: RuleSet, table: dict) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.registry = CollectorRegistry()
        self.metrics = AlertMetrics.create(self.registry)
        self.notification_metrics = NotificationMetrics(self.registry)
        self.rules, self.table, self.app_id = rules, table, app_id
        windows = WindowStore(self.client, app_id, PARTITIONS)
        self.states = StateStore(self.client, app_id, lock_seconds=2)
        self.outbox = Outbox(self.client, f"kpiwatch:{app_id}:", metrics=self.notification_metrics,
                             poll_interval=0.1, lock_ttl=2)
        publisher = SettledWindowPublisher(windows, table, ZoneInfo("UTC"), ["15m"])
        self.evaluator = Evaluator(rules, windows, self.states, self.outbox, **self.options())
        self.fail_open = FailOpen(self.client, publisher, self.evaluator, self.outbox,
                                  self.new_fallback, self.owned, self.metrics)
        self.stop = asyncio.Event()
        self.delivery = asyncio.create_task(self.outbox.run(rules, self.stop))

    def options(self) -> dict:
        return {"tz": ZoneInfo("UTC"), "grafana_url": "http://grafana", "payment_methods": [],
                "metrics": self.metrics}

    def owned(self) -> range:
        return range(PARTITIONS)

    def new_fallback(self) -> Evaluator:
        return Evaluator(self.rules, LocalWindows(self.table, self.owned, PARTITIONS),
                         MemoryStates(), DirectSink(self.rules, self.metrics,
                                                    self.notification_metrics), **self.options())

    def counted(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.delivery, 30)
        await self.client.aclose()


def settle(table: dict, n: int, values: Counter) -> None:
    """Window n settles on every partition (its values on partition 0), as the engine does."""
    w = window(n)
    table[aggregate_key(0, w)] = {"values": dict(values), "size": w.size, "start": w.start_ms,
                                  "end": w.end_ms}
    for partition in range(PARTITIONS):
        table[progress_key(partition)] = {"settled_through": w.end_ms - MINUTE_MS}


@pytest_asyncio.fixture(loop_scope="function")
async def worker_factory():
    started: list[AlertingWorker] = []

    def start(*args) -> AlertingWorker:
        started.append(AlertingWorker(*args))
        return started[-1]

    yield start
    for worker in started:
        await worker.close()


async def outbox_empty(outbox: Outbox, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while await outbox.depth("default"):
            await asyncio.sleep(0.05)


def kinds(messages) -> list[str]:
    return [("resolved" if "esolved" in m.text else "firing") + (
        " paid_search" if "paid_search" in orjson.dumps(m.payload).decode() else "") for m in messages]


async def test_fails_open_while_redis_is_down_and_goes_back_to_the_shared_path_alone(
        dedicated_redis, slack_factory, worker_factory):
    slack = slack_factory()
    table: dict = {}
    app_id = f"outage-{uuid.uuid4().hex[:8]}"
    worker = worker_factory(dedicated_redis.url, app_id, ruleset(slack.url()), table)
    store = worker.states

    settle(table, 0, NORMAL)
    await worker.fail_open.tick()
    assert await store.cursor(RULE) == window(0).end_ms  # judged on the shared path

    dedicated_redis.stop()
    settle(table, 1, NORMAL)
    await worker.fail_open.tick()
    assert worker.fail_open.redis_down
    assert worker.counted("kpiwatch_alert_state_errors_total", operation="publish") == 1
    for n in (2, 3):  # paid_search drops for two windows: it fires, sent directly
        settle(table, n, DROP)
        await worker.fail_open.tick()
    await slack.messages_arrived(1, timeout=20)
    assert kinds(slack.messages) == ["firing paid_search"]
    assert worker.counted("kpiwatch_alert_evaluations_total", rule=RULE, outcome="fail_open") == 1

    dedicated_redis.start()
    settle(table, 4, DROP)  # still breaching
    await worker.fail_open.tick()
    assert not worker.fail_open.redis_down  # back on the shared path, no restart
    # The shared evaluator judged the outage's windows again from Redis and reached the same
    # incident: its firing message was marked sent, so nothing waits in the outbox.
    states = await store.states(RULE)
    assert states[PAID].status == "firing"
    assert states[PAID].last_window == window(4).start_ms
    assert await store.cursor(RULE) == window(4).end_ms
    assert await worker.outbox.depth("default") == 0

    settle(table, 5, NORMAL)  # recovery: one resolved message, through the outbox
    await worker.fail_open.tick()
    await slack.messages_arrived(2, timeout=20)
    incident = await store.incident(incident_id(RULE, PAID, states[PAID].incident_start))
    assert incident["last_notification"].endswith(":resolved:0 (outbox)")
    settle(table, 6, NORMAL)
    await worker.fail_open.tick()
    await outbox_empty(worker.outbox)  # nothing more to deliver
    assert kinds(slack.messages) == ["firing paid_search", "resolved paid_search"]
    assert worker.counted("kpiwatch_alert_evaluations_total", rule=RULE, outcome="fail_open") == 1
    assert worker.counted("kpiwatch_alert_state_errors_total", operation="publish") == 3



async def test_an_incident_open_when_redis_goes_down_is_continued_not_opened_again(
        dedicated_redis, slack_factory, worker_factory):
    slack = slack_factory()
    table: dict = {}
    worker = worker_factory(dedicated_redis.url, f"outage-{uuid.uuid4().hex[:8]}",
                            ruleset(slack.url()), table)
    for n, values in enumerate((NORMAL, DROP, DROP)):  # fires on the shared path
        settle(table, n, values)
        await worker.fail_open.tick()
    await slack.messages_arrived(1, timeout=20)
    await outbox_empty(worker.outbox)

    dedicated_redis.stop()
    # Still breaching, then it recovers while Redis is down: the fallback goes on with the same
    # incident, so it sends no second firing and resolves that incident directly.
    for n, values in ((3, DROP), (4, NORMAL)):
        settle(table, n, values)
        await worker.fail_open.tick()
    await slack.messages_arrived(2, timeout=20)
    assert worker.counted("kpiwatch_alert_evaluations_total", rule=RULE, outcome="fail_open") == 1

    dedicated_redis.start()
    settle(table, 5, NORMAL)
    await worker.fail_open.tick()
    assert not worker.fail_open.redis_down
    assert (await worker.states.states(RULE))[PAID].status == "resolved"
    await outbox_empty(worker.outbox)
    assert kinds(slack.messages) == ["firing paid_search", "resolved paid_search"]
