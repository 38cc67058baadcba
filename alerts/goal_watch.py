"""Goals, watched inside every worker: progress gauges, goal alerts and the daily digest.

Runs on the alert timer after the evaluator (alerts/runner.py), whenever more windows have
become complete shop-wide. A goal's value is summed from the settled windows in Redis
(alerts/window_store.py): whole days, then hours, then the rules' shorter windows, up to
where every partition has settled, so it equals a recomputation from the events and every
worker exports the same figure (dashboards take ``max by (goal)``).

Why the alert side is shaped this way:
- Once across workers: one worker at a time (the ``goals`` lock of the state store) compares
  each goal's status with the last one it recorded (``<prefix>goals:notified``, goal -> span,
  status, count) and records the new one after putting the notification in the outbox. The
  notification's id carries the count, so a crash in between re-sends the same id (the
  outbox drops it) rather than losing the message or sending it twice.
- What is news: turning at risk, missed or achieved, and being back on track after at risk.
  A new span (tomorrow, next month) starts afresh.
- Below the alert's ``min_volume``, or inside its quiet hours, a status is not recorded: it
  is announced once the volume is there or the quiet hours end, if it still holds.
- The digest goes out once per business day (``<prefix>goals:digest`` holds the last date).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import orjson
import redis.asyncio as redis

from alerts.alert_metrics import GoalMetrics
from alerts.evaluator import Sink
from alerts.goals import (
    GOAL_KPIS,
    STATUSES,
    Goal,
    GoalSet,
    Progress,
    Span,
    day_start_ms,
    judge,
    values_so_far,
)
from alerts.kpi_values import format_kpi, volume
from alerts.notification import Kind, Notification
from alerts.publisher import settled_windows
from alerts.state_store import StateStore
from alerts.window_store import WindowStore, key_prefix
from streams.windows import iso

log = logging.getLogger(__name__)

# Recompute at least this often even when nothing settled: a new day, the digest's hour.
REFRESH_MS = 60_000
MAX_WINDOWS_PER_SIZE = 400  # a quarter of days; a day of hours; an hour of minutes
DAY_MS = 86_400_000
SIZE_MS = {"1h": 3_600_000, "15m": 900_000, "5m": 300_000, "1m": 60_000}
NEWS = {"at_risk": "firing", "missed": "firing", "achieved": "resolved"}


def watched_sizes(rule_windows: Sequence[str]) -> tuple[str, ...]:
    """Days, hours, then the rules' shorter windows, largest first: the walk from a goal's
    start to the last settled minute."""
    shorter = sorted((w for w in set(rule_windows) if w in ("1m", "5m", "15m")),
                     key=lambda w: -int(w[:-1]))
    return ("1d", "1h", *shorter)


class GoalWatcher:
    def __init__(self, goal_set: GoalSet, windows: WindowStore, states: StateStore, sink: Sink,
                 *, tz: ZoneInfo, sizes: Sequence[str], grafana_url: str, app_id: str,
                 metrics: GoalMetrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.goal_set = goal_set
        self.windows = windows
        self.states = states
        self.client: redis.Redis = states.client
        self.sink = sink
        self.tz = tz
        self.sizes = tuple(sizes)
        self.grafana_url = grafana_url.rstrip("/")
        self.prefix = key_prefix(app_id)
        self.metrics = metrics or GoalMetrics.create()
        self.clock = clock
        self.last: tuple[int, int] | None = None  # (complete_until, when) of the last pass

    async def tick(self) -> list[Progress]:
        """Recompute when more windows are complete (or a minute went by); [] otherwise."""
        if not self.goal_set.goals and self.goal_set.digest is None:
            return []
        now_ms = int(self.clock() * 1000)
        complete = await self.windows.complete_until()
        if complete is None:
            return []
        if self.last is not None and self.last[0] == complete \
                and now_ms - self.last[1] < REFRESH_MS:
            return []
        self.last = (complete, now_ms)
        judged = []
        for goal in self.goal_set.goals:
            first, last, values, covered = await values_so_far(
                goal, now_ms, self.fetcher(complete), self.tz, self.sizes)
            judged.append((goal, judge(goal, first, last, values, covered, self.tz), values))
        for goal, progress, _ in judged:
            self.export(goal, progress)
        if await self.states.lock("goals"):
            try:
                await self.announce(judged, now_ms, complete)
                await self.digest([p for _, p, _ in judged], now_ms)
            finally:
                await self.states.unlock("goals")
        return [p for _, p, _ in judged]

    def fetcher(self, complete: int):
        async def fetch(size: str, from_ms: int, to_ms: int) -> list[Span]:
            # Only windows settled on every partition. One that no partition published had no
            # events (the publisher writes every settled window, empty or not), except a day
            # that settled before goals were configured (days are published only then): the
            # walk reads that day's hours instead.
            # The first MAX_WINDOWS_PER_SIZE from from_ms (settled_windows keeps the latest).
            until = min(to_ms, complete, from_ms + MAX_WINDOWS_PER_SIZE * SIZE_MS.get(size, DAY_MS))
            found = settled_windows(size, until, from_ms, self.tz, MAX_WINDOWS_PER_SIZE)
            values = await self.windows.values_many(size, [w.start_ms for w in found])
            return [(w.start_ms, w.end_ms, v is None and size == "1d", v or Counter())
                    for w, v in zip(found, values, strict=True)]
        return fetch

    def export(self, goal: Goal, progress: Progress) -> None:
        labels = (goal.name, goal.kpi)
        if progress.value is None:
            try:
                self.metrics.value.remove(*labels)
            except KeyError:
                pass
        else:
            self.metrics.value.labels(*labels).set(progress.value)
        self.metrics.expected.labels(*labels).set(progress.expected)
        self.metrics.target.labels(*labels).set(progress.target)
        for status in STATUSES:
            self.metrics.status.labels(*labels, status).set(int(status == progress.status))

    async def announce(self, judged: list[tuple[Goal, Progress, Counter]], now_ms: int,
                       complete: int) -> None:
        recorded = await recorded_statuses(self.client, self.prefix)
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        for goal, progress, values in judged:
            if goal.alert is None:
                continue
            before = recorded.get(goal.name, {})
            if goal.period and before.get("span") not in (None, progress.start) \
                    and before.get("status") not in ("achieved", "missed"):
                # A period's last windows settle after it ended, when "today" is already the
                # next one's: say how the one that ended finished, then start the new one.
                first, last, old_values, covered = await values_so_far(
                    goal, now_ms, self.fetcher(complete), self.tz, self.sizes,
                    day=date.fromisoformat(before["span"]))
                ended = judge(goal, first, last, old_values, covered, self.tz)
                if ended.status not in ("achieved", "missed"):
                    continue  # not settled to its end yet
                outcome, before = await self.consider(goal, ended, old_values, before, now)
                if outcome == "quiet":
                    continue
            await self.consider(goal, progress, values, before, now)

    async def consider(self, goal: Goal, progress: Progress, values: Counter, before: dict,
                       now: datetime) -> tuple[str, dict]:
        """Announce the goal's status if it is news, and record it; returns what happened
        (quiet, low_volume, not_judged, unchanged, recorded) and the state recorded now."""
        alert = goal.alert
        assert alert is not None
        if progress.status in ("not_started", "no_data"):
            return "not_judged", before
        have = volume(values, {"channel": str(goal.channel)} if goal.channel else {})
        responses = have["csat_responses" if goal.kpi == "csat" else "nps_responses"]
        if (have["sessions"] < alert.min_volume.sessions
                or have["orders"] < alert.min_volume.orders
                or responses < alert.min_volume.responses):
            return "low_volume", before
        if alert.quiet_hours is not None and alert.quiet_hours.hold(alert.severity, now, self.tz):
            return "quiet", before
        same_span = before.get("span") == progress.start
        was = before.get("status") if same_span else None
        if progress.status == was:
            return "unchanged", before
        count = before.get("count", 0) + 1 if same_span else 1
        kind = NEWS.get(progress.status)
        if progress.status == "on_track" and was == "at_risk":
            kind = "resolved"
        if kind is not None:
            notification = self.compose(goal, progress, kind, count, now)
            await self.sink.put(notification, list(alert.targets))
            log.info("goal %s: %s (%s)", goal.name, progress.status, notification.summary)
        state = {"span": progress.start, "status": progress.status, "count": count,
                 "kpi": goal.kpi, "channel": progress.channel, "value": progress.value,
                 "since": now.isoformat()}
        await self.client.hset(f"{self.prefix}goals:notified", goal.name, orjson.dumps(state))
        return "recorded", state

    def compose(self, goal: Goal, p: Progress, kind: Kind, count: int,
                now: datetime) -> Notification:
        assert goal.alert is not None
        where = f" for {p.channel}" if p.channel else ""
        value, expected = format_kpi(goal.kpi, p.value), format_kpi(goal.kpi, p.expected)
        target = format_kpi(goal.kpi, p.target)
        path = "goal path" if GOAL_KPIS[goal.kpi] == "sum" else "goal"
        words = {"at_risk": f"at risk: {value}, {expected} expected by now",
                 "missed": f"missed: {value} against {target}",
                 "achieved": f"achieved: {value} against {target}",
                 "on_track": f"back on track: {value}, {expected} expected by now"}
        start_ms = day_start_ms(date.fromisoformat(p.start), self.tz)
        covered_ms = (int(datetime.fromisoformat(p.covered_until).timestamp() * 1000)
                      if p.covered_until else start_ms)
        incident = f"goal:{goal.name}|{start_ms}"
        dimension = {"channel": p.channel} if p.channel else {}
        url = f"{self.grafana_url}/d/{goal.alert.dashboard}?from={start_ms}&to={covered_ms}"
        return Notification(
            id=f"{incident}:{kind}:{count}", incident_id=incident, kind=kind,
            rule=f"goal:{goal.name}", severity=goal.alert.severity, kpi=goal.kpi,
            dimension=dimension, value=p.value, benchmark=p.expected,
            condition="below" if goal.direction == "at_least" else "above", week_ago=None,
            window_size=goal.period or "span", window_start=iso(start_ms),
            window_end=iso(covered_ms),
            summary=f"Goal {goal.name} ({goal.kpi}{where}) {words[p.status]}",
            runbook_url=goal.alert.runbook_url, dashboard_url=url,
            created_at=now.isoformat().replace("+00:00", "Z"), subject=path,
            details=[f"target {target} by {p.deadline} ({goal.direction.replace('_', ' ')})",
                     f"status {p.status.replace('_', ' ')}, data up to {p.covered_until}"])

    async def digest(self, progress: list[Progress], now_ms: int) -> None:
        digest = self.goal_set.digest
        if digest is None:
            return
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        local = now.astimezone(self.tz)
        if local.time() < digest.at or (digest.quiet_hours is not None
                                        and digest.quiet_hours.hold("info", now, self.tz)):
            return
        key = f"{self.prefix}goals:digest"
        today = local.date().isoformat()
        sent = await self.client.get(key)
        if sent is not None and (sent.decode() if isinstance(sent, bytes) else sent) >= today:
            return
        lines = [digest_line(p) for p in progress]
        notification = Notification(
            id=f"goals-digest|{today}:digest:0", incident_id=f"goals-digest|{today}",
            kind="digest", rule="goals-digest", severity="info", kpi="goals", dimension={},
            value=None, benchmark=None, condition="", week_ago=None, window_size="1d",
            window_start=iso(now_ms), window_end=iso(now_ms),
            summary=f"Goals: progress on {today}",
            dashboard_url=f"{self.grafana_url}/d/kpiwatch-journey",
            created_at=now.isoformat().replace("+00:00", "Z"), details=lines)
        await self.sink.put(notification, list(digest.targets))
        await self.client.set(key, today)
        log.info("goals: digest for %s sent (%d goals)", today, len(lines))


def digest_line(p: Progress) -> str:
    where = f" ({p.channel})" if p.channel else ""
    return (f"{p.goal}: {p.kpi}{where} {format_kpi(p.kpi, p.value)} of "
            f"{format_kpi(p.kpi, p.target)} by {p.deadline}, {format_kpi(p.kpi, p.expected)} "
            f"expected by now: {p.status.replace('_', ' ')}")


async def recorded_statuses(client: redis.Redis, prefix: str) -> dict[str, dict]:
    """Goal -> the status last announced (or recorded) for it: span, status, count, kpi,
    channel, value, since."""
    return {k.decode() if isinstance(k, bytes) else k: orjson.loads(v)
            for k, v in (await client.hgetall(f"{prefix}goals:notified")).items()}


async def goal_alerts(client: redis.Redis, app_id: str) -> list[dict]:
    """Goals at risk or missed, shaped as `kpiwatch alerts list` rows (rule ``goal:<name>``)."""
    out = []
    for name, state in sorted((await recorded_statuses(client, key_prefix(app_id))).items()):
        if state["status"] in ("at_risk", "missed"):
            out.append({"rule": f"goal:{name}", "status": "firing",
                        "dimension": {"channel": state["channel"]} if state.get("channel")
                        else {}, "incident": f"goal:{name}|{state['span']}",
                        "since": state.get("since", ""), "value": state.get("value"),
                        "benchmark": None, "goal_status": state["status"]})
    return out
