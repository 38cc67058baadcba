"""One outbox deliverer as its own process, for tests that kill or race deliverers.

    python -m tests.fakes.outbox_process REDIS_URL PREFIX SLACK_URL [LOCK_TTL]

Delivers the target ``slack`` until SIGTERM; prints ``ready`` once running.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import redis.asyncio as redis

from alerts.outbox import Outbox
from alerts.rules import RuleSet, Target


async def main(redis_url: str, prefix: str, slack_url: str, lock_ttl: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    client = redis.from_url(redis_url)
    outbox = Outbox(client, prefix, lock_ttl=lock_ttl, poll_interval=0.1,
                    base_backoff=0.5, max_backoff=4)
    ruleset = RuleSet(rules=[], targets={"slack": Target(type="slack", url=slack_url)})
    print(f"ready {outbox.token}", flush=True)
    await outbox.run(ruleset, stop)
    await client.aclose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(message)s")
    redis_url, prefix, slack_url, *rest = sys.argv[1:]
    asyncio.run(main(redis_url, prefix, slack_url, float(rest[0]) if rest else 5.0))
