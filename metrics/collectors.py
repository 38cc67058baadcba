"""Collectors that read Faust tables at scrape time.

Nothing is bumped in the hot path: each scrape yields metric families fresh from the recovered
table state, so what Prometheus sees after a crash and replay is what the tables hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from metrics.catalog import EVENTS_CONSUMED

# (topic, partition) pairs this worker actively owns right now.
ActivePartitions = Callable[[], Iterable[tuple[str, int]]]


class EventsConsumedCollector(Collector):
    def __init__(self, table: Mapping[str, dict], active: ActivePartitions) -> None:
        self.table = table
        self.active = active

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            EVENTS_CONSUMED.name.removesuffix("_total"),
            EVENTS_CONSUMED.help,
            labels=list(EVENTS_CONSUMED.labels),
        )
        for topic, partition in sorted(self.active()):
            state = self.table.get(f"{topic}:{partition}")
            if state is not None:
                family.add_metric([topic, str(partition)], state.get("events", 0))
        yield family
