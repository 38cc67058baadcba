"""Produce simulator messages to the Kafka input topics with aiokafka, paced by event
time.

Each message goes to `topics[message.stream]`, keyed by its user key (a spend row, stream
`ad_spend`, by its spend id), with its event time as the record timestamp: ingestion
judges a message by its record timestamp (future and stale events), so a run generated
ahead of the wall clock, or of a past day, is judged as if it had been sent live. The
producer is idempotent (no duplicates from its own retries) and lingers a little to batch.
"""

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulator.events import SimulatedMessage
from simulator.pacing import Pacer

DEFAULT_TOPICS: dict[str, str] = {
    "clickstream": "clickstream",
    "cart": "cart",
    "purchase": "purchase",
}
"""Stream -> topic, as kpiwatch's settings name them by default."""

_YIELD_EVERY = 1_000


@dataclass(frozen=True, slots=True)
class ProduceProgress:
    sent: int
    elapsed_seconds: float
    event_time: datetime | None
    """Event time of the last message sent."""

    @property
    def per_second(self) -> float:
        return self.sent / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def aiokafka_producer(bootstrap_servers: str, linger_ms: int = 20) -> Any:
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        client_id="kpiwatch-simulator",
    )


async def produce(
    messages: Iterable[SimulatedMessage],
    topics: Mapping[str, str],
    bootstrap_servers: str,
    *,
    speed: float = 1.0,
    on_progress: Callable[[ProduceProgress], None] | None = None,
    progress_interval: float = 5.0,
    producer_factory: Callable[[str], Any] = aiokafka_producer,
) -> int:
    """Send `messages` to their topics and return how many were sent.

    `speed` 1 sends in real time, N at N times real time, 0 as fast as possible.
    `on_progress` is called about every `progress_interval` seconds and once at the end.
    """
    missing = set(DEFAULT_TOPICS) - set(topics)
    if missing:
        raise ValueError(f"topics has no topic for stream(s) {', '.join(sorted(missing))}")
    pacer = Pacer(speed)
    producer = producer_factory(bootstrap_servers)
    await producer.start()
    started = last_report = time.monotonic()
    sent, event_time = 0, None
    try:
        for message in messages:
            wait = pacer.wait_seconds(message.event_time)
            if wait > 0:
                await producer.flush()
                await asyncio.sleep(wait)
            await producer.send(
                topics[message.stream],
                message.value,
                key=message.key,
                timestamp_ms=int(message.event_time.timestamp() * 1000),
            )
            sent, event_time = sent + 1, message.event_time
            if sent % _YIELD_EVERY == 0:
                # Let the producer's sender task run when nothing else makes us wait.
                await asyncio.sleep(0)
            if on_progress is not None and time.monotonic() - last_report >= progress_interval:
                last_report = time.monotonic()
                on_progress(ProduceProgress(sent, last_report - started, event_time))
        await producer.flush()
    finally:
        await producer.stop()
    if on_progress is not None:
        on_progress(ProduceProgress(sent, time.monotonic() - started, event_time))
    return sent
