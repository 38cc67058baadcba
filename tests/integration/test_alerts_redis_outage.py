"""Redis goes away and comes back under a running evaluator (issue 5: "if Redis is down alerts
still go out: fail open, at most one duplicate, counted").

The worker's alerting pieces (alerts/runner.py's wiring, without Faust: alerts_fixtures.py's
AlertingWorker) run against a Redis of the test's own, which the test stops and starts again,
and deliver to the fake Slack. Each step settles exactly one window: no Kafka, no timing.
"""

from __future__ import annotations

import uuid

from alerts.state_store import incident_id
from tests.integration import alerts_fixtures, fault_figures
from tests.integration.alerts_fixtures import (
    DROP,
    NORMAL,
    PAID,
    RULE,
    alerting_rules,
    kinds,
    outbox_empty,
    settle,
    window,
)

alerting_worker = alerts_fixtures.alerting_worker
dedicated_redis = alerts_fixtures.dedicated_redis


async def test_fails_open_while_redis_is_down_and_goes_back_to_the_shared_path_alone(
        dedicated_redis, slack_factory, alerting_worker):
    slack = slack_factory()
    table: dict = {}
    app_id = f"outage-{uuid.uuid4().hex[:8]}"
    worker = alerting_worker(dedicated_redis.url, app_id, alerting_rules(slack.url()), table)
    store = worker.states

    settle(table, 0, NORMAL)
    await worker.fail_open.tick()
    assert await store.cursor(RULE) == window(0).end_ms  # judged on the shared path

    dedicated_redis.stop()
    settle(table, 1, NORMAL)
    await worker.fail_open.tick()
    assert worker.fail_open.redis_down
    assert worker.counted("kpiwatch_alert_state_errors_total", operation="publish") == 1
    for n in (2, 3):  # paid_search drops for two windows: it fires, sent directly
        settle(table, n, DROP)
        await worker.fail_open.tick()
    await slack.messages_arrived(1, timeout=20)
    assert kinds(slack.messages) == ["firing paid_search"]
    assert worker.counted("kpiwatch_alert_evaluations_total", rule=RULE, outcome="fail_open") == 1

    dedicated_redis.start()
    settle(table, 4, DROP)  # still breaching
    await worker.fail_open.tick()
    assert not worker.fail_open.redis_down  # back on the shared path, no restart
    # The shared evaluator judged the outage's windows again from Redis and reached the same
    # incident: its firing message was marked sent, so nothing waits in the outbox.
    states = await store.states(RULE)
    assert states[PAID].status == "firing"
    assert states[PAID].last_window == window(4).start_ms
    assert await store.cursor(RULE) == window(4).end_ms
    assert await worker.outbox.depth("default") == 0

    settle(table, 5, NORMAL)  # recovery: one resolved message, through the outbox
    await worker.fail_open.tick()
    await slack.messages_arrived(2, timeout=20)
    incident = await store.incident(incident_id(RULE, PAID, states[PAID].incident_start))
    assert incident["last_notification"].endswith(":resolved:0 (outbox)")
    settle(table, 6, NORMAL)
    await worker.fail_open.tick()
    await outbox_empty(worker.outbox)  # nothing more to deliver
    assert kinds(slack.messages) == ["firing paid_search", "resolved paid_search"]
    assert worker.counted("kpiwatch_alert_evaluations_total", rule=RULE, outcome="fail_open") == 1
    assert worker.counted("kpiwatch_alert_state_errors_total", operation="publish") == 3
    fault_figures.record(3, "redis down mid-incident", sent=kinds(slack.messages),
                         duplicates=len(slack.messages) - len(set(kinds(slack.messages))))



async def test_an_incident_open_when_redis_goes_down_is_continued_not_opened_again(
        dedicated_redis, slack_factory, alerting_worker):
    slack = slack_factory()
    table: dict = {}
    worker = alerting_worker(dedicated_redis.url, f"outage-{uuid.uuid4().hex[:8]}",
                            alerting_rules(slack.url()), table)
    for n, values in enumerate((NORMAL, DROP, DROP)):  # fires on the shared path
        settle(table, n, values)
        await worker.fail_open.tick()
    await slack.messages_arrived(1, timeout=20)
    await outbox_empty(worker.outbox)

    dedicated_redis.stop()
    # Still breaching, then it recovers while Redis is down: the fallback goes on with the same
    # incident, so it sends no second firing and resolves that incident directly.
    for n, values in ((3, DROP), (4, NORMAL)):
        settle(table, n, values)
        await worker.fail_open.tick()
    await slack.messages_arrived(2, timeout=20)
    assert worker.counted("kpiwatch_alert_evaluations_total", rule=RULE, outcome="fail_open") == 1

    dedicated_redis.start()
    settle(table, 5, NORMAL)
    await worker.fail_open.tick()
    assert not worker.fail_open.redis_down
    assert (await worker.states.states(RULE))[PAID].status == "resolved"
    await outbox_empty(worker.outbox)
    assert kinds(slack.messages) == ["firing paid_search", "resolved paid_search"]
    fault_figures.record(3, "redis down, incident continued", sent=kinds(slack.messages),
                         duplicates=0)


async def test_a_redis_that_comes_back_empty_mid_incident_costs_one_repeated_firing_at_most(
        dedicated_redis, slack_factory, alerting_worker):
    """Redis flushed (a restart without persistence, a failover to an empty replica) while an
    incident fires: the incident's state is gone, so the evaluator opens it again from the
    windows it still sees breaching: one more firing message at most, then the resolved one.
    Nothing is lost: the recovery still reaches Slack."""
    slack = slack_factory()
    table: dict = {}
    worker = alerting_worker(dedicated_redis.url, f"flushed-{uuid.uuid4().hex[:8]}",
                            alerting_rules(slack.url()), table)
    for n, values in enumerate((NORMAL, DROP, DROP)):
        settle(table, n, values)
        await worker.fail_open.tick()
    await slack.messages_arrived(1, timeout=20)
    await outbox_empty(worker.outbox)

    await worker.client.flushall()
    for n, values in ((3, DROP), (4, DROP), (5, NORMAL), (6, NORMAL)):
        settle(table, n, values)
        await worker.fail_open.tick()
    await outbox_empty(worker.outbox)
    await slack.messages_arrived(2, timeout=20)
    sent = kinds(slack.messages)
    print("sent after the flush:", sent)
    assert sent[0] == "firing paid_search" and sent[-1] == "resolved paid_search", sent
    assert sent.count("firing paid_search") <= 2, sent
    assert sent.count("resolved paid_search") == 1, sent
    fault_figures.record(3, "redis flushed mid-incident", sent=sent,
                         duplicates=len(sent) - len(set(sent)))
