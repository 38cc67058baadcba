"""Alerting inside every worker: publish settled windows, evaluate, deliver.

Every worker runs the same three things (imported by streams/agents.py):
- a timer (``KPIWATCH_ALERT_EVALUATION_INTERVAL``) that publishes the newly settled windows of
  the canonical partitions this worker owns to Redis and then runs the evaluator, which judges
  whatever became complete shop-wide (alerts/evaluator.py: once across all workers);
- the outbox delivery loop (alerts/outbox.py: one worker delivers each target at a time).
The rules file is loaded and validated when this module is imported, i.e. at worker startup:
a bad file stops the worker with a message naming the rule and the field.

If Redis fails, the timer falls back to the local table (alerts/fail_open.py) so alerts still
go out, logs it and counts it (``kpiwatch_alert_state_errors_total{operation}``).
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis
from redis.exceptions import RedisError

from alerts.alert_metrics import AlertMetrics
from alerts.evaluator import Evaluator
from alerts.fail_open import DirectSink, LocalWindows, MemoryStates
from alerts.notifiers import NotificationMetrics
from alerts.outbox import REMEMBER_FOR, Outbox
from alerts.publisher import SettledWindowPublisher
from alerts.rules import load_rules
from alerts.state_store import StateStore
from alerts.window_store import WindowStore
from metrics.endpoint import owned_canonical_partitions, registry
from streams.app import app, settings
from streams.kpis.agent import kpi_state

log = logging.getLogger(__name__)

ruleset = load_rules(settings.rules_file)
alert_metrics = AlertMetrics.create(registry)
notification_metrics = NotificationMetrics(registry)


class AlertRunner:
    def __init__(self) -> None:
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                           socket_connect_timeout=2)
        windows = WindowStore(self.client, settings.app_id, settings.topic_partitions)
        self.outbox = Outbox(self.client, f"kpiwatch:{settings.app_id}:",
                             metrics=notification_metrics)
        self.publisher = SettledWindowPublisher(windows, kpi_state, settings.timezone,
                                                {rule.window for rule in ruleset.rules})
        options = {"tz": settings.timezone, "grafana_url": settings.grafana_url,
                   "payment_methods": list(settings.payment_methods), "metrics": alert_metrics}
        self.evaluator = Evaluator(ruleset, windows, StateStore(self.client, settings.app_id),
                                   self.outbox, **options)
        self.options = options
        self.fallback = self.new_fallback()
        self.redis_down = False

    def new_fallback(self) -> Evaluator:
        local = LocalWindows(kpi_state, owned_canonical_partitions, settings.topic_partitions)
        return Evaluator(ruleset, local, MemoryStates(),
                         DirectSink(ruleset, alert_metrics, notification_metrics), **self.options)

    async def redis_is_back(self) -> None:
        """Mark what went out directly as delivered in the outbox, then forget the fallback's
        state: the next outage starts from what Redis knew, not from this one's leftovers."""
        log.warning("alerts: Redis is back; evaluating from the shared state again")
        for notification_id, targets in self.fallback.sink.sent:
            for target in targets:
                await self.client.set(self.outbox.keys(target).done_marker(notification_id),
                                      "sent directly while Redis was down", ex=REMEMBER_FOR)
        self.fallback = self.new_fallback()

    async def tick(self) -> None:
        if app.rebalancing:
            return  # tables are being recovered: their settled_through may be behind
        operation = "publish"
        try:
            await self.publisher.publish(owned_canonical_partitions())
            if self.redis_down:
                operation = "recover"
                await self.redis_is_back()
                self.redis_down = False
            operation = "evaluate"
            await self.evaluator.evaluate()
        except (RedisError, OSError) as error:
            alert_metrics.state_errors.labels(operation).inc()
            if not self.redis_down:
                log.error("alerts: Redis failed (%s: %s); failing open: judging from this "
                          "worker's table when it owns every partition, sending directly",
                          operation, error)
            self.redis_down = True
            if not await self.fallback.evaluate():
                log.debug("alerts: fallback judged nothing (owns %s of %d partitions)",
                          sorted(owned_canonical_partitions()), settings.topic_partitions)


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
