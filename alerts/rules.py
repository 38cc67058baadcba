"""Alert rules as data: one validated YAML file (``alerts/rules.yaml`` by default).

The same file is the single source of every benchmark: the evaluator judges settled windows
with it, ``prometheus/rules/alerts.yml`` is generated from it, and the Grafana threshold lines
are drawn from it. A bad file stops startup with a message naming the rule and the field.

A rule says: this KPI, over these windows, for this dimension, must not be below (or above)
its benchmark; judge it only when the window has enough volume; fire after ``for_windows``
consecutive settled windows; recover with hysteresis.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from models.channels import Channel

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "rules.yaml"

# What a rule can judge: the KPI name (a key of streams.kpis.readout.derived, or a raw
# window count) -> the dimensions it can be broken down by, and the volume it is made of.
KPIS: dict[str, dict] = {
    "conversion_rate": {"dimensions": ("channel",), "kind": "ratio"},
    "add_to_cart_rate": {"dimensions": ("channel",), "kind": "ratio"},
    "bounce_rate": {"dimensions": ("channel",), "kind": "ratio"},
    "cart_abandonment_rate": {"dimensions": ("channel",), "kind": "ratio"},
    "payment_failure_rate": {"dimensions": ("payment_method",), "kind": "ratio"},
    "checkout_p95_seconds": {"dimensions": (), "kind": "seconds"},
    "average_order_value": {"dimensions": ("channel",), "kind": "amount"},
    "sessions": {"dimensions": ("channel",), "kind": "count"},
    "orders": {"dimensions": ("channel",), "kind": "count"},
    "revenue": {"dimensions": ("channel",), "kind": "amount"},
    "users": {"dimensions": (), "kind": "count"},
    # Acquisition and economics (streams/kpis/readout.py ``economics``): spend comes from the
    # spend rows; a window without spend has no ROAS, CAC, CPA or cost per session to judge.
    "ad_spend": {"dimensions": ("channel",), "kind": "amount"},
    "roas": {"dimensions": ("channel",), "kind": "multiple"},
    "cac": {"dimensions": ("channel",), "kind": "amount"},
    "cpa": {"dimensions": ("channel",), "kind": "amount"},
    "ctr": {"dimensions": ("channel",), "kind": "ratio"},
    "cost_per_session": {"dimensions": ("channel",), "kind": "amount"},
    "gross_margin": {"dimensions": ("channel",), "kind": "ratio"},
    # The user journey (streams/kpis/readout.py ``journey``): the whole shop's.
    "nps": {"dimensions": (), "kind": "score"},
    "csat": {"dimensions": (), "kind": "ratio"},
    "activation_rate": {"dimensions": (), "kind": "ratio"},
    "churn_rate": {"dimensions": (), "kind": "ratio"},
}
# 1m is for demos and tests: real shops rarely have the volume to judge a minute.
WINDOWS = ("1m", "5m", "15m", "1h", "1d")
SEVERITIES = ("info", "warning", "critical")

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StaticBenchmark(_Strict):
    """A fixed threshold, e.g. conversion rate 0.03."""

    type: Literal["static"] = "static"
    value: float


class WeekAgoBenchmark(_Strict):
    """Relative to the same window one week earlier: ``change`` -0.30 means "30 % below"."""

    type: Literal["week_ago"]
    change: float = Field(gt=-1, lt=10)


class TrailingBenchmark(_Strict):
    """``stddevs`` standard deviations from the mean of the trailing ``windows`` windows, or
    ``change`` relative to that mean (0.5: 50 % above it)."""

    type: Literal["trailing"]
    windows: int = Field(ge=3, le=1000)
    stddevs: float | None = Field(None, gt=0, le=10)
    change: float | None = Field(None, gt=-1, lt=10)

    @model_validator(mode="after")
    def _one_kind(self) -> TrailingBenchmark:
        if (self.stddevs is None) == (self.change is None):
            raise ValueError("give either stddevs (e.g. 3) or change (e.g. 0.5: 50 % above the "
                             "trailing mean), not both or neither")
        return self


Benchmark = Annotated[StaticBenchmark | WeekAgoBenchmark | TrailingBenchmark,
                      Field(discriminator="type")]


class MinVolume(_Strict):
    """Below this volume the window is not judged: 0 orders out of 4 sessions is no incident."""

    sessions: int = Field(0, ge=0)
    orders: int = Field(0, ge=0)
    # Survey answers behind an nps or csat reading: a score of 5 answers says little.
    responses: int = Field(0, ge=0)


class Recovery(_Strict):
    """Hysteresis: a firing alert resolves only once the KPI is back past ``threshold`` (a KPI
    value for a static benchmark; for a relative one, a multiple of what it is relative to:
    0.9 = back within 10 % of the week-ago value or the trailing mean), and stays firing for
    at least ``keep_firing_for`` settled windows after the condition last held."""

    threshold: float | None = None
    keep_firing_for: int = Field(0, ge=0, le=100)


class QuietHours(_Strict):
    """Notifications below ``min_severity`` wait until the quiet hours end (business time zone)."""

    start: time
    end: time
    min_severity: Literal["info", "warning", "critical"] = "critical"

    def hold(self, severity: str, now: datetime, tz: ZoneInfo) -> bool:
        """Whether a message of ``severity`` waits at ``now``."""
        if SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity):
            return False
        local = now.astimezone(tz).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Target(_Strict):
    """Where notifications go. Secrets come from the environment, never from this file."""

    type: Literal["slack", "webhook", "alertmanager", "console"]
    url_env: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]*$")
    url: str | None = None  # for non-secret endpoints (a local Alertmanager, say)

    def resolved_url(self) -> str | None:
        if self.url_env and os.environ.get(self.url_env):
            return os.environ[self.url_env]
        return self.url


class Rule(_Strict):
    name: Name
    description: str = ""
    kpi: str
    condition: Literal["below", "above"]
    benchmark: Benchmark
    window: Literal["1m", "5m", "15m", "1h", "1d"] = "15m"
    # Judge one dimension value only (e.g. {"channel": "paid_search"}) ...
    where: dict[str, str] = Field(default_factory=dict)
    # ... or each value of a dimension separately (e.g. "channel"), or the whole shop (None).
    per: Literal["channel", "payment_method"] | None = None
    min_volume: MinVolume = MinVolume()
    for_windows: int = Field(1, ge=1, le=100, alias="for")
    recovery: Recovery = Recovery()
    severity: Literal["info", "warning", "critical"] = "warning"
    targets: list[str] = Field(default_factory=lambda: ["default"])
    renotify_every: int = Field(0, ge=0, description="settled windows between reminders; 0 = never")
    runbook_url: str = ""
    dashboard: str = Field("kpiwatch-overview", pattern=r"^[a-z0-9-]+$")  # a dashboard uid
    quiet_hours: QuietHours | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, kpi: str) -> str:
        if kpi not in KPIS:
            raise ValueError(f"unknown KPI {kpi!r}; one of: {', '.join(KPIS)}")
        return kpi

    @model_validator(mode="after")
    def _dimensions_fit(self) -> Rule:
        allowed = KPIS[self.kpi]["dimensions"]
        for dimension, value in self.where.items():
            if dimension not in allowed:
                raise ValueError(f"where: {self.kpi} cannot be filtered by {dimension!r}"
                                 f" (it can by: {', '.join(allowed) or 'nothing'})")
            if dimension == "channel" and value not in set(Channel):
                raise ValueError(f"where: unknown channel {value!r}; one of: "
                                 f"{', '.join(Channel)}")
        if self.per is not None and self.per not in allowed:
            raise ValueError(f"per: {self.kpi} cannot be broken down by {self.per!r}"
                             f" (it can by: {', '.join(allowed) or 'nothing'})")
        if self.per is not None and self.per in self.where:
            raise ValueError(f"per and where both name {self.per!r}: use one")
        if self.min_volume.responses and self.kpi not in ("nps", "csat"):
            raise ValueError(f"min_volume.responses: counts survey answers, for nps or csat; "
                             f"{self.kpi} is judged on sessions or orders")
        return self


class RuleSet(_Strict):
    targets: dict[str, Target] = Field(
        default_factory=lambda: {"default": Target(type="console")})
    rules: list[Rule]

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        names = [r.name for r in self.rules]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"rule {name!r} is defined twice")
        for rule in self.rules:
            for target in rule.targets:
                if target not in self.targets:
                    raise ValueError(f"rule {rule.name!r}: target {target!r} is not defined"
                                     f" under targets: ({', '.join(self.targets)})")
        return self

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)


class RulesError(SystemExit):
    """Startup stops here: the message names the file, the rule and the field."""


def load_rules(path: Path | str | None = None) -> RuleSet:
    path = Path(path or os.environ.get("KPIWATCH_RULES_FILE") or DEFAULT_RULES_PATH)
    raw = read_yaml(path, "alert rules", "KPIWATCH_RULES_FILE", RulesError)
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as error:
        raise RulesError(describe_rule_errors(path, raw, error)) from None


def read_yaml(path: Path, what: str, variable: str, failure: type[SystemExit]) -> object:
    """A YAML file's document; a file that cannot be read or parsed stops startup with the
    file and the fix named."""
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise failure(f"kpiwatch: cannot read the {what} file {path}: {error.strerror}\n"
                      f"  fix: set {variable} to an existing YAML file") from None
    except yaml.YAMLError as error:
        raise failure(f"kpiwatch: {path} is not valid YAML: {error}") from None


def describe_rule_errors(path: Path, raw: object, error: ValidationError, key: str = "rules",
                         noun: str = "rule", what: str = "alert rules") -> str:
    """Each error of a list of named items (rules, goals) by the item's name and field."""
    lines = [f"kpiwatch: invalid {what} in {path}"]
    for item in error.errors():
        loc = list(item["loc"])
        where = ".".join(str(part) for part in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == key and isinstance(loc[1], int):
            items = raw.get(key) if isinstance(raw, dict) else None
            name = (items[loc[1]].get("name") if isinstance(items, list) and loc[1] < len(items)
                    and isinstance(items[loc[1]], dict) else None)
            field = ".".join(str(part) for part in loc[2:]
                             if not re.fullmatch(r"[a-z_]+\[.*\]|static|week_ago|trailing",
                                                 str(part))) or f"(the {noun})"
            where = f"{noun} {name or '#' + str(loc[1] + 1)!r}, field {field}"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)
