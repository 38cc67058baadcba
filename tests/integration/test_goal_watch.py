"""Goal progress, goal alerts and the digest (alerts/goal_watch.py) on the real Redis of the test
stack, fed by writing settled windows into the store on every partition (no Kafka)."""

from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry

from alerts.alert_metrics import GoalMetrics
from alerts.goal_watch import GoalWatcher
from alerts.goals import GoalSet
from alerts.state_store import StateStore
from alerts.window_store import WindowStore
from streams.windows import Window
from tests.integration import alerts_fixtures
from tests.integration.alerts_fixtures import PARTITIONS, RecordingSink, shop_values

alert_env = alerts_fixtures.alert_env

HOUR = 3_600_000
DAY_START = 1_764_000_000_000 - 1_764_000_000_000 % (24 * HOUR)  # a UTC midnight
NORMAL = shop_values(paid_orders=20)  # paid_search converts at 4 % of 500 sessions
DROP = shop_values(paid_orders=5)  # ... at 1 %
GOALS = {
    "digest": {"at": "09:00"},
    "goals": [
        {"name": "paid_conversion", "kpi": "conversion_rate", "channel": "paid_search",
         "target": 0.02, "period": "day", "alert": {"min_volume": {"sessions": 1000}}},
        {"name": "daily_orders", "kpi": "orders", "target": 960, "period": "day"},
    ],
}


def watcher(env, sink, clock_ms, registry=None, goals=GOALS) -> GoalWatcher:
    """``clock_ms``: a time, or a one-item list a test moves."""
    client = env.windows.client.__class__.from_url(env.redis_url)
    clock = clock_ms if isinstance(clock_ms, list) else [clock_ms]
    return GoalWatcher(GoalSet.model_validate(goals), WindowStore(client, env.app_id, PARTITIONS),
                       StateStore(client, env.app_id), sink, tz=ZoneInfo("UTC"),
                       sizes=("1d", "1h", "15m"), grafana_url="http://localhost:3000",
                       app_id=env.app_id, metrics=GoalMetrics.create(registry),
                       clock=lambda: clock[0] / 1000)


def hour(n: int) -> Window:
    return Window("1h", DAY_START + n * HOUR, DAY_START + (n + 1) * HOUR)


async def test_a_goal_falling_behind_alerts_once_and_says_when_it_is_back(alert_env):
    sink, registry = RecordingSink(), CollectorRegistry()
    now = DAY_START + 8 * HOUR  # before the digest's 09:00
    watch = watcher(alert_env, sink, now, registry)
    # Hour 0 alone: 4 % of 500 sessions, under the alert's 1000 sessions: judged, not told.
    await alert_env.write(hour(0), NORMAL)
    conversion, orders = await watch.tick()
    assert (conversion.value, conversion.status) == (0.04, "on_track")
    assert orders.value == 40 and orders.expected == 40  # 960 a day: 40 an hour
    for n, values in ((1, DROP), (2, DROP)):  # 30 orders of 1500 sessions: 2 %, on the target
        await alert_env.write(hour(n), values)
        assert (await watch.tick())[0].status == "on_track"
    assert sink.sent == []
    await alert_env.write(hour(3), DROP)  # 35 of 2000: 1.75 %
    conversion = (await watch.tick())[0]
    assert (conversion.value, conversion.status) == (0.0175, "at_risk")
    [(firing, targets)] = sink.sent
    assert firing.kind == "firing" and targets == ["default"]
    assert firing.rule == "goal:paid_conversion" and firing.dimension == {"channel": "paid_search"}
    assert firing.value == 0.0175 and firing.benchmark == 0.02 and firing.subject == "goal"
    assert "at risk" in firing.summary and firing.window_end == "2025-11-24T04:00:00Z"
    await alert_env.write(hour(4), DROP)  # still at risk: nothing new
    await watch.tick()
    assert len(sink.sent) == 1
    for n in (5, 6):
        await alert_env.write(hour(n), NORMAL)
    await watch.tick()  # 80 of 3500: 2.29 %
    assert [n.kind for n, _ in sink.sent] == ["firing", "resolved"]
    assert sink.sent[1][0].id != firing.id
    assert registry.get_sample_value("kpiwatch_goal_value",
                                     {"goal": "paid_conversion", "kpi": "conversion_rate"}) \
        == 80 / 3500
    assert registry.get_sample_value("kpiwatch_goal_status", {
        "goal": "paid_conversion", "kpi": "conversion_rate", "status": "on_track"}) == 1
    assert registry.get_sample_value("kpiwatch_goal_expected",
                                     {"goal": "daily_orders", "kpi": "orders"}) == 7 * 40


