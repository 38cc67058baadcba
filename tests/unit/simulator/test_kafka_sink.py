"""The Kafka sink against a stand-in producer: topics by stream, keys, record timestamps,
pacing and progress. The real broker is exercised by the integration tier."""

from datetime import datetime, timedelta

import pytest

from simulator.pacing import Pacer
from simulator.sinks.kafka import ProduceProgress, produce
from tests.unit.simulator.fixtures import START, simulate

pytestmark = pytest.mark.unit

TOPICS = {"clickstream": "shop-clicks", "cart": "shop-carts", "purchase": "shop-orders"}


class RecordingProducer:
    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def send(self, topic, value, key=None, timestamp_ms=None):
        self.sent.append((topic, key, value, timestamp_ms))

    async def flush(self) -> None:
        self.calls.append("flush")

    async def stop(self) -> None:
        self.calls.append("stop")


async def test_messages_go_to_their_streams_topic_keyed_and_stamped_with_event_time():
    messages = [labelled.message for labelled in simulate(minutes=2)]
    producers: list[RecordingProducer] = []
    progress: list[ProduceProgress] = []

    def factory(bootstrap_servers: str) -> RecordingProducer:
        producers.append(RecordingProducer(bootstrap_servers))
        return producers[0]

    sent = await produce(
        messages,
        TOPICS,
        "kafka:9092",
        speed=0,
        on_progress=progress.append,
        producer_factory=factory,
    )
    producer = producers[0]
    assert sent == len(messages) == len(producer.sent)
    assert producer.bootstrap_servers == "kafka:9092"
    assert producer.calls[0] == "start" and producer.calls[-1] == "stop"
    for message, (topic, key, value, timestamp_ms) in zip(messages, producer.sent, strict=True):
        assert (topic, key, value) == (TOPICS[message.stream], message.key, message.value)
        assert timestamp_ms == int(message.event_time.timestamp() * 1000)
    assert progress[-1].sent == len(messages)
    assert progress[-1].event_time == messages[-1].event_time


async def test_a_missing_topic_is_refused_before_connecting():
    with pytest.raises(ValueError, match="purchase"):
        await produce(
            [], {"clickstream": "a", "cart": "b"}, "kafka:9092", producer_factory=RecordingProducer
        )


def test_pacing_follows_event_time_at_the_chosen_speed():
    now = [100.0]
    pacer = Pacer(speed=2, clock=lambda: now[0])
    assert pacer.wait_seconds(START) == 0
    assert pacer.wait_seconds(START + timedelta(seconds=10)) == pytest.approx(5)
    now[0] = 104.0
    assert pacer.wait_seconds(START + timedelta(seconds=10)) == pytest.approx(1)
    now[0] = 110.0
    assert pacer.wait_seconds(START + timedelta(seconds=10)) == 0


def test_speed_zero_never_waits():
    pacer = Pacer(speed=0)
    assert (
        pacer.wait_seconds(START)
        == pacer.wait_seconds(datetime.max.replace(tzinfo=START.tzinfo))
        == 0
    )


def test_a_negative_speed_is_refused():
    with pytest.raises(ValueError, match="speed"):
        Pacer(speed=-1)
