"""Pipeline-health agents under Faust's test_context: no broker involved."""

from datetime import UTC, datetime

import orjson

from streams.dead_letters import DeadLetter
from streams.dedup import ORIGIN_OFFSET_HEADER
from streams.ingest import SOURCE_TOPIC_HEADER
from streams.pipeline_health import (
    count_dead_letters,
    count_events,
    dead_letter_counts,
    event_counts,
)


def canonical(n: int, **fields) -> bytes:
    return orjson.dumps({
        "event_id": f"e{n}", "type": "page_view", "timestamp": datetime.now(UTC).isoformat(),
        "anonymous_id": "a1", "device": "desktop", "channel": "direct", "is_bot": False,
        **fields,
    })


async def test_counts_events_by_stream_and_type_and_skips_replayed_origins():
    async with count_events.test_context() as agent:
        for origin in (0, 1, 2, 1, 2, 3):  # 1 and 2 re-emitted after an upstream crash
            await agent.put(canonical(origin), key=b"a1", headers={
                ORIGIN_OFFSET_HEADER: str(origin).encode(),
                SOURCE_TOPIC_HEADER: b"clickstream",
            })
    states = list(event_counts.data.values())
    assert sum(s["events"]["clickstream|page_view"] for s in states) == 4


async def test_counts_rejections_by_reason_once_per_source_position():
    async with count_dead_letters.test_context() as agent:
        for offset, reason in [(5, "not_json"), (9, "too_large"), (9, "too_large")]:
            letter = DeadLetter(reason, "cart", 2, offset, 0, "detail")
            await agent.put(b"raw", key=letter.key, headers=letter.headers())
    (state,) = dead_letter_counts.data.values()
    assert state["invalid"] == {"not_json": 1, "too_large": 1}
    assert state["source_topic"] == "cart"
