"""Every metric kpiwatch exports, declared once: name, type, labels, meaning, example PromQL.

Values that live in Faust tables are exported per source partition (label ``partition``), so
that summing across workers stays exact while partitions move between them in a rebalance:
during a handover two workers may briefly report the same partition, and ``max by`` over
``partition`` keeps one. The PromQL in each spec shows the pattern.
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


EVENTS_CONSUMED = MetricSpec(
    name="kpiwatch_events_consumed_total",
    type="counter",
    labels=("stream", "partition"),
    help="Input messages consumed, by input stream and source partition (each counted once).",
    promql="sum by (stream) (max by (stream, partition) (kpiwatch_events_consumed_total))",
)

CATALOG: tuple[MetricSpec, ...] = (EVENTS_CONSUMED,)
