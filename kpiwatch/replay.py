"""Replay JSONL files into the input topics: for backfills and for replaying an incident.

Each line is one message as a shop would send it (canonical, Segment or GA4), or a simulator
line ``{"stream": ..., "key": ..., "value": {...}}``. A message goes to the input topic of its
event type (models/streams.py), keyed by its user key, so it lands where the shop's own
producer would have put it. A line that does not parse is produced as it is to the
clickstream topic: ingestion sends it to the dead letters with the reason, nothing is dropped
here.

Sending is the simulator's Kafka sink (simulator/sinks/kafka.py): paced by event time
(``speed=0`` as fast as possible, ``1`` real time, ``N`` N times real time), with each record's
Kafka timestamp set to its event time, so replayed history is judged at ingestion as it was
when it happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from models import ParseLimits, parse_message
from models.streams import CLICKSTREAM, STREAM_OF_TYPE
from simulator.events import SimulatedMessage

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


def as_messages(records: Iterable[ReplayRecord]) -> Iterator[SimulatedMessage]:
    """Records as the simulator's Kafka sink sends them. A line without a time (it did not
    parse) takes the time of the line before it, so pacing and the record timestamp stay
    sensible; ingestion rejects it anyway."""
    last = datetime.now(UTC)
    for record in records:
        last = record.event_time or last
        yield SimulatedMessage(record.stream, record.key, record.value, last)
