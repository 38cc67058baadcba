"""The counting agent under Faust's test_context: no broker involved."""

from streams.pipeline_health import count_consumed, events_consumed


async def test_counts_each_event_once_per_source_partition():
    async with count_consumed.test_context() as agent:
        for n in range(5):
            await agent.put(b"event %d" % n, key=b"user")
    totals = [state["events"] for state in events_consumed.data.values()]
    assert sum(totals) == 5
