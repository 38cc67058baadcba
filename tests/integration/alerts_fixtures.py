"""Factories for the alert integration tests: a Redis client on the test stack, window values
written straight into the store (fast: no Kafka), evaluators with a recording sink, and a
Redis of a test's own that it can stop and start again."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from zoneinfo import ZoneInfo

import orjson
import pytest
import pytest_asyncio
import redis as redis_sync
import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from alerts.alert_metrics import AlertMetrics
from alerts.evaluator import Evaluator
from alerts.fail_open import DirectSink, FailOpen, LocalWindows, MemoryStates
from alerts.notification import Notification
from alerts.notifiers import NotificationMetrics
from alerts.outbox import Outbox, outbox_prefix
from alerts.publisher import SettledWindowPublisher
from alerts.rules import RuleSet
from alerts.state_store import StateStore
from alerts.window_store import WindowStore
from devstack.redis import redis_process
from kpiwatch.settings import Settings
from streams.kpis.working_set import aggregate_key, progress_key
from streams.windows import MINUTE_MS, Window
from tests.integration.services import free_port

PARTITIONS = 4
WINDOW_MS = 15 * 60_000
WEEK_MS = 7 * 24 * 3600 * 1000
# A recent, aligned start: the store keeps 8 days, so history a week back is still there.
BASE_MS = 1_764_000_000_000 - 1_764_000_000_000 % WINDOW_MS


def window(n: int) -> Window:
    return Window("15m", BASE_MS + n * WINDOW_MS, BASE_MS + (n + 1) * WINDOW_MS)


def shop_values(paid_orders: int, other_orders: int = 10, sessions: int = 500) -> Counter:
    """Sessions and orders of three channels; paid_search converts at paid_orders/sessions."""
    out = Counter()
    for channel, orders in (("paid_search", paid_orders), ("email", other_orders),
                            ("direct", other_orders)):
        out[f"sessions|{channel}|desktop"] = sessions
        out[f"funnel|order_completed|{channel}"] = orders
        out[f"orders|{channel}|card"] = orders
    return out


class RecordingSink:
    """Stands in for the outbox: what the evaluator handed over, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[Notification, list[str]]] = []

    async def put(self, notification: Notification, targets: list[str]) -> None:
        self.sent.append((notification, targets))

    @property
    def kinds(self) -> list[tuple[str, dict]]:
        return [(n.kind, n.dimension) for n, _ in self.sent]


RULES = {
    "targets": {"default": {"type": "console"}},
    "rules": [{
        "name": "channel_conversion_drop", "kpi": "conversion_rate", "condition": "below",
        "per": "channel", "benchmark": {"type": "week_ago", "change": -0.30}, "window": "15m",
        "min_volume": {"sessions": 100}, "for": 2, "recovery": {"keep_firing_for": 0},
        "runbook_url": "https://runbooks.example/conversion",
    }],
}


@pytest.fixture
def alert_env(local_stack, stack_settings):
    """``env.write(n, values)`` settles window n shop-wide; ``env.evaluator()`` builds one."""
    app_id = f"alerts-{uuid.uuid4().hex[:8]}"

    def client() -> redis.Redis:
        return redis.Redis.from_url(stack_settings.redis_url)

    class Env:
        def __init__(self) -> None:
            self.app_id = app_id
            self.redis_url = stack_settings.redis_url
            self.ruleset = RuleSet.model_validate(RULES)
            self.windows = WindowStore(client(), app_id, PARTITIONS)
            self.states = StateStore(client(), app_id)

        async def write(self, w: Window | int, values: Counter, week_ago: Counter | None = None):
            w = window(w) if isinstance(w, int) else w
            if week_ago is not None:
                await self.write_history(w.start_ms - WEEK_MS, week_ago)
            # All values on partition 0, the other partitions empty: the store must sum them.
            for partition in range(PARTITIONS):
                await self.windows.publish(
                    partition, [(w.size, w.start_ms, values if partition == 0 else {})], w.end_ms)

        async def write_history(self, start_ms: int, values: Counter):
            await self.windows.publish(0, [("15m", start_ms, values)], 0)

        def evaluator(self, sink=None, ruleset: RuleSet | None = None, **options) -> Evaluator:
            return Evaluator(ruleset or self.ruleset, WindowStore(client(), app_id, PARTITIONS),
                             StateStore(client(), app_id), sink or RecordingSink(),
                             tz=ZoneInfo("UTC"), grafana_url="http://localhost:3000",
                             payment_methods=["card"], **options)

    # Clients close with their event loop (each test runs its own).
    return Env()


