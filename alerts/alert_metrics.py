"""The evaluator's and the goal watcher's own metrics (declared in metrics/catalog.py), on an
injected registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from metrics.catalog import (
    ALERT_EVALUATIONS,
    ALERT_STATE_ERRORS,
    ALERTS_ACTIVE,
    GOAL_EXPECTED,
    GOAL_STATUS,
    GOAL_TARGET,
    GOAL_VALUE,
    MetricSpec,
)


def declared(specs: tuple[MetricSpec, ...], registry: CollectorRegistry | None) -> list:
    """A prometheus_client metric per spec, on ``registry`` (a private one when None)."""
    registry = registry if registry is not None else CollectorRegistry()
    # prometheus_client adds the _total suffix to counters itself.
    return [(Counter if spec.type == "counter" else Gauge)(
        spec.name.removesuffix("_total"), spec.help, spec.labels, registry=registry)
        for spec in specs]


@dataclass
class AlertMetrics:
    evaluations: Counter
    active: Gauge
    state_errors: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> AlertMetrics:
        return cls(*declared((ALERT_EVALUATIONS, ALERTS_ACTIVE, ALERT_STATE_ERRORS), registry))


@dataclass
class GoalMetrics:
    value: Gauge
    expected: Gauge
    target: Gauge
    status: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> GoalMetrics:
        return cls(*declared((GOAL_VALUE, GOAL_EXPECTED, GOAL_TARGET, GOAL_STATUS), registry))
