"""The evaluator on the real Redis of the test stack, driven by writing settled window values
into the store directly (fast: no Kafka). See test_alerts_end_to_end.py for the full path."""

from __future__ import annotations

import asyncio
import multiprocessing

from tests.integration import alerts_fixtures
from tests.integration.alerts_fixtures import (
    RecordingSink,
    evaluator_process,
    shop_values,
    window,
)

alert_env = alerts_fixtures.alert_env

NORMAL = shop_values(paid_orders=20)  # paid_search converts at 4 %
DROP = shop_values(paid_orders=5)  # ... at 1 %: far below 70 % of last week's 4 %


async def feed(env, evaluator, windows: list) -> None:
    """Settle each window in turn (its week-ago twin normal) and let the evaluator judge it."""
    for n, values in windows:
        await env.write(n, values, week_ago=NORMAL)
        assert await evaluator.evaluate() == 1


async def test_a_drop_on_one_channel_fires_once_naming_it_and_resolves_once(alert_env):
    sink = RecordingSink()
    evaluator = alert_env.evaluator(sink)
    await feed(alert_env, evaluator, [(0, NORMAL), (1, DROP), (2, DROP), (3, DROP), (4, DROP)])
    assert sink.kinds == [("firing", {"channel": "paid_search"})]
    firing = sink.sent[0][0]
    assert "paid_search" in firing.summary and firing.value == 0.01
    assert firing.week_ago == 0.04 and firing.runbook_url
    assert firing.contributors[0].label == "paid_search"
    assert "paid_search -75%, others normal" in firing.summary
    await feed(alert_env, evaluator, [(5, NORMAL), (6, NORMAL)])
    assert sink.kinds == [("firing", {"channel": "paid_search"}),
                          ("resolved", {"channel": "paid_search"})]
    timeline = await alert_env.states.timeline(firing.incident_id)
    assert [e["event"] for e in timeline] == ["pending", "firing", "resolved"]


async def test_a_one_window_dip_sends_nothing(alert_env):
    sink = RecordingSink()
    evaluator = alert_env.evaluator(sink)
    await feed(alert_env, evaluator, [(0, NORMAL), (1, DROP), (2, NORMAL), (3, DROP), (4, NORMAL)])
    assert sink.sent == []


async def test_a_low_volume_window_never_fires(alert_env):
    sink = RecordingSink()
    evaluator = alert_env.evaluator(sink)
    quiet_drop = shop_values(paid_orders=0, sessions=50)  # 0 % of 50 sessions: under min volume
    await feed(alert_env, evaluator, [(n, quiet_drop) for n in range(5)])
    assert sink.sent == []
    assert evaluator.metrics.evaluations.labels("channel_conversion_drop",
                                                "low_volume")._value.get() >= 5


async def test_a_window_is_judged_only_once_every_partition_settled_it(alert_env):
    sink = RecordingSink()
    evaluator = alert_env.evaluator(sink)
    await feed(alert_env, evaluator, [(0, NORMAL), (1, DROP)])
    # window 2 settled on partition 0 only: not complete, not judged
    await alert_env.windows.publish(0, [("15m", window(2).start_ms, DROP)], window(2).end_ms)
    assert await evaluator.evaluate() == 0
    assert sink.sent == []


async def test_state_survives_a_restart(alert_env):
    first = RecordingSink()
    await feed(alert_env, alert_env.evaluator(first), [(0, NORMAL), (1, DROP)])
    assert first.sent == []  # pending: one breach of the two needed
    # a new evaluator (new connections, as after a worker restart) carries on from Redis
    second = RecordingSink()
    await feed(alert_env, alert_env.evaluator(second), [(2, DROP)])
    assert second.kinds == [("firing", {"channel": "paid_search"})]


async def test_silenced_dimension_sends_nothing_but_keeps_state(alert_env):
    sink = RecordingSink()
    evaluator = alert_env.evaluator(sink)
    await alert_env.states.silence("channel_conversion_drop", "channel=paid_search", 3600, "test")
    await feed(alert_env, evaluator, [(0, NORMAL), (1, DROP), (2, DROP)])
    assert sink.sent == []
    states = await alert_env.states.states("channel_conversion_drop")
    assert states["channel=paid_search"].status == "firing"


async def test_two_evaluator_processes_send_one_message(alert_env):
    client = alert_env.windows.client
    sink_key = f"test:{alert_env.app_id}:sent"
    stop_key = f"test:{alert_env.app_id}:stop"
    await alert_env.write(0, NORMAL, week_ago=NORMAL)
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=evaluator_process,
                               args=(alert_env.redis_url, alert_env.app_id, sink_key, stop_key))
                 for _ in range(2)]
    for process in processes:
        process.start()
    try:
        for n, values in [(1, DROP), (2, DROP), (3, DROP), (4, NORMAL)]:
            await wait_for_cursor(alert_env, window(n - 1).end_ms)
            await alert_env.write(n, values, week_ago=NORMAL)
        await wait_for_cursor(alert_env, window(4).end_ms)
    finally:
        await client.set(stop_key, 1)
        for process in processes:
            process.join(30)
    sent = [s.decode() for s in await client.lrange(sink_key, 0, -1)]
    assert [s.split(":")[1] for s in sent] == ["firing", "resolved"], sent
    assert all(p.exitcode == 0 for p in processes)


async def wait_for_cursor(env, end_ms: int, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await env.states.cursor("channel_conversion_drop") or 0) < end_ms:
        assert loop.time() < deadline, f"evaluators did not reach {end_ms} in {timeout} s"
        await asyncio.sleep(0.05)
