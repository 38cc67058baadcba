"""Deduplication: drops repeated ``event_id`` and repeated ``order_id``, exactly, within
``KPIWATCH_DEDUP_HORIZON`` of event time, then forwards first occurrences to the canonical topic.

State, per validated-topic partition P:
- table ``dedup-ids``: ``<topic>:P:e:<event_id>`` and ``<topic>:P:o:<order_id>``, the offset that
  first carried it and its event time, forgotten once older than the partition's watermark
  minus the horizon;
- table ``dedup-summary``: ``<topic>:P``, the watermark (latest event time seen) and the counts
  of what was dropped.

Exact under replay: an id whose remembered offset is the current offset is the same message
replayed after a crash, not a duplicate, so it is forwarded again; the canonical copy carries
its origin offset, and the next stage skips what it has applied already. An event older than
the horizon cannot be checked against forgotten ids, so it goes to the dead letters
(``beyond_dedup_horizon``) instead of being counted twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from models import OrderCompleted, decode_canonical
from streams.app import app, settings
from streams.applied_once import APPLIED_OFFSET, PARTITION, partition_key
from streams.dead_letters import DeadLetter
from streams.topics import canonical_topic, dead_letter_topic, validated_topic

ORIGIN_OFFSET_HEADER = "kpiwatch-origin-offset"
BEYOND_DEDUP_HORIZON = "beyond_dedup_horizon"
PURGE_EVERY_SECONDS = 30.0

dedup_ids = app.Table("dedup-ids")
dedup_summary = app.Table("dedup-summary")
_last_purge: dict[int, float] = {}


def _summary_key(partition: int) -> str:
    return partition_key(validated_topic.get_topic_name(), partition)


async def _dead_letter(message, detail: str) -> None:
    letter = DeadLetter(BEYOND_DEDUP_HORIZON, message.topic, message.partition, message.offset,
                        0, detail)
    await dead_letter_topic.send(key=letter.key, value=message.value, headers=letter.headers())


@app.agent(validated_topic, concurrency=1)
async def deduplicate(stream):
    horizon = settings.dedup_horizon.total_seconds()
    async for event in stream.events():
        message = event.message
        canonical = decode_canonical(message.value)
        partition, offset = message.partition, message.offset
        summary_key = _summary_key(partition)
        summary = dict(dedup_summary.get(summary_key) or {})
        first_time = summary.get(APPLIED_OFFSET, -1) < offset
        event_time = canonical.timestamp.timestamp()
        watermark = summary.get("watermark", event_time)

        ids = [partition_key(message.topic, partition, "e", canonical.event_id)]
        if isinstance(canonical, OrderCompleted):
            ids.append(partition_key(message.topic, partition, "o", canonical.order_id))
        seen = [dedup_ids.get(key) for key in ids]

        if any(s is not None and s["offset"] == offset for s in seen):
            verdict = "forward"  # this very message, replayed after a crash
        elif seen[0] is not None:
            verdict = "duplicate_events"
        elif len(seen) > 1 and seen[1] is not None:
            verdict = "duplicate_orders"
        elif event_time < watermark - horizon:
            verdict = "beyond_horizon"
        else:
            verdict = "forward"
            for key in ids:
                dedup_ids[key] = {"offset": offset, "ts": event_time}

        if verdict == "forward":
            await canonical_topic.send(
                key=message.key, value=message.value, partition=partition,
                headers={**dict(message.headers or {}),
                         ORIGIN_OFFSET_HEADER: str(offset).encode()},
            )
        elif verdict == "beyond_horizon":
            await _dead_letter(message, f"timestamp: {canonical.timestamp.isoformat()} is more "
                               f"than dedup_horizon before the partition's latest event "
                               f"{datetime.fromtimestamp(watermark, UTC).isoformat()}")
        if first_time:
            if verdict != "forward":
                summary[verdict] = summary.get(verdict, 0) + 1
            summary["watermark"] = max(watermark, event_time)
            summary[APPLIED_OFFSET] = offset
            summary[PARTITION] = partition
            dedup_summary[summary_key] = summary
            _maybe_purge(message.topic, partition, summary["watermark"] - horizon)


def _maybe_purge(topic: str, partition: int, older_than: float) -> None:
    """Forget ids older than the horizon. Runs inside an event of the same partition, so the
    tombstones go to that partition's changelog, where the ids were written."""
    now = time.monotonic()
    if now - _last_purge.get(partition, 0.0) < PURGE_EVERY_SECONDS:
        return
    _last_purge[partition] = now
    prefixes = (partition_key(topic, partition, "e", ""), partition_key(topic, partition, "o", ""))
    stale = [key for key, value in list(dedup_ids.data.items())
                 if key.startswith(prefixes) and value["ts"] < older_than]
    for key in stale:
        del dedup_ids[key]
