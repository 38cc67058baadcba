"""The delivery metrics of metrics/catalog.py, created on an injected registry."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.notification import Notification
from metrics.catalog import NOTIFICATION_LATENCY, NOTIFICATIONS, OUTBOX_DEPTH, MetricSpec

# Seconds: a healthy delivery takes well under one; a Slack outage stretches it to minutes.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


def _name(spec: MetricSpec) -> str:
    return spec.name.removesuffix("_total") if spec.type == "counter" else spec.name


class NotificationMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self.notifications = Counter(_name(NOTIFICATIONS), NOTIFICATIONS.help,
                                     NOTIFICATIONS.labels, registry=registry)
        self.outbox_depth = Gauge(_name(OUTBOX_DEPTH), OUTBOX_DEPTH.help, OUTBOX_DEPTH.labels,
                                  registry=registry)
        self.latency = Histogram(_name(NOTIFICATION_LATENCY), NOTIFICATION_LATENCY.help,
                                 NOTIFICATION_LATENCY.labels, buckets=LATENCY_BUCKETS,
                                 registry=registry)

    def count(self, target: str, kind: str, outcome: str) -> None:
        self.notifications.labels(target, kind, outcome).inc()

    def depth(self, target: str, waiting: int) -> None:
        self.outbox_depth.labels(target).set(waiting)

    def observe_latency(self, notification: Notification, target: str = "",
                        now: datetime | None = None) -> None:
        try:
            created = datetime.fromisoformat(notification.created_at)
        except ValueError:
            return
        now = now or datetime.now(created.tzinfo)
        self.latency.labels(target).observe(max(0.0, (now - created).total_seconds()))
