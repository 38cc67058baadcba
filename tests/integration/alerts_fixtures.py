"""Factories for the alert integration tests: a Redis client on the test stack, window values
written straight into the store (fast: no Kafka), evaluators with a recording sink, and a
Redis of a test's own that it can stop and start again."""

from __future__ import annotations

import uuid
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import redis as redis_sync
import redis.asyncio as redis

from alerts.evaluator import Evaluator
from alerts.notification import Notification
from alerts.rules import RuleSet
from alerts.state_store import StateStore
from alerts.window_store import WindowStore
from kpiwatch.settings import Settings
from localstack.redis import redis_process
from streams.windows import Window
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
