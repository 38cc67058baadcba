"""The evaluator: judges every rule x dimension on each complete settled window, in window
order, and hands the notifications the state machine calls for to the outbox.

Why this shape:
- Settled windows only, shop-wide: a window is judged once every partition has settled past
  its end (alerts/window_store.py), so a value never changes after it was judged.
- Exactly once across workers: every worker runs an evaluator. A per-rule lock lets one of them
  work on a rule at a time (saves work), and each rule x dimension state is written by
  compare-and-set on the window it judged (alerts/state_store.py), which is what makes it
  exactly once even if a lock expires under a slow worker. The notification is put in the
  outbox *before* the state is saved, with an id derived from the incident and the kind, so a
  crash in between re-sends the same id (the outbox drops it) rather than losing it.
- The first time a rule is seen (no cursor) only the latest complete window is judged: a new
  rule or a fresh Redis must not page for history.
- Silences suppress notifications but not state; quiet hours defer notifications below the
  rule's ``quiet_hours.min_severity`` until they end (a firing still deferred when its
  incident resolves is dropped together with the resolved message).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from alerts.alert_metrics import AlertMetrics
from alerts.benchmarks import judge
from alerts.compose import compose
from alerts.kpi_values import Dimension, dimension_key
from alerts.notification import Notification
from alerts.publisher import settled_windows
from alerts.rules import Rule, RuleSet
from alerts.state_machine import AlertState, advance
from alerts.state_store import StateStore, incident_id
from alerts.window_store import WindowStore
from models.channels import Channel
from streams.windows import Window, window_of

log = logging.getLogger(__name__)

WEEK_MS = 7 * 24 * 3600 * 1000
MAX_WINDOWS_PER_RULE = 500


class Sink(Protocol):
    async def put(self, notification: Notification, targets: list[str]) -> None: ...


def in_quiet_hours(rule: Rule, now: datetime, tz: ZoneInfo) -> bool:
    return rule.quiet_hours is not None and rule.quiet_hours.hold(rule.severity, now, tz)


def week_ago_window(window: Window, tz: ZoneInfo) -> Window:
    # From the middle of the window, so a business day across a DST change maps to its day.
    return window_of(window.size, (window.start_ms + window.end_ms) // 2 - WEEK_MS, tz)


class Evaluator:
    def __init__(self, ruleset: RuleSet, windows: WindowStore, states: StateStore, sink: Sink,
                 *, tz: ZoneInfo, grafana_url: str, payment_methods: list[str],
                 metrics: AlertMetrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.ruleset = ruleset
        self.windows = windows
        self.states = states
        self.sink = sink
        self.tz = tz
        self.grafana_url = grafana_url
        self.payment_methods = [*payment_methods, "other"]
        self.metrics = metrics or AlertMetrics.create()
        self.clock = clock
        self.up_to_date: set[str] = set()  # rules this evaluator judged up to the last window

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def dimensions(self, rule: Rule) -> list[Dimension]:
        if rule.per == "channel":
            return [{**rule.where, "channel": str(c)} for c in Channel]
        if rule.per == "payment_method":
            return [{**rule.where, "payment_method": m} for m in self.payment_methods]
        return [dict(rule.where)]

    async def evaluate(self) -> int:
        """Judge every complete window not judged yet; returns how many windows were judged."""
        complete = await self.windows.complete_until()
        judged = 0
        self.up_to_date = set()
        for rule in self.ruleset.rules:
            if complete is not None and await self.states.lock(rule.name):
                try:
                    judged += await self.evaluate_rule(rule, complete)
                    self.up_to_date.add(rule.name)
                finally:
                    await self.states.unlock(rule.name)
            if rule.quiet_hours is not None:
                await self.flush_deferred(rule)
        return judged

    async def evaluate_rule(self, rule: Rule, complete_until: int) -> int:
        cursor = await self.states.cursor(rule.name)
        limit = MAX_WINDOWS_PER_RULE if cursor is not None else 1
        todo = settled_windows(rule.window, complete_until, cursor, self.tz, limit)
        for window in todo:
            await self.judge_window(rule, window)
            await self.states.set_cursor(rule.name, window.end_ms)
        return len(todo)

    async def judge_window(self, rule: Rule, window: Window) -> None:
        values = await self.windows.values(window.size, window.start_ms) or Counter()
        week_ago = await self.windows.values(window.size, week_ago_window(window, self.tz).start_ms)
        trailing: list[Counter] = []
        if rule.benchmark.type == "trailing":
            starts, previous = [], window
            for _ in range(rule.benchmark.windows):
                previous = window_of(window.size, previous.start_ms - 1, self.tz)
                starts.append(previous.start_ms)
            trailing = [v for v in await self.windows.values_many(window.size, starts) if v]
        states = await self.states.states(rule.name)
        active = Counter()
        for dimension in self.dimensions(rule):
            key = dimension_key(dimension)
            state = states.get(key, AlertState())
            if state.last_window >= window.start_ms:
                active[state.status] += 1
                continue  # another evaluator judged it already
            judgement = judge(rule, window, dimension, values, week_ago, trailing)
            self.metrics.evaluations.labels(rule.name, judgement.reason).inc()
            start = state.incident_start
            incident = incident_id(rule.name, key, start) if start is not None else None
            acked = state.status == "firing" and await self.states.acknowledged(incident)
            new, kind = advance(rule, state, judgement, acked)
            active[new.status] += 1
            if new.incident_start is not None:
                incident = incident_id(rule.name, key, new.incident_start)
            if kind is None and new.status in ("inactive", "resolved") \
                    and new == replace(state, last_window=new.last_window):
                continue  # nothing happened: no write, re-judging it is harmless
            delivery = None
            if kind is not None:
                notification = compose(rule, kind, judgement, incident, new.reminders,
                                       new.incident_start or window.start_ms, values, week_ago,
                                       self.grafana_url, self.now())
                delivery = await self.deliver(rule, key, notification)
            if not await self.states.save_state(rule.name, key, new):
                continue
            if kind is not None or new.status != state.status:
                event = {"at_ms": int(self.clock() * 1000),
                         "event": (kind or new.status) if new.status != "inactive" else "cleared",
                         "window_start": window.start_ms, "window_end": window.end_ms,
                         "value": judgement.value, "benchmark": judgement.threshold,
                         "week_ago": judgement.week_ago}
                if delivery:
                    event["notification"] = {"id": notification.id, "delivery": delivery}
                fields = {"rule": rule.name, "dimension": key, "status": new.status,
                          "severity": rule.severity, "kpi": rule.kpi,
                          "last_window_end": window.end_ms, "value": judgement.value,
                          "benchmark": judgement.threshold}
                if delivery:
                    fields["last_notification"] = f"{notification.id} ({delivery})"
                await self.states.record(incident, fields, event)
                log.info("alert %s %s: %s (window %s)", rule.name, key, event["event"],
                         notification.summary if delivery else window)
        for status in ("pending", "firing"):
            self.metrics.active.labels(rule.name, status).set(active[status])

    async def deliver(self, rule: Rule, key: str, notification: Notification) -> str:
        """Where the notification went: outbox, silenced, deferred or dropped (quiet hours)."""
        if await self.states.silenced(rule.name, key):
            return "silenced"
        if in_quiet_hours(rule, self.now(), self.tz):
            if notification.kind == "resolved":
                firing = notification.id.replace(":resolved:", ":firing:")
                if await self.states.drop_deferred(rule.name, firing):
                    return "dropped"  # nobody was told it fired: no need to say it resolved
            await self.states.defer(rule.name, notification)
            return "deferred"
        await self.sink.put(notification, list(rule.targets))
        return "outbox"

    async def flush_deferred(self, rule: Rule) -> None:
        if in_quiet_hours(rule, self.now(), self.tz):
            return
        for notification_id, notification in sorted((await self.states.deferred(rule.name)).items(),
                                                    key=lambda item: item[1].window_end):
            await self.sink.put(notification, list(rule.targets))
            await self.states.drop_deferred(rule.name, notification_id)
