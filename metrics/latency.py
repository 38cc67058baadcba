"""Process-local metrics: event-to-metric latency, observed by the KPI agent when it applies
settled minutes, and the ignored messages counted by ingestion.

Each worker observes what it handles itself; sum their rates across workers. Created here,
registered on the worker's /metrics registry by metrics/endpoint.py.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from metrics.catalog import (
    EVENT_TO_METRIC_LATENCY,
    IGNORED_EVENTS,
    LATENCY_BUCKETS_SECONDS,
    SETTLE_LATENCY,
)

event_to_metric = Histogram(EVENT_TO_METRIC_LATENCY.name, EVENT_TO_METRIC_LATENCY.help,
                            buckets=LATENCY_BUCKETS_SECONDS, registry=None)
settle = Histogram(SETTLE_LATENCY.name, SETTLE_LATENCY.help, buckets=LATENCY_BUCKETS_SECONDS,
                   registry=None)
ignored = Counter(IGNORED_EVENTS.name.removesuffix("_total"), IGNORED_EVENTS.help,
                  IGNORED_EVENTS.labels, registry=None)
