"""Collectors that read Faust tables at scrape time.

Nothing is bumped in the hot path: each scrape yields metric families fresh from the table
state, so what Prometheus sees after a crash and replay is what the recovered tables hold.
Only states of partitions this worker actively owns are exported (standby or revoked copies
would count twice across workers).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from metrics.catalog import (
    BOT_EVENTS,
    CONSUMER_LAG,
    DUPLICATE_EVENTS,
    EVENTS,
    INVALID_EVENTS,
    LAST_EVENT_TIME,
    MetricSpec,
)
from streams.applied_once import PARTITION

State = dict
States = Callable[[], Iterable[State]]


def counter_family(spec: MetricSpec, samples: Counter) -> CounterMetricFamily:
    family = CounterMetricFamily(spec.name.removesuffix("_total"), spec.help,
                                 labels=list(spec.labels))
    for labels, value in sorted(samples.items()):
        family.add_metric(list(labels), value)
    return family


def owned_states(table, topic_name: Callable[[], str], active: Callable[[], set]) -> States:
    """The table's states whose partition of ``topic_name`` this worker actively owns."""

    def states() -> Iterator[State]:
        owned = active()
        topic = topic_name()
        for state in list(table.data.values()):
            if isinstance(state, dict) and (topic, state.get(PARTITION)) in owned:
                yield state

    return states


class EventCountsCollector(Collector):
    def __init__(self, states: States) -> None:
        self.states = states

    def collect(self) -> Iterator[Metric]:
        events: Counter = Counter()
        bots: Counter = Counter()
        for state in self.states():
            partition = str(state[PARTITION])
            for stream_type, count in (state.get("events") or {}).items():
                stream, _, event_type = stream_type.partition("|")
                events[(stream, event_type, partition)] += count
            bots[(partition,)] += state.get("bots", 0)
        yield counter_family(EVENTS, events)
        yield counter_family(BOT_EVENTS, bots)


class DeadLetterCountsCollector(Collector):
    def __init__(self, states: States) -> None:
        self.states = states

    def collect(self) -> Iterator[Metric]:
        invalid: Counter = Counter()
        for state in self.states():
            stream = state.get("source_topic", "?")
            for reason, count in (state.get("invalid") or {}).items():
                invalid[(stream, reason, str(state[PARTITION]))] += count
        yield counter_family(INVALID_EVENTS, invalid)


class DedupCollector(Collector):
    def __init__(self, states: States) -> None:
        self.states = states

    def collect(self) -> Iterator[Metric]:
        duplicates: Counter = Counter()
        for state in self.states():
            partition = str(state[PARTITION])
            duplicates[("event_id", partition)] += state.get("duplicate_events", 0)
            duplicates[("order_id", partition)] += state.get("duplicate_orders", 0)
        yield counter_family(DUPLICATE_EVENTS, duplicates)


def gauge_family(spec: MetricSpec, samples: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    for labels, value in sorted(samples.items()):
        family.add_metric(list(labels), value)
    return family


class LastEventCollector(Collector):
    """The latest event time received, per partition (the event-count records). The KPI
    engine's watermark and settled minutes are exported by metrics/kpi_collector.py."""

    def __init__(self, states: States) -> None:
        self.states = states

    def collect(self) -> Iterator[Metric]:
        last_event = {(str(state[PARTITION]),): float(state["watermark"])
                      for state in self.states() if state.get("watermark") is not None}
        yield gauge_family(LAST_EVENT_TIME, last_event)


class ConsumerLagCollector(Collector):
    """Highwater minus position of each consumed partition this worker owns.

    The consumer's position is asynchronous, so ``refresh`` (awaited before each scrape) takes
    the readings and ``collect`` reports them.
    """

    def __init__(self, topics: Callable[[], set[str]]) -> None:
        self.topics = topics
        self.lags: dict[tuple[str, str], int] = {}

    async def refresh(self, consumer, assigned: Iterable) -> None:
        topics = self.topics()
        lags = {}
        for tp in assigned:
            if tp.topic not in topics:
                continue
            try:
                highwater = consumer.highwater(tp)
                # Bounded: during a rebalance the position may wait for an offset reset.
                position = await asyncio.wait_for(consumer.position(tp), timeout=0.5)
            except Exception:  # noqa: BLE001 - a partition moving away has no reading; skip it
                continue
            if highwater is not None and position is not None:
                lags[(tp.topic, str(tp.partition))] = max(highwater - position, 0)
        self.lags = lags

    def collect(self) -> Iterator[Metric]:
        yield gauge_family(CONSUMER_LAG, self.lags)
