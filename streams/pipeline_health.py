"""Pipeline health: is the monitor itself seeing every event? (KPIS.md section 4, last table)

State:
- ``event-counts``, per canonical partition: valid events by input stream and type, bot events;
- ``dead-letter-counts``, per dead-letter key (source topic and partition): rejections by reason.
Exported by metrics/collectors.py (kpiwatch_events_total, kpiwatch_invalid_events_total, ...).
"""

from __future__ import annotations

from models import decode_canonical
from streams.app import app
from streams.applied_once import apply_once, partition_key
from streams.dead_letters import DeadLetter
from streams.dedup import ORIGIN_OFFSET_HEADER
from streams.ingest import SOURCE_TOPIC_HEADER
from streams.topics import canonical_topic, dead_letter_topic

# One table per source topic: a table's changelog partition is its source event's partition.
event_counts = app.Table("event-counts")
dead_letter_counts = app.Table("dead-letter-counts")

EVENTS = "events"  # {"<stream>|<type>": count}
BOTS = "bots"
INVALID = "invalid"  # {"<reason>": count}


def _increment(state: dict, field: str, name: str) -> None:
    counts = dict(state.get(field) or {})
    counts[name] = counts.get(name, 0) + 1
    state[field] = counts


@app.agent(canonical_topic, concurrency=1)
async def count_events(stream):
    async for event in stream.events():
        message = event.message
        headers = dict(message.headers or {})
        source = headers.get(SOURCE_TOPIC_HEADER, b"?").decode()
        canonical = decode_canonical(message.value)

        def update(state: dict) -> None:
            _increment(state, EVENTS, f"{source}|{canonical.type}")
            if canonical.is_bot:
                state[BOTS] = state.get(BOTS, 0) + 1

        apply_once(
            event_counts,
            partition_key(message.topic, message.partition),
            message.partition,
            int(headers[ORIGIN_OFFSET_HEADER]),
            update,
        )


def _record_rejection(state: dict, letter: DeadLetter) -> None:
    state["source_topic"] = letter.source_topic
    _increment(state, INVALID, letter.reason)


@app.agent(dead_letter_topic, concurrency=1)
async def count_dead_letters(stream):
    async for event in stream.events():
        message = event.message
        letter = DeadLetter.from_headers(message.headers or {})
        apply_once(
            dead_letter_counts,
            partition_key("dead-letter", letter.source_topic, letter.source_partition),
            message.partition,
            (letter.source_offset, letter.rejection_index),
            lambda state: _record_rejection(state, letter),
        )
