"""The shop-wide KPIs a person looks at: every worker's ``/kpis`` merged, then judged against
the benchmarks of the alert rules (alerts/rules.yaml). Used by the demo board and
``kpiwatch status``.

Each worker reports the partitions it owns; the shop is the sum of its workers, and a window
is settled only when it is settled on every worker. Ratios are recomputed from the summed
counts (never averaged), with the same functions the engine's readout uses.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from alerts import benchmarks
from alerts.rules import Rule, RuleSet, StaticBenchmark
from streams.kpis import readout
from streams.windows import Window, to_ms


@dataclass(frozen=True)
class ShopWindow:
    size: str
    start: str
    end: str
    settled: bool
    values: Counter

    def kpis(self, channel: str | None = None) -> dict:
        return readout.derived(self.values, channel)


def fetch_kpis(worker_url: str, timeout: float = 3.0) -> dict | None:
    """One worker's ``/kpis`` document, or None when it does not answer."""
    try:
        with urllib.request.urlopen(worker_url.rstrip("/") + "/kpis", timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def merge(documents: list[dict | None]) -> dict[str, list[ShopWindow]]:
    """Windows of each size across workers, newest first."""
    by_window: dict[tuple[str, str, str], list[dict]] = {}
    for document in documents:
        for size, windows in (document or {}).get("windows", {}).items():
            for window in windows:
                by_window.setdefault((size, window["start"], window["end"]), []).append(window)
    answered = sum(1 for document in documents if document is not None)
    merged: dict[str, list[ShopWindow]] = {}
    for (size, start, end), parts in by_window.items():
        # A worker that does not list a window is past it or behind it: either way its part
        # is missing from the sum, so the window is not shown as settled.
        values: Counter = Counter()
        for part in parts:
            values.update(readout.decoded(part.get("values", {})))
        merged.setdefault(size, []).append(
            ShopWindow(size, start, end,
                       len(parts) == answered and all(p["settled"] for p in parts), values))
    for windows in merged.values():
        windows.sort(key=lambda w: w.start, reverse=True)
    return merged


def last_settled(merged: dict[str, list[ShopWindow]], size: str) -> ShopWindow | None:
    return next((w for w in merged.get(size, []) if w.settled), None)


def shown(merged: dict[str, list[ShopWindow]], size: str) -> tuple[ShopWindow | None, bool]:
    """The window a board shows for a size, and whether it is provisional: the last settled
    window, unless it holds nothing (it ended before any event was counted, like the hour a
    fresh demo started in); then the window in progress, so far."""
    settled = last_settled(merged, size)
    if settled is not None and any(settled.values.values()):
        return settled, False
    newest = next(iter(merged.get(size, [])), None)
    if newest is not None and not newest.settled:
        return newest, True
    return settled, False


@dataclass(frozen=True)
class Check:
    """One rule against the last settled window of its size, judged as the evaluator does."""

    rule: str
    kpi: str
    window_size: str
    window_start: str | None
    dimension: str  # "" for the whole shop, else e.g. "channel=paid_search"
    value: float | None
    benchmark: float | None  # the threshold; for relative rules, from the history in Redis
    condition: str
    breached: bool | None  # None: not judged (see reason)
    reason: str  # breached, ok, low_volume, no_value, no_benchmark, no_settled_window

    def as_dict(self) -> dict:
        return asdict(self)


def dimension_values(window: ShopWindow, dimension: str) -> list[str]:
    """The values of a dimension present in the window (channels or payment methods)."""
    # Aggregate keys are "<metric>|<dimension values...>" (streams/kpis families).
    where = {"channel": {"sessions": 1}, "payment_method": {"payment_failures": 1, "orders": 2}}
    found = set()
    for key in window.values:
        metric, *dims = key.split("|")
        position = where[dimension].get(metric)
        if position is not None and len(dims) >= position:
            found.add(dims[position - 1])
    return sorted(found)


def as_window(window: ShopWindow) -> Window:
    return Window(window.size, to_ms(datetime.fromisoformat(window.start.replace("Z", "+00:00"))),
                  to_ms(datetime.fromisoformat(window.end.replace("Z", "+00:00"))))


def judge(rule: Rule, window: ShopWindow | None,
          history: Callable[[Rule, Window], tuple[Counter | None, list[Counter]]] | None = None
          ) -> list[Check]:
    """The rule's checks on a window: one, or one per dimension value for ``per`` rules.
    ``history`` gives the week-ago and trailing windows relative benchmarks need."""
    if window is None:
        return [Check(rule.name, rule.kpi, rule.window, None, "", None, None, rule.condition,
                      None, "no_settled_window")]
    wheres = ([{**rule.where, rule.per: value} for value in dimension_values(window, rule.per)]
              if rule.per else [dict(rule.where)])
    bounds = as_window(window)
    week_ago, trailing = history(rule, bounds) if history else (None, [])
    checks = []
    for where in wheres:
        found = benchmarks.judge(rule, bounds, where, window.values, week_ago, trailing)
        checks.append(Check(rule.name, rule.kpi, rule.window, window.start,
                            ",".join(f"{k}={v}" for k, v in sorted(where.items())), found.value,
                            found.threshold, rule.condition, found.breached, found.reason))
    return checks


def checks(ruleset: RuleSet, merged: dict[str, list[ShopWindow]], history=None) -> list[Check]:
    return [check for rule in ruleset.rules
            for check in judge(rule, last_settled(merged, rule.window), history)]


def benchmark_of(ruleset: RuleSet, kpi: str) -> tuple[float, str] | None:
    """The static benchmark of a KPI (value, condition): a shop-wide rule's, else the one a
    per-dimension rule applies to every dimension value."""
    candidates = [r for r in ruleset.rules if r.kpi == kpi and not r.where
                  and isinstance(r.benchmark, StaticBenchmark)]
    candidates.sort(key=lambda r: r.per is not None)
    if not candidates:
        return None
    return candidates[0].benchmark.value, candidates[0].condition


def benchmark_label(ruleset: RuleSet, kpi: str, fmt: str = "{}", width: int = 24) -> str:
    """The benchmarks of the rules that judge a KPI (any window), in one short line: per scope
    (the whole shop, one dimension value, each value of a dimension) and kind, the tightest;
    "≥ 3.0% · paid_search ≥ 1.0%", or the first and "+N more" when they do not fit ``width``.
    "" when no rule judges the KPI."""
    tightest: dict[tuple, Rule] = {}
    for rule in ruleset.rules:
        if rule.kpi != kpi:
            continue
        # the whole shop first, then one dimension value, then each value of a dimension
        scope = (rule.per is not None, bool(rule.where), tuple(sorted(rule.where.items())),
                 rule.per or "")
        key = (scope, rule.benchmark.type, rule.condition)
        if key not in tightest or _tighter(rule, tightest[key]):
            tightest[key] = rule
    order = {"static": 0, "week_ago": 1, "trailing": 2}
    rules = [tightest[k] for k in sorted(tightest, key=lambda k: (k[0], order[k[1]], k[2]))]
    parts = [_describe(rule, fmt) for rule in rules]
    text = " · ".join(parts)
    if len(text) <= width or len(parts) <= 1:
        return text
    return f"{parts[0]} +{len(parts) - 1} more"


def _tighter(rule: Rule, than: Rule) -> bool:
    """Closer to normal, so it fires first: a higher floor or a lower ceiling."""
    def bound(r: Rule) -> float:
        b = r.benchmark
        if isinstance(b, StaticBenchmark):
            return b.value
        if b.type == "week_ago" or b.change is not None:  # (a trailing one may take a change)
            return b.change
        return -b.stddevs if r.condition == "below" else b.stddevs
    return bound(rule) > bound(than) if rule.condition == "below" else bound(rule) < bound(than)


def _describe(rule: Rule, fmt: str) -> str:
    sign = "≥" if rule.condition == "below" else "≤"
    b = rule.benchmark
    if isinstance(b, StaticBenchmark):
        threshold = f"{sign} {fmt.format(b.value)}"
    elif b.type == "week_ago":
        threshold = f"{sign} wk ago {b.change:+.0%}"
    elif b.change is not None:
        threshold = f"{sign} avg{b.change:+.0%}"
    else:
        threshold = f"{sign} avg {'-' if rule.condition == 'below' else '+'}{b.stddevs:g}σ"
    if rule.where:
        return ",".join(rule.where.values()) + " " + threshold
    if rule.per:
        return {"payment_method": "per method"}.get(rule.per, f"per {rule.per}") + " " + threshold
    return threshold
