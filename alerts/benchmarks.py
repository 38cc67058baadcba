"""Judging one window against a rule's benchmark: breached, recovered, or not judged.

Pure functions of the window's values and the history the caller read (the same window one
week earlier, the trailing windows), so the whole decision is unit-testable without Redis.

- static: the value itself. week_ago: the same window one week earlier times (1 + change).
  trailing: the mean of the trailing windows minus (below) or plus (above) ``stddevs``
  standard deviations, or times (1 + change); fewer than 3 trailing values is not enough to
  judge.
- Hysteresis: ``recovery.threshold`` is a KPI value for a static benchmark and a multiple of
  the reference (the week-ago value or the trailing mean) for a relative one, e.g. 0.9 = back
  within 10 % of last week. Without it, "recovered" is simply "not breached".
- Not judged (``breached is None``): volume under ``min_volume``, no value (no sessions), or
  no benchmark (no history yet). The state machine neither advances nor resets on it: a quiet
  night does not end a pending streak and does not resolve a firing alert either, since
  nothing was learned about the KPI.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from alerts.kpi_values import Dimension, kpi_value, responses_of, volume
from alerts.rules import Rule
from streams.windows import Window


@dataclass(frozen=True)
class Judgement:
    window: Window
    dimension: Dimension
    value: float | None
    threshold: float | None
    breached: bool | None  # None: not judged (see ``reason``)
    recovered: bool
    week_ago: float | None
    reason: str  # "breached", "ok", "low_volume", "no_value", "no_benchmark"


def reference_and_threshold(rule: Rule, week_ago: float | None,
                            trailing: list[float]) -> tuple[float | None, float | None]:
    """(the reference the benchmark is relative to, the threshold) or (None, None)."""
    benchmark = rule.benchmark
    if benchmark.type == "static":
        return benchmark.value, benchmark.value
    if benchmark.type == "week_ago":
        if week_ago is None:
            return None, None
        return week_ago, week_ago * (1 + benchmark.change)
    if len(trailing) < 3:
        return None, None
    mean = statistics.fmean(trailing)
    if benchmark.change is not None:
        return mean, mean * (1 + benchmark.change)
    sign = -1 if rule.condition == "below" else 1
    return mean, mean + sign * benchmark.stddevs * statistics.pstdev(trailing)


def judge(rule: Rule, window: Window, dimension: Dimension, values: Counter,
          week_ago_values: Counter | None, trailing_values: list[Counter]) -> Judgement:
    week_ago = kpi_value(week_ago_values, rule.kpi, dimension) if week_ago_values else None

    def result(reason, value=None, threshold=None, breached=None, recovered=False):
        return Judgement(window, dimension, value, threshold, breached, recovered, week_ago,
                         reason)

    have = volume(values, dimension)
    if (have["sessions"] < rule.min_volume.sessions
            or have["orders"] < rule.min_volume.orders
            or have[responses_of(rule.kpi)] < rule.min_volume.responses):
        return result("low_volume", kpi_value(values, rule.kpi, dimension))
    value = kpi_value(values, rule.kpi, dimension)
    if value is None:
        return result("no_value")
    trailing = [v for v in (kpi_value(t, rule.kpi, dimension) for t in trailing_values)
                if v is not None]
    reference, threshold = reference_and_threshold(rule, week_ago, trailing)
    if threshold is None:
        return result("no_benchmark", value)
    below = rule.condition == "below"
    breached = value < threshold if below else value > threshold
    recovery = rule.recovery.threshold
    if recovery is None:
        recovered = not breached
    else:
        back = recovery if rule.benchmark.type == "static" else reference * recovery
        recovered = value >= back if below else value <= back
    return result("breached" if breached else "ok", value, threshold, breached, recovered)
