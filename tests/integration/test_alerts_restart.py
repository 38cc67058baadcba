"""A worker restarted in the middle of an incident (its alert state in Redis) neither sends the
firing message again nor loses the resolved one; nor when it dies between queueing a message
and saving the state that called for it (the window is judged again, the outbox drops the
second copy).

Each "worker" is alerts_fixtures.py's AlertingWorker (what alerts/runner.py wires, without
Faust) on one real Redis, delivering to the fake Slack; a restart is a new one on the same app
id, with nothing carried over but Redis and the KPI table.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest

from tests.integration import alerts_fixtures
from tests.integration.alerts_fixtures import (
    DROP,
    NORMAL,
    PAID,
    RULE,
    AlertingWorker,
    alerting_rules,
    kinds,
    outbox_empty,
    settle,
    window,
)

alerting_worker = alerts_fixtures.alerting_worker
dedicated_redis = alerts_fixtures.dedicated_redis


class Died(BaseException):
    """The process ended at this point (BaseException: nothing in alerts/ catches it)."""


async def lock_left_behind(rule: str) -> None:
    pass


def dies_after_next_queued_message(worker: AlertingWorker) -> None:
    """The worker's evaluator queues its next notification in the outbox, then the process
    dies: its state is not saved and its per-rule lock is left to expire."""
    queue = worker.evaluator.sink

    async def put(notification, targets):
        await queue.put(notification, targets)
        worker.states.unlock = lock_left_behind
        raise Died

    worker.evaluator.sink = SimpleNamespace(put=put)


@pytest.fixture
def setup(dedicated_redis, slack_factory, alerting_worker):
    slack = slack_factory()
    app_id = f"restart-{uuid.uuid4().hex[:8]}"
    table: dict = {}

    def start() -> AlertingWorker:
        return alerting_worker(dedicated_redis.url, app_id, alerting_rules(slack.url()), table)

    return SimpleNamespace(slack=slack, table=table, start=start)


async def tick(worker: AlertingWorker, table: dict, n: int, values) -> None:
    settle(table, n, values)
    await worker.fail_open.tick()
    assert not worker.fail_open.redis_down


async def test_a_worker_restarted_mid_incident_neither_resends_the_firing_nor_loses_the_resolved(
        setup):
    first = setup.start()
    for n, values in enumerate((NORMAL, DROP, DROP)):
        await tick(first, setup.table, n, values)
    await setup.slack.messages_arrived(1, timeout=20)
    await outbox_empty(first.outbox)
    await first.kill()

    second = setup.start()  # the restart: a new process, state only in Redis
    await tick(second, setup.table, 3, DROP)  # still firing: no message
    assert (await second.states.states(RULE))[PAID].status == "firing"
    assert await second.outbox.depth("default") == 0
    await tick(second, setup.table, 4, NORMAL)  # recovered
    await setup.slack.messages_arrived(2, timeout=20)
    await tick(second, setup.table, 5, NORMAL)
    await outbox_empty(second.outbox)
    assert kinds(setup.slack.messages) == ["firing paid_search", "resolved paid_search"]
    assert await second.states.cursor(RULE) == window(5).end_ms


async def test_a_worker_dying_between_queueing_and_saving_sends_each_message_once(setup):
    first = setup.start()
    await tick(first, setup.table, 0, NORMAL)
    await tick(first, setup.table, 1, DROP)
    dies_after_next_queued_message(first)
    with pytest.raises(Died):
        await tick(first, setup.table, 2, DROP)  # fires: queued, then the process dies
    await first.kill()

    second = setup.start()
    assert (await second.states.states(RULE))[PAID].status == "pending"  # firing never saved
    # Its first tick waits for the dead worker's lock to expire, then judges window 2 again.
    await setup.slack.messages_arrived(1, timeout=20)  # the queued firing is delivered
    await wait_judged(second, window(2).end_ms)
    assert (await second.states.states(RULE))[PAID].status == "firing"
    await outbox_empty(second.outbox)  # its own firing, same id, was dropped by the outbox

    settle(setup.table, 3, NORMAL)  # recovers: the resolved is queued, then it dies too
    dies_after_next_queued_message(second)
    with pytest.raises(Died):
        await second.fail_open.tick()
    await second.kill()

    third = setup.start()
    await wait_judged(third, window(3).end_ms)
    await setup.slack.messages_arrived(2, timeout=20)
    await outbox_empty(third.outbox)
    assert (await third.states.states(RULE))[PAID].status == "resolved"
    assert kinds(setup.slack.messages) == ["firing paid_search", "resolved paid_search"]


async def wait_judged(worker: AlertingWorker, cursor: int, timeout: float = 20) -> None:
    """Tick until the worker judged through ``cursor`` (a dead worker's lock delays it)."""
    async with asyncio.timeout(timeout):
        while await worker.states.cursor(RULE) != cursor:
            await worker.fail_open.tick()
            await asyncio.sleep(0.1)
