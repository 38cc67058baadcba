"""SMART goals as data: a KPI, a target, a period or a deadline; and whether the shop is on
track (alerts/goals.yaml, or KPIWATCH_GOALS_FILE).

    goals:
      - name: december_revenue
        kpi: revenue
        target: 250000
        period: month            # day, week, month, quarter: the one containing today
      - name: paid_search_roas
        kpi: roas
        channel: paid_search
        target: 3
        start: 2026-12-01        # or a span of your own, both dates inclusive
        deadline: 2026-12-31

A goal can alert (``alert:``) when it turns at risk, is missed or achieved, and when it is
back on track; a ``digest:`` posts every goal's progress once a day (alerts/goal_watch.py):

    digest: {at: "09:00", targets: [default], quiet_hours: {start: "22:00", end: "07:00"}}
    goals:
      - name: paid_search_conversion_today
        kpi: conversion_rate
        channel: paid_search
        target: 0.015
        period: day
        alert: {severity: warning, min_volume: {sessions: 500}}

A goal on a count or an amount (revenue, orders, new customers, ...) is judged against a
straight path from 0 at the start to the target at the deadline: on track while the value so
far is at least the path's value now (less ``tolerance``), at risk below it. A goal on a rate
or a ratio (conversion rate, ROAS, CAC, ...) is judged on the value over the period so far
against the target itself. Once the value meets the target of a count goal it is achieved;
at the deadline every goal is achieved or missed. ``direction: at_most`` turns it round (a
spend budget, a CAC ceiling).

Values come from the settled windows of the workers' tables, summed over the period (the same
counts as ``kpiwatch kpis``), so a goal's progress equals a recomputation from the events.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.rules import MinVolume, QuietHours, RuleSet, describe_rule_errors, read_yaml
from models.channels import Channel
from streams.kpis.readout import Values, derived

DEFAULT_GOALS_PATH = Path(__file__).resolve().parent / "goals.yaml"

# What a goal can be set on (keys of streams.kpis.readout.derived): "sum" KPIs grow over the
# period, "level" KPIs are judged as they stand.
GOAL_KPIS: dict[str, str] = {
    "sessions": "sum", "orders": "sum", "revenue": "sum", "new_customers": "sum",
    "ad_spend": "sum", "abandoned_carts": "sum", "ordered_carts": "sum",
    "conversion_rate": "level", "add_to_cart_rate": "level", "average_order_value": "level",
    "cart_abandonment_rate": "level", "roas": "level", "cac": "level", "cpa": "level",
    "gross_margin": "level", "bounce_rate": "level",
    # The user journey's are the whole shop's (no channel).
    "activations": "sum", "referred_signups": "sum", "invites_sent": "sum",
    "nps": "level", "csat": "level", "activation_rate": "level", "virality": "level",
    "referred_conversion": "level",
}
SHOP_WIDE_KPIS = frozenset({"activations", "referred_signups", "invites_sent", "nps", "csat",
                            "activation_rate", "virality", "referred_conversion"})
STATUSES = ("on_track", "at_risk", "achieved", "missed", "not_started", "no_data")

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class GoalAlert(BaseModel):
    """Slack (or any target of the rules file) hears when the goal turns at risk, is missed or
    achieved, and when it is back on track. Below ``min_volume`` (the sessions, orders or
    survey answers behind the value so far) the goal is not judged: 0 orders of 10 sessions
    at 8 a.m. is no news."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: Literal["info", "warning", "critical"] = "warning"
    targets: list[str] = Field(default_factory=lambda: ["default"])
    min_volume: MinVolume = MinVolume()
    quiet_hours: QuietHours | None = None
    runbook_url: str = ""
    dashboard: str = Field("kpiwatch-journey", pattern=r"^[a-z0-9-]+$")


