"""Event-to-metric latency, observed by the KPI agent when it applies settled minutes.

Process-local histograms (each worker observes the events it applies; sum their rates across
workers). Created here, registered on the worker's /metrics registry by metrics/endpoint.py.
"""

from __future__ import annotations

from prometheus_client import Histogram

from metrics.catalog import EVENT_TO_METRIC_LATENCY, LATENCY_BUCKETS_SECONDS, SETTLE_LATENCY

event_to_metric = Histogram(EVENT_TO_METRIC_LATENCY.name, EVENT_TO_METRIC_LATENCY.help,
                            buckets=LATENCY_BUCKETS_SECONDS, registry=None)
settle = Histogram(SETTLE_LATENCY.name, SETTLE_LATENCY.help, buckets=LATENCY_BUCKETS_SECONDS,
                   registry=None)
