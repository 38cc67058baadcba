"""Pipeline-health agents under Faust's test_context: no broker involved."""

from datetime import UTC, datetime

import orjson

from models import decode_canonical
from streams.batches import BatchBuilder, Source, encode_line
from streams.dead_letters import DeadLetter
from streams.kpis import agent as kpi_agent
from streams.kpis.agent import compute_kpis
from streams.pipeline_health import count_dead_letters, dead_letter_counts, event_counts


def canonical(n: int, **fields) -> bytes:
    return orjson.dumps({
        "event_id": f"e{n}", "type": "page_view", "timestamp": datetime.now(UTC).isoformat(),
        "anonymous_id": "a1", "device": "desktop", "channel": "direct", "is_bot": False,
        **fields,
    })


async def test_counts_batches_by_stream_and_type():
    # Through the KPI agent, which counts each batch it reads (a replayed batch is skipped by
    # apply_once on the batch offset: tests/unit/test_applied_once.py).
    event_counts.data.clear()
    kpi_agent.owned.add(0)  # as an assignment would (no broker here)
    kpi_agent.log_starts[0] = (0, 0.0)
    async with compute_kpis.test_context() as agent:
        for n in range(3):
            builder = BatchBuilder()
            for k in range(n + 1):
                builder.add(encode_line(Source("clickstream", 0, n, 0),
                                        decode_canonical(canonical(10 * n + k))))
            await agent.put(builder.messages({})[0], partition=0)
    (state,) = event_counts.data.values()
    assert state["events"]["clickstream|page_view"] == 6
    assert state["watermark"] > 0


async def test_counts_rejections_by_reason_once_per_source_position():
    async with count_dead_letters.test_context() as agent:
        for offset, reason in [(5, "not_json"), (9, "too_large"), (9, "too_large")]:
            letter = DeadLetter(reason, "cart", 2, offset, 0, "detail")
            await agent.put(b"raw", key=letter.key, headers=letter.headers())
    (state,) = dead_letter_counts.data.values()
    assert state["invalid"] == {"not_json": 1, "too_large": 1}
    assert state["source_topic"] == "cart"
