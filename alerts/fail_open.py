"""When Redis is down, alerts still go out: the same evaluator over local stand-ins.

``FailOpen.tick`` is one evaluation tick of a worker (alerts/runner.py wires it): publish the
newly settled windows and judge from Redis; on a Redis error judge with the fallback instead;
on the first tick Redis answers again, go back to the shared path by itself.

- ``LocalWindows`` reads settled windows straight from this worker's KPI table. It can only
  see the whole shop when this worker owns every partition (one worker, or the survivor), so
  the fallback judges only then; otherwise it waits for Redis and says so in the log.
- ``MemoryStates`` keeps alert state in this process from the moment Redis went away, starting
  from the states and cursor the shared evaluator last saw for each rule it had judged up to
  the latest window: an incident open then goes on (no second firing) and its resolved message
  goes out during the outage, with the ids the shared path would give them.
- ``DirectSink`` delivers with ``send_direct`` (no outbox).
Redis holds no trace of what was judged meanwhile, so once it is back the shared evaluator
judges those windows again; what went out directly is marked delivered in the outbox first, so
the same decisions (same ids) are not sent again. A duplicate remains possible only where the
two paths started apart: a rule another worker was judging, or whose state this worker had not
read yet (the fallback then starts it from scratch), at most one per notification. Each
direct send is counted as ``kpiwatch_alert_evaluations_total{outcome="fail_open"}``, each
Redis error as ``kpiwatch_alert_state_errors_total``, and both are logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import redis.asyncio as redis
from redis.exceptions import RedisError

from alerts.alert_metrics import AlertMetrics
from alerts.notification import Notification
from alerts.outbox import REMEMBER_FOR, Outbox
from alerts.publisher import SettledWindowPublisher, settled_until
from alerts.rules import RuleSet
from alerts.state_machine import AlertState
from streams.kpis.readout import stored_values
from streams.kpis.working_set import aggregate_key
from streams.windows import Window

if TYPE_CHECKING:
    from alerts.evaluator import Evaluator

log = logging.getLogger(__name__)


class LocalWindows:
    def __init__(self, table: Mapping, owned: Callable[[], Iterable[int]], partitions: int) -> None:
        self.table = table
        self.owned = owned
        self.partitions = partitions

    def sees_whole_shop(self) -> bool:
        return set(self.owned()) >= set(range(self.partitions))

    async def complete_until(self) -> int | None:
        if not self.sees_whole_shop():
            return None
        until = [settled_until(self.table, p) for p in range(self.partitions)]
        return None if None in until else min(until)

    async def values(self, size: str, start_ms: int) -> Counter | None:
        return (await self.values_many(size, [start_ms]))[0]

    async def values_many(self, size: str, starts: list[int]) -> list[Counter | None]:
        out: list[Counter | None] = []
        for start in starts:
            merged, found = Counter(), False
            for partition in range(self.partitions):
                # The key only needs size and start; the end is not part of it.
                state = self.table.get(aggregate_key(partition, Window(size, start, start)))
                found |= state is not None
                merged.update(stored_values(state))
            out.append(merged if found else None)
        return out


class MemoryStates:
    """The StateStore interface, in memory: for the fail-open path and pure-logic tests."""

    def __init__(self) -> None:
        self._states: dict[str, dict[str, AlertState]] = {}
        self._cursors: dict[str, int] = {}
        self._deferred: dict[str, dict[str, Notification]] = {}
        self.timelines: dict[str, list[dict]] = {}

    def seed(self, rule: str, states: dict[str, AlertState], cursor: int) -> None:
        self._states[rule] = dict(states)
        self._cursors[rule] = cursor

    async def states(self, rule: str) -> dict[str, AlertState]:
        return dict(self._states.get(rule, {}))

    async def save_state(self, rule: str, dimension_key: str, state: AlertState) -> bool:
        current = self._states.setdefault(rule, {}).get(dimension_key)
        if current is not None and current.last_window >= state.last_window:
            return False
        self._states[rule][dimension_key] = state
        return True

    async def cursor(self, rule: str) -> int | None:
        return self._cursors.get(rule)

    async def set_cursor(self, rule: str, end_ms: int) -> None:
        self._cursors[rule] = end_ms

    async def lock(self, rule: str) -> bool:
        return True

    async def unlock(self, rule: str) -> None:
        pass

    async def record(self, incident: str, fields: dict, event: dict) -> None:
        self.timelines.setdefault(incident, []).append(event)

    async def acknowledged(self, incident: str) -> bool:
        return False

    async def silenced(self, rule: str, dimension_key: str) -> bool:
        return False  # silences live in Redis: unknown now, so fail open

    async def defer(self, rule: str, notification: Notification) -> None:
        self._deferred.setdefault(rule, {})[notification.id] = notification

    async def deferred(self, rule: str) -> dict[str, Notification]:
        return dict(self._deferred.get(rule, {}))

    async def drop_deferred(self, rule: str, notification_id: str) -> bool:
        return self._deferred.get(rule, {}).pop(notification_id, None) is not None


class DirectSink:
    """Sends now, and remembers what it sent: once Redis is back, the runner marks those ids
    delivered in the outbox, so the shared evaluator's identical notification is skipped (a
    duplicate remains possible only when the two evaluators opened the incident on different
    windows)."""

    def __init__(self, ruleset: RuleSet, metrics: AlertMetrics, notification_metrics=None) -> None:
        self.ruleset = ruleset
        self.metrics = metrics
        self.notification_metrics = notification_metrics
        self.sent: list[tuple[str, list[str]]] = []

    async def put(self, notification: Notification, targets: list[str]) -> None:
        from alerts.notifiers import send_direct

        log.warning("Redis is down: sending %s directly (fail open)", notification.id)
        await send_direct(notification, targets, self.ruleset, metrics=self.notification_metrics)
        self.metrics.evaluations.labels(notification.rule, "fail_open").inc()
        self.sent.append((notification.id, targets))


class FailOpen:
    """The shared evaluator while Redis answers, the fallback (``new_fallback()``: an Evaluator
    over LocalWindows, MemoryStates and a DirectSink) while it does not."""

    def __init__(self, client: redis.Redis, publisher: SettledWindowPublisher,
                 evaluator: Evaluator, outbox: Outbox, new_fallback: Callable[[], Evaluator],
                 owned: Callable[[], Iterable[int]], metrics: AlertMetrics) -> None:
        self.client = client
        self.publisher = publisher
        self.evaluator = evaluator
        self.outbox = outbox
        self.new_fallback = new_fallback
        self.owned = owned
        self.metrics = metrics
        self.fallback = new_fallback()
        self.redis_down = False

    def seeded_fallback(self) -> Evaluator:
        """A fallback that starts where the shared evaluator left each rule it had judged up
        to the latest window; the others start from scratch."""
        fallback = self.new_fallback()
        seen = self.evaluator.states
        for rule in self.evaluator.up_to_date:
            if rule in seen.seen_states and rule in seen.seen_cursors:
                fallback.states.seed(rule, seen.seen_states[rule], seen.seen_cursors[rule])
        return fallback

    async def redis_is_back(self) -> None:
        """Mark what went out directly as delivered in the outbox, then forget the fallback's
        state: the next outage starts from what Redis knew, not from this one's leftovers."""
        log.warning("alerts: Redis is back; evaluating from the shared state again")
        for notification_id, targets in self.fallback.sink.sent:
            for target in targets:
                await self.client.set(self.outbox.keys(target).done_marker(notification_id),
                                      "sent directly while Redis was down", ex=REMEMBER_FOR)
        self.fallback = self.new_fallback()

    async def tick(self) -> None:
        operation = "publish"
        try:
            await self.publisher.publish(self.owned())
            if self.redis_down:
                operation = "recover"
                await self.redis_is_back()
                self.redis_down = False
            operation = "evaluate"
            await self.evaluator.evaluate()
        except (RedisError, OSError) as error:
            self.metrics.state_errors.labels(operation).inc()
            if not self.redis_down:
                log.error("alerts: Redis failed (%s: %s); failing open: judging from this "
                          "worker's table when it owns every partition, sending directly",
                          operation, error)
                self.fallback = self.seeded_fallback()
            self.redis_down = True
            if not await self.fallback.evaluate():
                log.debug("alerts: fallback judged nothing (owns %s)", sorted(self.owned()))
