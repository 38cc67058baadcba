"""Prometheus alerting rules generated from ``alerts/rules.yaml`` (the one source of benchmarks).

Each rule judges the recorded KPI (``prometheus/kpis.py``) of its *settled* window:

- benchmark ``static`` -> a threshold; ``week_ago`` -> the same series ``offset 1w``;
  ``trailing`` -> mean -/+ k standard deviations of the previous N windows (``*_over_time``);
- ``min_volume`` -> ``and`` the window's sessions / orders at or above the minimum;
- ``for: N`` windows -> ``for:`` (N - 1) windows and a half (see :func:`for_duration`);
- ``recovery.threshold`` -> hysteresis through ``ALERTS``: once firing, the alert holds while the
  KPI is still past the recovery threshold; ``recovery.keep_firing_for`` -> ``keep_firing_for``;
- severity and the dashboard uid become labels; description, runbook and dashboard link
  annotations.

Quiet hours, targets and re-notification are routing, not rules: Alertmanager does them
(``prometheus/alertmanager.yml``, its quiet hours generated from the same file).

Where Prometheus differs from the kpiwatch evaluator (alerts/evaluator.py): a low-volume window
drops the series, which resets a pending alert instead of leaving the streak as it was; and the
per-partition "settled" gauges are summed as they are, so for a scrape or two after a window
settles on some partitions only, the sum mixes two windows (the evaluator waits for all).
"""

from __future__ import annotations

from alerts.kpi_values import responses_of
from alerts.rules import KPIS, Rule, RuleSet
from prometheus.kpis import RECORDED, WINDOW, recorded_name
from prometheus.promql import WINDOW_SECONDS, by, duration, matchers

DEFAULT_GRAFANA_URL = "http://localhost:3000"
FORMATS = {"ratio": "humanizePercentage", "seconds": "humanizeDuration",
           "amount": "humanize", "count": "humanize", "multiple": "humanize",
           "score": "humanize"}


def alert_groups(rules: RuleSet, grafana_url: str = DEFAULT_GRAFANA_URL) -> list[dict]:
    return [{"name": "kpiwatch-alerts",
             "rules": [alert_rule(rule, grafana_url) for rule in rules.rules]}]


def dimensions(rule: Rule) -> tuple[str, ...]:
    return (rule.per,) if rule.per else tuple(rule.where)


def kpi_selector(rule: Rule) -> str:
    dims = dimensions(rule)
    return recorded_name(rule.kpi, dims) + matchers(**rule.where, window=rule.window,
                                                    window_state="settled")


def benchmark_expr(rule: Rule, kpi: str) -> str:
    bench = rule.benchmark
    if bench.type == "static":
        return f"{bench.value:g}"
    if bench.type == "week_ago":
        return f"{round(1 + bench.change, 6):g} * ({kpi} offset 1w)"
    # The previous N windows, not counting the one being judged.
    span = duration(bench.windows * WINDOW_SECONDS[rule.window])
    past = f"{kpi}[{span}] offset {rule.window}"
    if bench.change is not None:
        return f"({round(1 + bench.change, 6):g} * avg_over_time({past}))"
    sign = "-" if rule.condition == "below" else "+"
    return f"(avg_over_time({past}) {sign} {bench.stddevs:g} * stddev_over_time({past}))"


def reference_expr(rule: Rule, kpi: str) -> str:
    """What a relative benchmark is relative to (the evaluator's ``reference``): the week-ago
    value, or the trailing mean; ``recovery.threshold`` is a multiple of it."""
    bench = rule.benchmark
    if bench.type == "week_ago":
        return f"({kpi} offset 1w)"
    span = duration(bench.windows * WINDOW_SECONDS[rule.window])
    return f"avg_over_time({kpi}[{span}] offset {rule.window})"


