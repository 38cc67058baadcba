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


def _name(spec: MetricSpec) -> str:
    # prometheus_client adds the _total suffix to counters itself.
    return spec.name.removesuffix("_total")


@dataclass
class AlertMetrics:
    evaluations: Counter
    active: Gauge
    state_errors: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> AlertMetrics:
        registry = registry if registry is not None else CollectorRegistry()
        return cls(
            Counter(_name(ALERT_EVALUATIONS), ALERT_EVALUATIONS.help, ALERT_EVALUATIONS.labels,
                    registry=registry),
            Gauge(ALERTS_ACTIVE.name, ALERTS_ACTIVE.help, ALERTS_ACTIVE.labels,
                  registry=registry),
            Counter(_name(ALERT_STATE_ERRORS), ALERT_STATE_ERRORS.help,
                    ALERT_STATE_ERRORS.labels, registry=registry),
        )


@dataclass
class GoalMetrics:
    value: Gauge
    expected: Gauge
    target: Gauge
    status: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> GoalMetrics:
        registry = registry if registry is not None else CollectorRegistry()
        return cls(*(Gauge(spec.name, spec.help, spec.labels, registry=registry)
                     for spec in (GOAL_VALUE, GOAL_EXPECTED, GOAL_TARGET, GOAL_STATUS)))
