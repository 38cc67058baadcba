"""Exports the KPI engine's windows as Prometheus gauges (see metrics/catalog.py KPI_GAUGES)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from metrics.catalog import (
    ACTIVATION_TIME,
    CHECKOUT_DURATION,
    KPI_GAUGES,
    LIFETIME_GAUGES,
    RETAINED_COHORTS,
    SESSION_DURATION,
    SETTLED_THROUGH,
    WATERMARK,
    KpiGauge,
)
from streams.kpis import readout
from streams.kpis.checkout import CHECKOUT_BUCKETS_SECONDS
from streams.kpis.journey import ACTIVATION_BUCKETS_SECONDS
from streams.kpis.traffic import SESSION_BUCKETS_SECONDS
from streams.windows import WINDOW_SIZES

COMMON = ("window", "window_state", "partition")


class KpiCollector(Collector):
    def __init__(self, table: Mapping, partitions: Callable[[], Iterable[int]],
                 tz: ZoneInfo) -> None:
        self.table = table
        self.partitions = partitions
        self.tz = tz

    def collect(self) -> Iterator[Metric]:
        families = {g.prefix: GaugeMetricFamily(g.name, g.help, labels=[*COMMON, *g.labels])
                    for g in KPI_GAUGES}
        lifetime = {g.prefix: GaugeMetricFamily(g.name, g.help, labels=["partition", *g.labels])
                    for g in LIFETIME_GAUGES}
        checkout = GaugeHistogramMetricFamily(
            CHECKOUT_DURATION, "Time from a cart's first checkout_started to its order.",
            labels=list(COMMON))
        session = GaugeHistogramMetricFamily(
            SESSION_DURATION, "Session durations (last event - first event), observed when "
            "the session ends (session_timeout after its last event).", labels=list(COMMON))
        activation = GaugeHistogramMetricFamily(
            ACTIVATION_TIME, "Time from signup to activation, observed at the activating "
            "event.", labels=list(COMMON))
        watermark = GaugeMetricFamily(WATERMARK.name, WATERMARK.help,
                                      labels=list(WATERMARK.labels))
        settled = GaugeMetricFamily(SETTLED_THROUGH.name, SETTLED_THROUGH.help,
                                    labels=list(SETTLED_THROUGH.labels))
        for partition in sorted(self.partitions()):
            progress = readout.partition_progress(self.table, partition)
            if not progress or progress.get("settled_through") is None:
                continue
            p = str(partition)
            watermark.add_metric([p], progress["watermark"] / 1000)
            settled.add_metric([p], (progress["settled_through"] + 60_000) / 1000)
            for size in WINDOW_SIZES:
                for reading in readout.windows_for(self.table, partition, size, self.tz):
                    common = [size, "settled" if reading.settled else "in_progress", p]
                    _add(families, reading.values, common)
                    _add_histogram(checkout, reading.values, common, "checkout_seconds",
                                   CHECKOUT_BUCKETS_SECONDS)
                    _add_histogram(session, reading.values, common, "session_seconds",
                                   SESSION_BUCKETS_SECONDS)
                    _add_histogram(activation, reading.values, common,
                                   "time_to_activate_seconds", ACTIVATION_BUCKETS_SECONDS)
            _add(lifetime, recent_cohorts(readout.all_time(self.table, partition)), [p])
        yield from families.values()
        yield from lifetime.values()
        yield checkout
        yield session
        yield activation
        yield watermark
        yield settled


def recent_cohorts(values: Mapping) -> dict:
    """Lifetime values, with the retention cohorts of the latest RETAINED_COHORTS weeks only:
    the label stays bounded while the table keeps every week."""
    weeks = sorted({key.split("|")[1] for key in values if key.startswith("retention_cohort|")})
    kept = set(weeks[-RETAINED_COHORTS:])
    return {key: value for key, value in values.items()
            if not key.startswith("retention_cohort|") or key.split("|")[1] in kept}


def _add(families: dict[str, GaugeMetricFamily], values, common: list[str]) -> None:
    for key, value in values.items():
        prefix, *dims = key.split("|")
        family = families.get(prefix)
        if family is not None:
            family.add_metric([*common, *dims], float(value))


def _add_histogram(family: GaugeHistogramMetricFamily, values, common: list[str], name: str,
                   bounds: tuple[int, ...]) -> None:
    count = values.get(f"{name}_count", 0)
    if not count:
        return
    buckets = [(str(bound), float(values.get(f"{name}_bucket|{bound}", 0))) for bound in bounds]
    family.add_metric(common, [*buckets, ("+Inf", float(count))],
                      gsum_value=float(values.get(f"{name}_sum", 0)))


__all__ = ["KpiCollector", "KpiGauge"]
