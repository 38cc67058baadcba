"""The delivery loop outlives a Redis outage: it waits, logs once, and stops when told."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as redis

from alerts.outbox import Outbox
from alerts.rules import RuleSet, Target


async def test_run_survives_an_unreachable_redis(caplog):
    client = redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    outbox = Outbox(client, "kpiwatch:test:", poll_interval=0.05)
    stop = asyncio.Event()
    ruleset = RuleSet(rules=[], targets={"slack": Target(type="slack", url="http://127.0.0.1:1/")})
    with caplog.at_level(logging.WARNING, logger="alerts.outbox"):
        task = asyncio.create_task(outbox.run(ruleset, stop))
        await asyncio.sleep(0.5)
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 5)
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per poll
    await client.aclose()
