"""Pipeline-health metrics: last event time from table states, consumer lag, latency."""

from faust.types import TP
from prometheus_client import CollectorRegistry

from metrics.collectors import ConsumerLagCollector, LastEventCollector
from models import decode_canonical, encode_canonical
from streams.batches import BatchBuilder, Source, decode_message, encode_line
from tests.kpi_oracle.shop import shop_events


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
    clicks, changelog, unknown = TP("clicks", 2), TP("app-kpi-state-v1-changelog", 2), TP("clicks", 3)
    consumer = FakeConsumer({clicks: 120, changelog: 9, unknown: None},
                            {clicks: 100, changelog: 0, unknown: 5})
    collector = ConsumerLagCollector(lambda: {"clicks"})
    await collector.refresh(consumer, [clicks, changelog, unknown, TP("clicks", 7)])
    registry = registry_with(collector)
    assert registry.get_sample_value("kpiwatch_consumer_lag_messages",
                                     {"topic": "clicks", "partition": "2"}) == 20
    assert len(collector.lags) == 1


def test_batches_carry_each_event_and_its_input_position_and_time():
    events = shop_events(30)
    builder = BatchBuilder()
    for n, event in enumerate(events):
        builder.add(encode_line(Source("clicks", 2, 100 + n, 1_700_000_000_250 + n), event))
    (value,) = builder.messages({"clicks:2": 1})
    header, lines = decode_message(value)
    assert header["sources"] == {"clicks:2": 1}
    decoded = [(source, decode_canonical(raw), raw) for source, raw in lines]
    assert [e for _, e, _ in decoded] == events
    assert [s.offset for s, _, _ in decoded] == list(range(100, 100 + len(events)))
    assert decoded[0][0].input_ms == 1_700_000_000_250 and decoded[0][0].name == "clicks:2"
    assert decode_canonical(decoded[0][2]) == events[0]
    assert encode_canonical(events[0]) == decoded[0][2]