async def test_two_workers_send_one_goal_alert_and_one_digest_a_day(alert_env):
    sink = RecordingSink()
    now = DAY_START + 10 * HOUR  # after the digest's 09:00
    first, second = watcher(alert_env, sink, now), watcher(alert_env, sink, now)
    for n in range(4):
        await alert_env.write(hour(n), DROP)  # 1 %: at risk once 1000 sessions are in
    await first.tick()
    await second.tick()
    kinds = [n.kind for n, _ in sink.sent]
    assert kinds == ["firing", "digest"], kinds
    digest = sink.sent[1][0]
    assert digest.summary.startswith("Goals: progress on ")
    assert [line.split(":")[0] for line in digest.details] == ["paid_conversion", "daily_orders"]
    assert "at risk" in digest.details[0]
    await alert_env.write(hour(4), DROP)
    await first.tick()
    await second.tick()
    assert [n.kind for n, _ in sink.sent] == ["firing", "digest"]


async def test_a_window_not_settled_everywhere_stops_the_sum(alert_env):
    sink = RecordingSink()
    watch = watcher(alert_env, sink, DAY_START + 8 * HOUR)
    await alert_env.write(hour(0), NORMAL)
    # Hour 1 settled on partition 0 only: the shop-wide value stays at hour 0's.
    await alert_env.windows.publish(0, [("1h", hour(1).start_ms, DROP)], hour(1).end_ms)
    progress = (await watch.tick())[0]
    assert progress.value == 0.04
    assert progress.covered_until.endswith("T01:00:00+00:00")


async def test_quiet_hours_hold_the_news_until_they_end(alert_env):
    sink, clock = RecordingSink(), [DAY_START + 7 * HOUR]
    quiet = {"goals": [{**GOALS["goals"][0], "alert": {
        "min_volume": {"sessions": 1000},
        "quiet_hours": {"start": "22:00", "end": "08:00", "min_severity": "critical"}}}]}
    watch = watcher(alert_env, sink, clock, goals=quiet)
    for n in range(4):
        await alert_env.write(hour(n), DROP)
    assert (await watch.tick())[0].status == "at_risk"
    assert sink.sent == []  # 07:00: quiet
    clock[0] = DAY_START + 8 * HOUR + 60_000
    await watch.tick()
    assert [n.kind for n, _ in sink.sent] == ["firing"]


async def test_a_day_that_ended_behind_is_missed_and_said_once_it_settled(alert_env):
    sink, clock = RecordingSink(), [DAY_START + 23 * HOUR + 30 * 60_000]
    goals = {"goals": [{"name": "orders_day", "kpi": "orders", "target": 2000,
                        "period": "day", "alert": {}}]}
    first, second = watcher(alert_env, sink, clock, goals=goals), \
        watcher(alert_env, sink, clock, goals=goals)
    for n in range(23):
        await alert_env.write(hour(n), NORMAL)  # 40 orders an hour, of the 83 a day needs
    assert [p.status for p in await first.tick()] == ["at_risk"]
    clock[0] = DAY_START + 24 * HOUR + 20 * 60_000  # the next day: its span has begun
    assert [p.status for p in await first.tick()] == ["not_started"]
    assert len(sink.sent) == 1  # the last hour is not settled yet: the day is not over
    await alert_env.write(hour(23), NORMAL)
    # As a worker publishes them: the day's window with its hours (the walk reads the day).
    await alert_env.write(Window("1d", DAY_START, DAY_START + 24 * HOUR),
                          Counter({k: 24 * v for k, v in NORMAL.items()}))
    await first.tick()
    await second.tick()
    assert [(n.kind, n.summary) for n, _ in sink.sent] == [
        ("firing", "Goal orders_day (orders) at risk: 920, 1,917 expected by now"),
        ("firing", "Goal orders_day (orders) missed: 960 against 2,000")]
