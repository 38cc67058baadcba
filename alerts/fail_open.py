"""When Redis is down, alerts still go out: the same evaluator over local stand-ins.

- ``LocalWindows`` reads settled windows straight from this worker's KPI table. It can only
  see the whole shop when this worker owns every partition (one worker, or the survivor), so
  the fallback judges only then; otherwise it waits for Redis and says so in the log.
- ``MemoryStates`` keeps alert state in this process, from the moment Redis went away.
- ``DirectSink`` delivers with ``send_direct`` (no outbox).
Redis holds no trace of what was judged meanwhile, so once it is back the shared evaluator
judges those windows again: a notification sent directly can go out once more (at most one
duplicate per notification). Each direct send is counted as
``kpiwatch_alert_evaluations_total{outcome="fail_open"}``, each Redis error as
``kpiwatch_alert_state_errors_total``, and both are logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from alerts.alert_metrics import AlertMetrics
from alerts.notification import Notification
from alerts.publisher import settled_until
from alerts.rules import RuleSet
from alerts.state_machine import AlertState
from streams.kpis.readout import stored_values
from streams.kpis.working_set import aggregate_key
from streams.windows import Window

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

    async def lock(self, rule: str, seconds: float = 30.0) -> bool:
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
