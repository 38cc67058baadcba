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
from dataclasses import asdict, dataclass
from decimal import Decimal

from alerts.rules import Rule, RuleSet, StaticBenchmark
from streams.kpis import readout


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
    merged: dict[str, list[ShopWindow]] = {}
    for (size, start, end), parts in by_window.items():
        values: Counter = Counter()
        for part in parts:
            values.update({k: Decimal(v) if isinstance(v, str) else v
                           for k, v in part.get("values", {}).items()})
        merged.setdefault(size, []).append(
            ShopWindow(size, start, end, all(p["settled"] for p in parts), values))
    for windows in merged.values():
        windows.sort(key=lambda w: w.start, reverse=True)
    return merged


def last_settled(merged: dict[str, list[ShopWindow]], size: str) -> ShopWindow | None:
    return next((w for w in merged.get(size, []) if w.settled), None)


@dataclass(frozen=True)
class Check:
    """One rule against the last settled window of its size."""

    rule: str
    kpi: str
    window_size: str
    window_start: str | None
    dimension: str  # "" for the whole shop, else e.g. "channel=paid_search"
    value: float | None
    benchmark: float | None  # None for relative benchmarks (judged by the evaluator)
    condition: str
    breached: bool | None  # None: no value, or not judged here

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


def kpi_value(window: ShopWindow, kpi: str, where: dict[str, str]) -> float | None:
    if kpi == "payment_failure_rate" and "payment_method" in where:
        method = where["payment_method"]
        failures = window.values.get(f"payment_failures|{method}", 0)
        orders = sum(v for k, v in window.values.items()
                     if k.startswith("orders|") and k.split("|")[2] == method)
        return readout.ratio(failures, failures + orders)
    if kpi == "users":
        return float(window.values.get("users", 0))
    value = window.kpis(where.get("channel")).get(kpi)
    return None if value is None else float(value)


def judge(rule: Rule, window: ShopWindow | None) -> list[Check]:
    """The rule's checks on a window: one, or one per dimension value for ``per`` rules."""
    static = rule.benchmark.value if isinstance(rule.benchmark, StaticBenchmark) else None
    if window is None:
        return [Check(rule.name, rule.kpi, rule.window, None, "", None, static,
                      rule.condition, None)]
    wheres = ([{**rule.where, rule.per: value} for value in dimension_values(window, rule.per)]
              if rule.per else [dict(rule.where)])
    checks = []
    for where in wheres:
        value = kpi_value(window, rule.kpi, where)
        breached = None
        if value is not None and static is not None:
            breached = value < static if rule.condition == "below" else value > static
        checks.append(Check(rule.name, rule.kpi, rule.window, window.start,
                            ",".join(f"{k}={v}" for k, v in sorted(where.items())), value,
                            static, rule.condition, breached))
    return checks


def checks(ruleset: RuleSet, merged: dict[str, list[ShopWindow]]) -> list[Check]:
    return [check for rule in ruleset.rules
            for check in judge(rule, last_settled(merged, rule.window))]


def benchmark_of(ruleset: RuleSet, kpi: str) -> tuple[float, str] | None:
    """The static benchmark of a KPI (value, condition): a shop-wide rule's, else the one a
    per-dimension rule applies to every dimension value."""
    candidates = [r for r in ruleset.rules if r.kpi == kpi and not r.where
                  and isinstance(r.benchmark, StaticBenchmark)]
    candidates.sort(key=lambda r: r.per is not None)
    if not candidates:
        return None
    return candidates[0].benchmark.value, candidates[0].condition
