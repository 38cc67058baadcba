"""Alerting inside every worker: publish settled windows, evaluate, deliver.

Every worker runs the same three things (imported by streams/agents.py):
- a timer (``KPIWATCH_ALERT_EVALUATION_INTERVAL``) that publishes the newly settled windows of
  the canonical partitions this worker owns to Redis and then runs the evaluator, which judges
  whatever became complete shop-wide (alerts/evaluator.py: once across all workers), then the
  goal watcher (alerts/goal_watch.py: progress gauges, goal alerts, the daily digest);
- the outbox delivery loop (alerts/outbox.py: one worker delivers each target at a time).
The rules and goals files are loaded and validated when this module is imported, i.e. at worker
startup: a bad file stops the worker with a message naming the rule or goal and the field.

If Redis fails, the timer falls back to the local table (alerts/fail_open.py) so alerts still
go out, logs it and counts it (``kpiwatch_alert_state_errors_total{operation}``); goals wait
for Redis (their spans are longer than the local table's shop-wide view).
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis
from redis.exceptions import RedisError

from alerts.alert_metrics import AlertMetrics, GoalMetrics
from alerts.evaluator import Evaluator
from alerts.fail_open import DirectSink, FailOpen, LocalWindows, MemoryStates
from alerts.goal_watch import GoalWatcher, watched_sizes
from alerts.goals import check_targets, goals_path, load_goals
from alerts.notifiers import NotificationMetrics
from alerts.outbox import Outbox, outbox_prefix
from alerts.publisher import SettledWindowPublisher
from alerts.rules import load_rules
from alerts.state_store import StateStore
from alerts.window_store import WindowStore
from metrics.endpoint import owned_canonical_partitions, registry
from streams.app import app, settings
from streams.kpis.agent import kpi_settled_view

log = logging.getLogger(__name__)

ruleset = load_rules(settings.rules_file)
goal_set = load_goals()
check_targets(goal_set, ruleset, goals_path())
alert_metrics = AlertMetrics.create(registry)
goal_metrics = GoalMetrics.create(registry)
notification_metrics = NotificationMetrics(registry)


class AlertRunner:
    def __init__(self) -> None:
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                           socket_connect_timeout=2)
        windows = WindowStore(self.client, settings.app_id, settings.topic_partitions)
        self.outbox = Outbox(self.client, outbox_prefix(settings.app_id),
                             metrics=notification_metrics)
        rule_windows = {rule.window for rule in ruleset.rules}
        # Goals are summed from days, hours and the rules' shorter windows (alerts/goal_watch.py).
        sizes = rule_windows | ({"1d", "1h"} if goal_set.goals else set())
        publisher = SettledWindowPublisher(windows, kpi_settled_view, settings.timezone, sizes)
        self.options = {"tz": settings.timezone, "grafana_url": settings.grafana_url,
                        "payment_methods": list(settings.payment_methods),
                        "metrics": alert_metrics}
        states = StateStore(self.client, settings.app_id)
        evaluator = Evaluator(ruleset, windows, states, self.outbox, **self.options)
        self.goals = GoalWatcher(goal_set, windows, states, self.outbox, tz=settings.timezone,
                                 sizes=watched_sizes(rule_windows),
                                 grafana_url=settings.grafana_url, app_id=settings.app_id,
                                 metrics=goal_metrics)
        self.fail_open = FailOpen(self.client, publisher, evaluator, self.outbox,
                                  self.new_fallback, owned_canonical_partitions, alert_metrics)

    def new_fallback(self) -> Evaluator:
        local = LocalWindows(kpi_settled_view, owned_canonical_partitions,
                             settings.topic_partitions)
        return Evaluator(ruleset, local, MemoryStates(),
                         DirectSink(ruleset, alert_metrics, notification_metrics), **self.options)

    async def tick(self) -> None:
        if app.rebalancing:
            return  # tables are being recovered: their settled_through may be behind
        await self.fail_open.tick()
        try:
            await self.goals.tick()
        except RedisError as error:
            log.warning("goals: Redis unavailable (%s); progress and goal alerts wait for it",
                        error)


runner: AlertRunner | None = None


def get_runner() -> AlertRunner:
    global runner
    if runner is None:
        runner = AlertRunner()
    return runner


@app.timer(interval=settings.alert_evaluation_interval.total_seconds())
async def evaluate_alerts() -> None:
    try:
        await get_runner().tick()
    except Exception:  # a bug in alerting must not take the KPI pipeline down with it
        log.exception("alerts: evaluation failed; retrying on the next tick")


@app.task
async def deliver_notifications() -> None:
    # Retries forever: a Redis outage only pauses delivery (the outbox lives in Redis).
    while True:
        try:
            await get_runner().outbox.run(ruleset)
            return
        except (RedisError, OSError) as error:
            log.error("alerts: outbox delivery stopped (%s); retrying in 5 s", error)
            await asyncio.sleep(5)
