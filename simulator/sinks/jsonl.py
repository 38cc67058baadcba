"""Simulator output as JSON lines, one message per line, in the wrapper that
`kpiwatch replay` (and `python -m simulator --replay`) read:

    {"stream": "cart", "key": "anon-5f0c...", "event_time": "2026-11-20T12:00:01.250Z",
     "value": {"type": "cart_add", "event_id": ..., ...}}

- `stream`: the input stream (clickstream, cart or purchase), mapped to a topic on replay;
- `key`: the Kafka key, the user key (anonymous_id) as text;
- `event_time`: the event's timestamp, ISO 8601 UTC, for pacing;
- `value`: the message itself: the JSON object when it is one, else its raw text as a
  JSON string (the malformed messages of a bad-events incident).

The value is spliced into the line byte for byte, so a file reads back to exactly the
messages written.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

import orjson

from simulator.events import SimulatedMessage
from simulator.formats.timestamps import iso_millis


def to_line(message: SimulatedMessage) -> bytes:
    head = orjson.dumps(
        {
            "stream": message.stream,
            "key": message.key.decode(),
            "event_time": iso_millis(message.event_time),
        }
    )
    return head[:-1] + b',"value":' + _value_json(message.value) + b"}\n"


def from_line(line: bytes) -> SimulatedMessage:
    wrapper = orjson.loads(line)
    value = wrapper["value"]
    raw = value.encode() if isinstance(value, str) else orjson.dumps(value)
    return SimulatedMessage(
        wrapper["stream"],
        wrapper["key"].encode(),
        raw,
        datetime.fromisoformat(wrapper["event_time"]),
    )


def write_jsonl(
    messages: Iterable[SimulatedMessage],
    path: Path,
    on_written: Callable[[int], None] | None = None,
) -> int:
    """Write `messages` to `path` (replacing it); returns how many were written.
    `on_written(count)` is called every 10,000 lines."""
    written = 0
    with path.open("wb") as file:
        for message in messages:
            file.write(to_line(message))
            written += 1
            if on_written is not None and written % 10_000 == 0:
                on_written(written)
    return written


def read_jsonl(path: Path) -> Iterator[SimulatedMessage]:
    """The messages of a file written by `write_jsonl`; blank lines are skipped."""
    with path.open("rb") as file:
        for line in file:
            if line.strip():
                yield from_line(line)


def _value_json(value: bytes) -> bytes:
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        decoded = None
    # A compact object as orjson writes it reads back to the same bytes; anything else
    # is kept as a string so that it reads back unchanged.
    if isinstance(decoded, dict) and orjson.dumps(decoded) == value:
        return value
    return orjson.dumps(value.decode("utf-8", errors="replace"))
