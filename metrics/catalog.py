"""Every metric kpiwatch exports, declared once: name, type, labels, meaning, example PromQL.

Values that live in Faust tables are exported per source partition (label ``partition``), so
that a sum across workers stays exact while partitions move between them in a rebalance: during
a handover two workers may briefly report the same partition, and ``max by (..., partition)``
keeps one. Every spec's PromQL shows the pattern. Labels are bounded: stream (configured topic
names), type (canonical event types), reason (RejectReason codes), partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricSpec:
    name: str
    type: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    help: str
    promql: str


EVENTS = MetricSpec(
    name="kpiwatch_events_total",
    type="counter",
    labels=("stream", "type", "partition"),
    help="Valid, deduplicated events by input stream and canonical type.",
    promql="sum by (stream, type) (max by (stream, type, partition) (kpiwatch_events_total))",
)
BOT_EVENTS = MetricSpec(
    name="kpiwatch_bot_events_total",
    type="counter",
    labels=("partition",),
    help="Valid events from bot user agents (tagged, excluded from KPIs).",
    promql="sum(max by (partition) (kpiwatch_bot_events_total))",
)
INVALID_EVENTS = MetricSpec(
    name="kpiwatch_invalid_events_total",
    type="counter",
    labels=("stream", "reason", "partition"),
    help="Rejected messages sent to the dead-letter topic, by source stream and reason code.",
    promql="sum by (reason) (max by (stream, reason, partition) (kpiwatch_invalid_events_total))",
)
DUPLICATE_EVENTS = MetricSpec(
    name="kpiwatch_duplicate_events_total",
    type="counter",
    labels=("key", "partition"),
    help="Duplicates dropped: key=event_id (a repeated event) or order_id (a repeated order).",
    promql="sum by (key) (max by (key, partition) (kpiwatch_duplicate_events_total))",
)

CATALOG: tuple[MetricSpec, ...] = (EVENTS, BOT_EVENTS, INVALID_EVENTS, DUPLICATE_EVENTS)
