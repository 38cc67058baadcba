"""Pipeline health: is the monitor itself seeing every event? (KPIS.md section 4, last table)

State:
- ``event-counts``, per canonical partition: valid events by input stream and type, bot events,
  the latest event time (one write per batch, guarded by the batch's offset);
- ``dead-letter-counts``, per dead-letter key (source topic and partition): rejections by reason.
Exported by metrics/collectors.py (kpiwatch_events_total, kpiwatch_invalid_events_total, ...).
"""

from __future__ import annotations

from streams.app import app, settings
from streams.applied_once import apply_once, partition_key
from streams.batches import partition_of
from streams.dead_letters import DeadLetter
from streams.state_format import table_name
from streams.topics import dead_letter_topic

# One table per source topic: a table's changelog partition is its source event's partition.
# Their names carry the state format (streams/state_format.py): "event-counts-v1", ...
event_counts = app.Table(table_name("event-counts"))
dead_letter_counts = app.Table(table_name("dead-letter-counts"))

EVENTS = "events"  # {"<stream>|<type>": count}
BOTS = "bots"
INVALID = "invalid"  # {"<reason>": count}
WATERMARK = "watermark"  # the latest event time received (s)


def _increment(state: dict, field: str, name: str) -> None:
    counts = dict(state.get(field) or {})
    counts[name] = counts.get(name, 0) + 1
    state[field] = counts


def counted_here(event, partition: int) -> bool:
    """Whether this canonical partition counts the event: ingestion sends a user-id-only
    event to every partition (streams/kpis/identity.py), counted by its user id's only, and
    identity links, which are no events of the shop, to all."""
    if event.type == "identity_link":
        return False
    if event.anonymous_id is None:
        return partition_of(event.user_id, settings.topic_partitions) == partition
    return True


def count_batch(topic: str, partition: int, offset: int, events) -> None:
    """Counts one canonical batch as it arrives (the KPI agent calls this): valid events by
    input stream and type, bots, and the latest event time. Duplicates are in it too (they are
    found later, when their minute settles: kpiwatch_duplicate_events_total)."""

    def update(state: dict) -> None:
        counts = dict(state.get(EVENTS) or {})
        bots, latest = state.get(BOTS, 0), state.get(WATERMARK)
        for source, canonical, _ in events:
            if not counted_here(canonical, partition):
                continue
            name = f"{source.topic}|{canonical.type}"
            counts[name] = counts.get(name, 0) + 1
            bots += canonical.is_bot
            seconds = canonical.timestamp.timestamp()
            latest = seconds if latest is None else max(latest, seconds)
        state[EVENTS], state[BOTS], state[WATERMARK] = counts, bots, latest

    apply_once(event_counts, partition_key(topic, partition), partition, offset, update)


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