class Digest(BaseModel):
    """Every goal's progress in one message, once a day at ``at`` (business time zone), or
    as soon as the quiet hours end when ``at`` falls inside them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: time = time(9, 0)
    targets: list[str] = Field(default_factory=lambda: ["default"])
    quiet_hours: QuietHours | None = None


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    description: str = ""
    kpi: str
    target: float = Field(allow_inf_nan=False)
    direction: Literal["at_least", "at_most"] = "at_least"
    channel: Channel | None = None
    period: Literal["day", "week", "month", "quarter"] | None = None
    start: date | None = None
    deadline: date | None = None
    # How far behind the path (a share of it) still counts as on track: 0.05 = 5 % behind.
    tolerance: float = Field(0.0, ge=0, lt=1)
    alert: GoalAlert | None = None

    @model_validator(mode="after")
    def _span(self) -> Goal:
        if self.kpi not in GOAL_KPIS:
            raise ValueError(f"kpi: unknown {self.kpi!r}; a goal can be set on: "
                             f"{', '.join(GOAL_KPIS)}")
        if self.channel is not None and self.kpi in SHOP_WIDE_KPIS:
            raise ValueError(f"channel: {self.kpi} is the whole shop's (users and their answers "
                             "have no channel); remove channel")
        if (self.period is None) == (self.start is None and self.deadline is None):
            raise ValueError("give either period (day, week, month, quarter) or start and "
                             "deadline (dates, both inclusive)")
        if self.period is None and (self.start is None or self.deadline is None):
            raise ValueError("give both start and deadline")
        if self.start is not None and self.deadline is not None and self.deadline < self.start:
            raise ValueError("deadline is before start")
        return self

    def span(self, today: date) -> tuple[date, date]:
        """The first and last day (inclusive) of the goal, its period's around ``today``."""
        if self.period is None:
            return self.start, self.deadline  # type: ignore[return-value]
        if self.period == "day":
            return today, today
        if self.period == "week":
            first = today - timedelta(days=today.weekday())
            return first, first + timedelta(days=6)
        month = today.month if self.period == "month" else 3 * ((today.month - 1) // 3) + 1
        first = today.replace(month=month, day=1)
        months = 1 if self.period == "month" else 3
        following = date(first.year + (first.month + months - 1) // 12,
                         (first.month + months - 1) % 12 + 1, 1)
        return first, following - timedelta(days=1)


class GoalSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    goals: list[Goal] = Field(default_factory=list)
    digest: Digest | None = None

    @model_validator(mode="after")
    def _unique(self) -> GoalSet:
        names = [g.name for g in self.goals]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"goal {name!r} is defined twice")
        return self


class GoalsError(SystemExit):
    """The goals file is wrong: the message names the file, the goal and the field."""


def check_targets(goal_set: GoalSet, ruleset: RuleSet, path: Path | str) -> None:
    """Alerts and the digest go to the rules file's targets: a name it does not define, or a
    digest for Alertmanager (it takes alerts, not reports), stops startup."""
    for goal in goal_set.goals:
        for target in goal.alert.targets if goal.alert else ():
            if target not in ruleset.targets:
                raise GoalsError(f"{path}: goal {goal.name!r}: alert.targets: {target!r} is not "
                                 f"a target of the rules file ({', '.join(ruleset.targets)})")
    for target in goal_set.digest.targets if goal_set.digest else ():
        if target not in ruleset.targets:
            raise GoalsError(f"{path}: digest.targets: {target!r} is not a target of the rules "
                             f"file ({', '.join(ruleset.targets)})")
        if ruleset.targets[target].type == "alertmanager":
            raise GoalsError(f"{path}: digest.targets: {target!r} is an Alertmanager, which "
                             "takes alerts, not reports; send the digest to a slack, webhook "
                             "or console target")


def goals_path() -> Path:
    return Path(os.environ.get("KPIWATCH_GOALS_FILE") or DEFAULT_GOALS_PATH)


def load_goals(path: Path | str | None = None) -> GoalSet:
    path = Path(path) if path else goals_path()
    raw = read_yaml(path, "goals", "KPIWATCH_GOALS_FILE", GoalsError) or {}
    try:
        return GoalSet.model_validate(raw)
    except ValidationError as error:
        raise GoalsError(describe_rule_errors(path, raw, error, key="goals", noun="goal",
                                              what="goals") + "\n  schema: alerts/goals.py"
                         ) from None


