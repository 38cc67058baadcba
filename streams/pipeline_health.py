"""Pipeline health: is the monitor itself seeing the events? (KPIS.md section 4, last table)

State: one value per (input stream, source partition): events consumed.
Exported by metrics/collectors.py as ``kpiwatch_events_consumed_total``.
"""

from __future__ import annotations

from streams.app import app
from streams.applied_once import apply_once, partition_key
from streams.topics import input_topics

events_consumed = app.Table("events-consumed")


def _count(state: dict) -> None:
    state["events"] = state.get("events", 0) + 1


@app.agent(input_topics, concurrency=1)
async def count_consumed(stream):
    async for event in stream.events():
        message = event.message
        apply_once(
            events_consumed,
            partition_key(message.topic, message.partition),
            message.offset,
            _count,
        )
