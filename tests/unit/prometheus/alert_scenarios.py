"""``promtool test rules`` cases for each generated alert, derived from its rule in
alerts/rules.yaml: fires after ``for`` windows, not before; a low-volume window never fires; a
one-window dip does nothing; hysteresis and keep_firing_for hold a firing alert.

Inputs are the recorded KPI series (``prometheus/kpis.py``) a settled window would show, one
sample a minute; the recording rules themselves are tested from raw gauges in
test_recording_rules.py.
"""

from __future__ import annotations

import math
import re

from alerts.kpi_values import responses_of
from alerts.rules import KPIS, Rule
from prometheus.alert_rules import alert_rule, dimensions
from prometheus.kpis import recorded_name
from prometheus.promql import WINDOW_SECONDS

WEEK_MINUTES = 7 * 24 * 60
EXAMPLE_VALUES = {"channel": "paid_search", "payment_method": "card"}


def labels_of(rule: Rule) -> dict[str, str]:
    labels = {"window": rule.window, "window_state": "settled", **rule.where}
    if rule.per:
        labels[rule.per] = EXAMPLE_VALUES[rule.per]
    return labels


def series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def values(*runs: tuple[float, int]) -> str:
    """``(value, minutes)`` runs in promtool's expanding notation."""
    return " ".join(f"{value:g}x{minutes - 1}" if minutes > 1 else f"{value:g}"
                    for value, minutes in runs)


class Scenario:
    """The KPI levels of one rule: ``good``, ``bad`` (past the benchmark) and, with a recovery
    threshold, ``between`` (past the recovery threshold, not the benchmark)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.below = rule.condition == "below"
        bench = rule.benchmark
        self.history = 0  # minutes of the past week before the test starts
        if bench.type == "static":
            benchmark = bench.value
        elif bench.type == "week_ago":
            self.history = WEEK_MINUTES + 30
            self.past = 100.0 if KPIS[rule.kpi]["kind"] == "count" else 0.05
            benchmark = self.past * (1 + bench.change)
        else:  # trailing: a steady past over its windows (and the offset of one window)
            self.history = (bench.windows + 1) * (WINDOW_SECONDS[rule.window] // 60) + 30
            self.past = 0.05 if KPIS[rule.kpi]["kind"] == "ratio" else 100.0
            # (A steady past has no spread: its stddevs benchmark is the mean itself.)
            benchmark = self.past * (1 + (bench.change or 0))
        self.good = benchmark * 2 if self.below else benchmark / 2
        self.bad = benchmark / 2 if self.below else benchmark * 1.5
        threshold = rule.recovery.threshold
        if threshold is not None and bench.type == "static":
            self.between = (benchmark + threshold) / 2
        self.window_minutes = WINDOW_SECONDS[rule.window] // 60
        wait = alert_rule(rule).get("for")
        self.for_minutes = _minutes(wait) if wait else 0
        self.fires_at = self.history + math.ceil(self.for_minutes) + 2

    def kpi_values(self, *runs: tuple[float, int]) -> str:
        before = [(self.past, self.history)] if self.history else []
        return values(*before, *runs)

    def inputs(self, kpi_runs: list[tuple[float, int]], volume_factor: float = 2) -> list[dict]:
        rule = self.rule
        total = self.history + sum(minutes for _, minutes in kpi_runs)
        out = [{"series": series(recorded_name(rule.kpi, dimensions(rule)), labels_of(rule)),
                "values": self.kpi_values(*kpi_runs)}]
        for volume, minimum in (("sessions", rule.min_volume.sessions),
                                ("orders", rule.min_volume.orders),
                                (responses_of(rule.kpi), rule.min_volume.responses)):
            if minimum:
                out.append(self._volume(volume, minimum, volume_factor, total))
        return out

    def _volume(self, volume: str, minimum: int, factor: float, minutes: int) -> dict:
        from prometheus.alert_rules import _volume_dims

        dims = _volume_dims(self.rule, volume)
        labels = {k: v for k, v in labels_of(self.rule).items()
                  if k in (*dims, "window", "window_state")}
        level = math.floor(minimum * factor) if factor >= 1 else minimum - 1
        return {"series": series(recorded_name(volume, dims), labels),
                "values": values((level, minutes))}

    def expected_alert(self, value: float) -> dict:
        rule = self.rule
        generated = alert_rule(rule)
        labels = {**labels_of(rule), **generated["labels"]}
        annotations = {k: render(v, labels, value) for k, v in generated["annotations"].items()}
        return {"exp_labels": labels, "exp_annotations": annotations}

    def case(self, name: str, inputs: list[dict], checks: list[tuple[int, float | None]]) -> dict:
        """``checks``: (minute, the KPI value the alert fires with, or None: not firing)."""
        return {
            "name": f"{self.rule.name}: {name}",
            "interval": "1m",
            "input_series": inputs,
            "alert_rule_test": [
                {"eval_time": f"{minute}m", "alertname": self.rule.name,
                 "exp_alerts": [] if value is None else [self.expected_alert(value)]}
                for minute, value in checks
            ],
        }

    def cases(self) -> list[dict]:
        long = self.fires_at + 60
        cases = [
            self.case("fires after its for windows, not before",
                      self.inputs([(self.bad, long)]),
                      [(self.fires_at, self.bad)]
                      + ([(self.history + int(self.for_minutes) - 1, None)]
                         if self.for_minutes >= 2 else [])),
            self.case("a low-volume window is not judged",
                      self.inputs([(self.bad, long)], volume_factor=0),
                      [(self.fires_at, None)]),
        ]
        if self.rule.for_windows >= 2:
            cases.append(self.case(
                "a one-window dip does nothing",
                self.inputs([(self.bad, self.window_minutes), (self.good, long)]),
                [(self.fires_at, None)]))
        keep = self.rule.recovery.keep_firing_for * self.window_minutes
        if hasattr(self, "between"):
            cases.append(self.case(
                "hysteresis: stays firing until past the recovery threshold",
                self.inputs([(self.bad, self.fires_at + 1), (self.between, 30),
                             (self.good, keep + 30)]),
                [(self.fires_at + 20, self.between), (self.fires_at + 31 + keep + 10, None)]))
        if keep:
            back = (self.past if self.history else self.good)
            cases.append(self.case(
                "keeps firing for its keep_firing_for windows after recovering",
                self.inputs([(self.bad, self.fires_at - self.history + 1), (back, keep + 30)]),
                [(self.fires_at + keep // 2, self.bad), (self.fires_at + keep + 5, None)]))
        return cases


def _minutes(duration: str) -> float:
    units = {"d": 1440, "h": 60, "m": 1, "s": 1 / 60}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", duration))


def render(template: str, labels: dict[str, str], value: float) -> str:
    """Prometheus' template functions used by the generated annotations, as Go prints them."""

    def replace(match: re.Match) -> str:
        expr = match.group(1).strip()
        if expr.startswith("$labels."):
            return labels[expr.removeprefix("$labels.")]
        function = expr.split("|")[1].strip()
        if function == "humanizePercentage":
            return f"{value * 100:.4g}%"
        if function == "humanizeDuration":
            minutes, seconds = divmod(int(value), 60)
            return f"{minutes}m {seconds}s" if minutes else f"{value:.4g}s"
        return f"{value:.4g}"

    return re.sub(r"\{\{(.*?)\}\}", replace, template)