@dataclass(frozen=True)
class Progress:
    goal: str
    kpi: str
    channel: str | None
    start: str  # ISO dates, inclusive
    deadline: str
    value: float | None
    expected: float  # where the path is now (the target, for a level KPI)
    target: float
    status: str
    covered_until: str | None  # the end of the data the value covers (settled windows)

    def as_dict(self) -> dict:
        return asdict(self)


def day_start_ms(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


# (window start ms, end ms, missing: not settled on every partition, values)
Span = tuple[int, int, bool, Counter]
Fetch = Callable[[str, int, int], Awaitable[Sequence[Span]]]  # (size, from ms, to ms)


async def values_so_far(goal: Goal, now_ms: int, fetch: Fetch, tz: ZoneInfo,
                        sizes: Sequence[str] = ("1d", "1h"), *, day: date | None = None
                        ) -> tuple[date, date, Counter, int]:
    """The goal's span around ``now_ms`` (or around ``day``: a period that has ended), its
    values summed from its start and how far they cover: whole days first, then the largest
    windows settled since, each only while every partition has settled it (a gap stops the
    sum there)."""
    first, last = goal.span(day or datetime.fromtimestamp(now_ms / 1000, tz).date())
    start_ms = day_start_ms(first, tz)
    end_ms = day_start_ms(last + timedelta(days=1), tz)
    until = end_ms if day is not None else min(end_ms, now_ms)
    values: Counter = Counter()
    covered = start_ms
    if start_ms < until:
        for size in sizes:
            for window_start, window_end, missing, window_values in await fetch(
                    size, covered, until):
                if missing or window_start != covered:
                    break
                values.update(window_values)
                covered = window_end
    return first, last, values, covered


async def progress_of(goal: Goal, now_ms: int, fetch: Fetch, tz: ZoneInfo,
                      sizes: Sequence[str] = ("1d", "1h")) -> Progress:
    first, last, values, covered = await values_so_far(goal, now_ms, fetch, tz, sizes)
    return judge(goal, first, last, values, covered, tz)


def judge(goal: Goal, first: date, last: date, values: Values, covered_ms: int | None,
          tz: ZoneInfo) -> Progress:
    """A goal's progress from the values summed over its span up to ``covered_ms``."""
    start_ms = day_start_ms(first, tz)
    end_ms = day_start_ms(last + timedelta(days=1), tz)
    kind = GOAL_KPIS[goal.kpi]
    covered = None if covered_ms is None else min(max(covered_ms, start_ms), end_ms)
    value = derived(values, str(goal.channel) if goal.channel else None).get(goal.kpi)
    value = None if value is None else float(value)
    if kind == "sum":
        share = 0.0 if covered is None else (covered - start_ms) / (end_ms - start_ms)
        expected = goal.target * share
    else:
        expected = goal.target
    status = _status(goal, kind, value, expected, covered, start_ms, end_ms)
    return Progress(goal.name, goal.kpi, str(goal.channel) if goal.channel else None,
                    first.isoformat(), last.isoformat(), value, expected, goal.target, status,
                    None if covered is None else datetime.fromtimestamp(
                        covered / 1000, tz).isoformat())


def _status(goal: Goal, kind: str, value: float | None, expected: float, covered: int | None,
            start_ms: int, end_ms: int) -> str:
    if covered is None or covered <= start_ms:
        return "not_started"
    if value is None:
        return "no_data"
    at_least = goal.direction == "at_least"
    meets = value >= goal.target if at_least else value <= goal.target
    if covered >= end_ms:
        return "achieved" if meets else "missed"
    if kind == "sum" and at_least and meets:
        return "achieved"  # (a count only grows)
    if kind == "sum" and not at_least and not meets:
        return "missed"  # (a budget overrun stays overrun)
    slack = goal.tolerance * abs(expected)
    on_path = value >= expected - slack if at_least else value <= expected + slack
    return "on_track" if on_path else "at_risk"


__all__ = ["GOAL_KPIS", "Digest", "Goal", "GoalAlert", "GoalSet", "GoalsError", "Progress",
           "check_targets", "judge", "load_goals", "progress_of", "values_so_far"]
