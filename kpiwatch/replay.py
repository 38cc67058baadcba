"""Replay JSONL files into the input topics: for backfills and for replaying an incident.

Each line is one message as a shop would send it (canonical, Segment or GA4), or a simulator
line ``{"stream": ..., "key": ..., "value": {...}}``. A message goes to the input topic of its
event type (models/streams.py), keyed by its user key, so it lands where the shop's own
producer would have put it. A line that does not parse is produced as it is to the
clickstream topic: ingestion sends it to the dead letters with the reason, nothing is dropped
here.

Pacing follows event time: ``speed=0`` as fast as possible, ``1`` real time, ``N`` N times
real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from models import ParseLimits, parse_message
from models.streams import CLICKSTREAM, STREAM_OF_TYPE

# Replayed history may be of any age and stamped in any clock: judge nothing by time here,
# ingestion applies the configured limits.
_ANY_TIME = ParseLimits(future_skew=timedelta(days=365_000), replay_horizon=timedelta(days=365_000))


@dataclass(frozen=True)
class ReplayRecord:
    stream: str
    key: bytes | None
    value: bytes
    event_time: datetime | None


def read_records(paths: Iterable[Path]) -> Iterator[ReplayRecord]:
    for path in paths:
        with path.open("rb") as lines:
            for line in lines:
                line = line.strip()
                if line:
                    yield to_record(line)


def to_record(line: bytes) -> ReplayRecord:
    try:
        wrapped = orjson.loads(line)
    except orjson.JSONDecodeError:
        wrapped = None
    if isinstance(wrapped, dict) and {"stream", "value"} <= wrapped.keys():
        value = wrapped["value"]
        raw = value.encode() if isinstance(value, str) else orjson.dumps(value)
        key = wrapped.get("key")
        routed = to_record(raw)
        return ReplayRecord(wrapped["stream"], key.encode() if key else routed.key, raw,
                            routed.event_time)
    outcome = parse_message(line, now=datetime.now(UTC), limits=_ANY_TIME)
    if not outcome.events:
        return ReplayRecord(CLICKSTREAM, None, line, None)
    first = outcome.events[0]
    return ReplayRecord(STREAM_OF_TYPE[first.type], first.user_key.encode(), line,
                        first.timestamp)


async def replay(
    records: Iterable[ReplayRecord],
    topics: dict[str, str],
    bootstrap_servers: str,
    speed: float = 0.0,
    on_progress: Callable[[int], None] = lambda sent: None,
) -> int:
    """Produce ``records`` to ``topics[record.stream]``; returns how many were sent."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True,
                                linger_ms=10)
    await producer.start()
    sent = 0
    first_event: datetime | None = None
    started = time.monotonic()
    try:
        for record in records:
            if speed > 0 and record.event_time is not None:
                first_event = first_event or record.event_time
                due = started + (record.event_time - first_event).total_seconds() / speed
                if (delay := due - time.monotonic()) > 0:
                    await producer.flush()
                    await asyncio.sleep(delay)
            await producer.send(topics[record.stream], record.value, key=record.key)
            sent += 1
            if sent % 1000 == 0:
                on_progress(sent)
        await producer.flush()
    finally:
        await producer.stop()
    on_progress(sent)
    return sent