def condition_expr(rule: Rule) -> str:
    kpi = kpi_selector(rule)
    op = "<" if rule.condition == "below" else ">"
    expr = f"{kpi} {op} {benchmark_expr(rule, kpi)}"
    threshold = rule.recovery.threshold
    if threshold is not None:
        recovered_at = (f"{threshold:g}" if rule.benchmark.type == "static"
                        else f"{threshold:g} * {reference_expr(rule, kpi)}")
        firing = f'ALERTS{{alertname="{rule.name}", alertstate="firing"}}'
        expr = (f"(\n  {expr}\nor\n  ({kpi} {op} {recovered_at}"
                f"\n   and on ({by((*dimensions(rule), *WINDOW))}) {firing})\n)")
    for volume, minimum in (("sessions", rule.min_volume.sessions),
                            ("orders", rule.min_volume.orders),
                            (responses_of(rule.kpi), rule.min_volume.responses)):
        if minimum:
            expr = f"{expr}\nand on ({by((*_volume_dims(rule, volume), *WINDOW))})\n" \
                   f"  {_volume_selector(rule, volume)} >= {minimum}"
    return expr


def _volume_dims(rule: Rule, volume: str) -> tuple[str, ...]:
    """Judge volume per dimension value where the volume is broken down the same way."""
    dims = dimensions(rule)
    recorded = next(spec for spec in RECORDED if spec.kpi == volume)
    return dims if dims in recorded.breakdowns else ()


def _volume_selector(rule: Rule, volume: str) -> str:
    dims = _volume_dims(rule, volume)
    where = {k: v for k, v in rule.where.items() if k in dims}
    return recorded_name(volume, dims) + matchers(**where, window=rule.window,
                                                  window_state="settled")


def for_duration(rule: Rule) -> str | None:
    """N consecutive settled windows: the first bad window's value shows for one window, and the
    N-th replaces the (N-1)-th one window length later. Waiting half a window past that makes
    sure the N-th window was seen (not just the N-1 before it) whatever the settle jitter."""
    if rule.for_windows == 1:
        return None
    window = WINDOW_SECONDS[rule.window]
    return duration((rule.for_windows - 1) * window + window // 2)


def alert_rule(rule: Rule, grafana_url: str = DEFAULT_GRAFANA_URL) -> dict:
    out: dict = {"alert": rule.name, "expr": condition_expr(rule)}
    if (wait := for_duration(rule)) is not None:
        out["for"] = wait
    if rule.recovery.keep_firing_for:
        out["keep_firing_for"] = duration(rule.recovery.keep_firing_for
                                          * WINDOW_SECONDS[rule.window])
    out["labels"] = {"severity": rule.severity, "kpi": rule.kpi, "dashboard": rule.dashboard}
    out["annotations"] = {
        "summary": summary(rule),
        "description": rule.description,
        "runbook_url": rule.runbook_url,
        "dashboard_url": dashboard_url(rule, grafana_url),
    }
    return out


def summary(rule: Rule) -> str:
    value = f"{{{{ $value | {FORMATS[KPIS[rule.kpi]['kind']]} }}}}"
    where = "".join(f" on {{{{ $labels.{d} }}}}" for d in dimensions(rule))
    bench = rule.benchmark
    if bench.type == "static":
        benchmark = f"{bench.value:g}"
    elif bench.type == "week_ago":
        benchmark = f"{bench.change:+.0%} vs one week earlier"
    elif bench.change is not None:
        benchmark = f"{bench.change:+.0%} vs the mean of the last {bench.windows} windows"
    else:
        benchmark = f"{bench.stddevs:g} standard deviations from the last {bench.windows} windows"
    return (f"{rule.kpi}{where} is {value}, {rule.condition} its benchmark ({benchmark})"
            f" in the settled {rule.window} window")


def dashboard_url(rule: Rule, grafana_url: str) -> str:
    variables = "".join(f"&var-{d}={{{{ $labels.{d} }}}}" for d in dimensions(rule)
                        if d == "channel")
    return f"{grafana_url}/d/{rule.dashboard}?from=now-6h&to=now{variables}"