class RedisListSink:
    """A sink another process can use: notification ids pushed to a Redis list."""

    def __init__(self, client: redis.Redis, key: str) -> None:
        self.client = client
        self.key = key

    async def put(self, notification: Notification, targets: list[str]) -> None:
        await self.client.rpush(self.key, notification.id)


def evaluator_process(redis_url: str, app_id: str, sink_key: str, stop_key: str) -> None:
    """Body of a separate evaluator process: evaluate until ``stop_key`` is set."""
    import asyncio

    async def run() -> None:
        client = redis.Redis.from_url(redis_url)
        evaluator = Evaluator(RuleSet.model_validate(RULES), WindowStore(client, app_id, PARTITIONS),
                              StateStore(client, app_id), RedisListSink(client, sink_key),
                              tz=ZoneInfo("UTC"), grafana_url="http://localhost:3000",
                              payment_methods=["card"])
        while not await client.exists(stop_key):
            await evaluator.evaluate()
            await asyncio.sleep(0.01)
        await client.aclose()

    asyncio.run(run())


class DedicatedRedis:
    """A redis-server on a port and in a directory of its own, started with the local stack's
    launcher: stopping it disturbs no other test. ``stop`` saves first, so ``start`` comes
    back with the data, as production's Redis does (appendonly, docker-compose.yml)."""

    def __init__(self, run_dir) -> None:
        self.settings = Settings(redis_port=free_port(), run_dir=run_dir)
        self.process = redis_process(self.settings)
        self.url = f"redis://127.0.0.1:{self.settings.redis_port}/0"

    def start(self) -> DedicatedRedis:
        self.process.start()
        return self

    def stop(self) -> None:
        with redis_sync.Redis.from_url(self.url) as client:
            client.save()
        self.process.stop()


@pytest.fixture
def dedicated_redis(tmp_path):
    server = DedicatedRedis(tmp_path / "redis").start()
    yield server
    server.process.stop()


# A worker's alerting without Faust, over a dict standing in for its KPI table.
WORKER_PARTITIONS = 2
NORMAL = shop_values(paid_orders=20)  # paid_search converts at 4 %
DROP = shop_values(paid_orders=5)  # ... at 1 %, below alerting_rules' 2 % benchmark
RULE = "paid_conversion_low"
PAID = "channel=paid_search"


def alerting_rules(slack_url: str) -> RuleSet:
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
        windows = WindowStore(self.client, app_id, WORKER_PARTITIONS)
        self.states = StateStore(self.client, app_id, lock_seconds=2)
        self.outbox = Outbox(self.client, outbox_prefix(app_id), metrics=self.notification_metrics,
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
        return range(WORKER_PARTITIONS)

    def new_fallback(self) -> Evaluator:
        return Evaluator(self.rules, LocalWindows(self.table, self.owned, WORKER_PARTITIONS),
                         MemoryStates(), DirectSink(self.rules, self.metrics,
                                                    self.notification_metrics), **self.options())

    def counted(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    async def close(self) -> None:
        if self.delivery.done():
            return  # killed
        self.stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.delivery, 30)
        await self.client.aclose()

    async def kill(self) -> None:
        """As if the process died now: no more delivery, nothing cleaned up."""
        self.delivery.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.delivery
        await self.client.aclose()


def settle(table: dict, n: int, values: Counter) -> None:
    """Window n settles on every partition (its values on partition 0), as the engine does."""
    w = window(n)
    table[aggregate_key(0, w)] = {"values": dict(values), "size": w.size, "start": w.start_ms,
                                  "end": w.end_ms}
    for partition in range(WORKER_PARTITIONS):
        table[progress_key(partition)] = {"settled_through": w.end_ms - MINUTE_MS}


@pytest_asyncio.fixture(loop_scope="function")
async def alerting_worker():
    """``alerting_worker(redis_url, app_id, rules, table)`` starts one; all closed after."""
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
