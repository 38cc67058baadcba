"""Pipeline-health metrics: last event time from table states, consumer lag, latency."""

from types import SimpleNamespace

from faust.types import TP
from prometheus_client import CollectorRegistry

from metrics.collectors import ConsumerLagCollector, LastEventCollector
from streams.kpis.agent import input_time


def registry_with(collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def test_last_event_time_per_partition():
    dedup = [{"partition": 0, "watermark": 1_700_000_100.5}, {"partition": 1}]
    registry = registry_with(LastEventCollector(lambda: dedup))
    sample = registry.get_sample_value
    assert sample("kpiwatch_last_event_timestamp_seconds", {"partition": "0"}) == 1_700_000_100.5
    assert sample("kpiwatch_last_event_timestamp_seconds", {"partition": "1"}) is None


class FakeConsumer:
    def __init__(self, highwaters: dict, positions: dict) -> None:
        self.highwaters, self.positions = highwaters, positions

    def highwater(self, tp):
        return self.highwaters[tp]

    async def position(self, tp):
        return self.positions[tp]


async def test_consumer_lag_of_owned_consumed_partitions_only():
    clicks, changelog, unknown = TP("clicks", 2), TP("app-kpi-state-changelog", 2), TP("clicks", 3)
    consumer = FakeConsumer({clicks: 120, changelog: 9, unknown: None},
                            {clicks: 100, changelog: 0, unknown: 5})
    collector = ConsumerLagCollector(lambda: {"clicks"})
    await collector.refresh(consumer, [clicks, changelog, unknown, TP("clicks", 7)])
    registry = registry_with(collector)
    assert registry.get_sample_value("kpiwatch_consumer_lag_messages",
                                     {"topic": "clicks", "partition": "2"}) == 20
    assert len(collector.lags) == 1


def test_latency_is_measured_from_the_input_message():
    carried = SimpleNamespace(headers=[("kpiwatch-input-time", b"1700000000250")], timestamp=9.0)
    assert input_time(carried) == 1_700_000_000.25
    assert input_time(SimpleNamespace(headers=None, timestamp=9.0)) == 9.0
