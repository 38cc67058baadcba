"""The Redis outbox: notifications wait here until their target accepted them.

Why it is shaped this way:

- **Nothing is lost.** A notification stays in its target's list (``<prefix>outbox:<target>``)
  until the endpoint answered 2xx or rejected it for good; a Slack outage, a worker crash or
  a restart only delays it. Ordering is strict per target: the head is retried until it is
  done, the next message never overtakes it.
- **One deliverer per target.** Every worker runs ``Outbox.run``; a per-target lock
  (``SET NX PX`` with a random token, renewed every third of its TTL by a heartbeat and checked
  right before each POST) lets one of them deliver a target at a time. If the holder dies the
  lock expires (``lock_ttl``) and another worker takes the target over.
- **Slack's pace.** At most one message per ``min_interval`` (1 s for Slack) per target,
  measured from the end of the previous attempt on Redis' clock (``not_before`` in the target's
  state hash), so a new deliverer after a takeover keeps the pace and honours a pending
  ``Retry-After``.
- **Retries.** 429: wait ``Retry-After``, then the same message again. 5xx, 408, timeouts and
  connection errors: exponential backoff from ``base_backoff`` doubling up to ``max_backoff``
  with jitter (half fixed, half random), so many workers recovering together do not stampede.
  Any other 4xx is never retried: counted (``rejected``), logged with the endpoint's error
  (Slack's ``invalid_blocks``, ``no_service``, ...) and moved to ``<prefix>outbox:<target>:dead``.
- **Idempotent.** ``put`` adds a notification id to a target once (a ``put`` marker kept for
  ``remember_for``), and a delivered id is marked ``done`` before it leaves the list, so a
  second ``put`` or a second deliverer skips it.

The one window left: a deliverer that dies (or loses Redis, or stalls past the lock TTL)
*after* the endpoint accepted a POST and *before* it marked the id done leaves the message at
the head; the next deliverer sends it again. So each crash can cause at most one duplicate
message, never a lost one. (A webhook POST cannot be made idempotent on Slack's side: incoming
webhooks take no idempotency key.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

from alerts.notification import Notification
from alerts.notifiers import NotificationMetrics, Notifier, notifier_for
from alerts.notifiers.base import REQUEST_DEADLINE, Attempt
from alerts.rules import RuleSet, Target

log = logging.getLogger(__name__)

NotifierFactory = Callable[[str, Target], Notifier]

# Seven days: longer than any incident's reminders, short enough that Redis does not fill up.
REMEMBER_FOR = 7 * 24 * 3600

_PUT = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
"""
# Mark done first: a deliverer that reads the head after this skips it even before the LREM.
_DONE = """
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2])
redis.call('LREM', KEYS[2], 1, ARGV[1])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], 'not_before', ARGV[4], 'failures', 0, 'last_error', '')
end
if ARGV[5] ~= '' then redis.call('RPUSH', KEYS[4], ARGV[5]) end
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Keys:
    queue: str
    state: str
    lock: str
    dead: str
    prefix: str

    def put_marker(self, notification_id: str) -> str:
        return f"{self.prefix}put:{notification_id}"

    def done_marker(self, notification_id: str) -> str:
        return f"{self.prefix}done:{notification_id}"


class TargetLock:
    """One deliverer per target: a token in Redis with a TTL, renewed by its holder."""

    def __init__(self, client: redis.Redis, key: str, ttl: float, token: str):
        self.client, self.key, self.ttl_ms, self.token = client, key, int(ttl * 1000), token
        self.held = False

    async def acquire(self) -> bool:
        self.held = bool(await self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    async def renew(self) -> bool:
        self.held = bool(await self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        return self.held

    async def release(self) -> None:
        self.held = False
        await self.client.eval(_RELEASE, 1, self.key, self.token)

    async def heartbeat(self) -> None:
        """Renew every third of the TTL until the lock is lost (then ``held`` turns False)."""
        while self.held:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                await self.renew()
            except RedisError as error:
                log.warning("outbox lock %s: renewal failed: %s", self.key, error)
        log.debug("outbox lock %s released or lost", self.key)


def outbox_prefix(app_id: str) -> str:
    """The Redis prefix of an app's outboxes (``<prefix>outbox:<target>``)."""
    return f"kpiwatch:{app_id}:"


class Outbox:
    def __init__(self, client: redis.Redis, prefix: str, *,
                 metrics: NotificationMetrics | None = None,
                 notifier_factory: NotifierFactory = notifier_for,
                 lock_ttl: float = 20.0, poll_interval: float = 0.25,
                 base_backoff: float = 1.0, max_backoff: float = 30.0,
                 remember_for: int = REMEMBER_FOR):
        self.client = client
        self.prefix = prefix
        self.metrics = metrics or NotificationMetrics()
        self.notifier_factory = notifier_factory
        self.lock_ttl = lock_ttl
        self.poll_interval = poll_interval
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.remember_for = remember_for
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def keys(self, target: str) -> Keys:
        base = f"{self.prefix}outbox:{target}"
        return Keys(queue=base, state=f"{base}:state", lock=f"{base}:lock", dead=f"{base}:dead",
                    prefix=f"{base}:")

    # what the evaluator calls

    async def put(self, notification: Notification, targets: list[str]) -> None:
        """Append to each target's outbox, once per (notification id, target)."""
        payload = notification.to_json()
        for target in targets:
            keys = self.keys(target)
            await self.client.eval(_PUT, 3, keys.put_marker(notification.id), keys.queue,
                                   keys.done_marker(notification.id), payload, self.remember_for)

    # what the on-call CLI and the tests read

    async def depth(self, target: str) -> int:
        return await self.client.llen(self.keys(target).queue)

    async def pending(self, target: str) -> list[Notification]:
        return [Notification.from_json(raw)
                for raw in await self.client.lrange(self.keys(target).queue, 0, -1)]

    async def dead(self, target: str) -> list[dict]:
        return [orjson.loads(raw) for raw in await self.client.lrange(self.keys(target).dead, 0, -1)]

    # the delivery loop every worker runs

    async def run(self, ruleset: RuleSet, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        notifiers = {name: self.notifier_factory(name, target)
                     for name, target in ruleset.targets.items()}
        deliveries: dict[str, asyncio.Task] = {}
        redis_down = False
        try:
            while not stop.is_set():
                for name, notifier in notifiers.items():
                    running = deliveries.get(name)
                    if running is not None and not running.done():
                        continue
                    try:
                        waiting = await self.depth(name)
                        redis_down = False
                        self.metrics.depth(name, waiting)
                        if not waiting:
                            continue
                        lock = TargetLock(self.client, self.keys(name).lock, self.lock_ttl,
                                          self.token)
                        if await lock.acquire():
                            deliveries[name] = asyncio.create_task(
                                self._deliver(name, notifier, lock, stop),
                                name=f"outbox-{name}")
                    except RedisError as error:
                        if not redis_down:  # once per outage, not every poll
                            log.warning("outbox: Redis unavailable, notifications wait in it"
                                        " until it is back: %s", error)
                        redis_down = True
                await _sleep_unless(stop, self.poll_interval)
        finally:
            # Let a POST in flight finish and be marked done: cancelling it could send it twice.
            if deliveries:
                await asyncio.wait(deliveries.values(), timeout=REQUEST_DEADLINE + 1)
            for task in deliveries.values():
                task.cancel()
            await asyncio.gather(*deliveries.values(), return_exceptions=True)
            for notifier in notifiers.values():
                await notifier.aclose()

    async def _deliver(self, target: str, notifier: Notifier, lock: TargetLock,
                       stop: asyncio.Event) -> None:
        heartbeat = asyncio.create_task(lock.heartbeat(), name=f"outbox-{target}-lock")
        try:
            while not stop.is_set() and lock.held:
                if not await self._deliver_head(target, notifier, lock, stop):
                    break
        except RedisError as error:
            log.warning("outbox %s: Redis error while delivering, will resume: %s", target, error)
        except Exception:
            # A bug must not end delivery for good: log it; the next poll takes the target again.
            log.exception("outbox %s: delivery failed, will resume", target)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(RedisError, asyncio.CancelledError):
                if lock.held:
                    await lock.release()

    async def _deliver_head(self, target: str, notifier: Notifier, lock: TargetLock,
                            stop: asyncio.Event) -> bool:
        """One step on the head of the queue; False when there is nothing left to do."""
        keys = self.keys(target)
        raw = await self.client.lindex(keys.queue, 0)
        if raw is None:
            return False
        try:
            notification = Notification.from_json(raw)
        except (ValueError, TypeError) as error:
            log.error("outbox %s: unreadable entry moved to the dead list: %s", target, error)
            await self._finish(keys, raw, "unreadable", "",  # "": the pace stays as it was
                               orjson.dumps({"raw": raw.decode(errors="replace"),
                                             "error": str(error)}))
            self.metrics.count(target, "unknown", "dropped")
            return True
        if await self.client.exists(keys.done_marker(notification.id)):
            await self.client.lrem(keys.queue, 1, raw)  # a second put, or a crash before LREM
            return True
        wait = await self._wait(keys)
        if wait > 0:
            await _sleep_unless(stop, min(wait, self.poll_interval * 4))
            return True
        if not await lock.renew():
            log.info("outbox %s: lost the delivery lock to another worker", target)
            return False
        try:
            attempt = await notifier.send(notification)
        except Exception as error:  # a bug rendering this message: retrying cannot fix it
            log.exception("outbox %s: notifier failed on %s", target, notification.id)
            attempt = Attempt("rejected", None, f"notifier error: {error!r}")
        await self._record(target, keys, raw, notification, notifier, attempt)
        return True

    async def _record(self, target: str, keys: Keys, raw: bytes, notification: Notification,
                      notifier: Notifier, attempt: Attempt) -> None:
        now = await self._now_ms()
        if attempt.outcome == "delivered":
            await self._finish(keys, raw, notification.id, str(int(now + notifier.min_interval * 1000)),
                               b"", state="delivered")
            self.metrics.count(target, notification.kind, "delivered")
            self.metrics.observe_latency(notification, target)
            log.info("notification %s delivered to %s", notification.id, target)
        elif attempt.outcome == "rejected":
            entry = orjson.dumps({"notification": orjson.loads(raw), "status": attempt.status,
                                  "error": attempt.error, "at_ms": now})
            await self._finish(keys, raw, notification.id,
                               str(int(now + notifier.min_interval * 1000)), entry, state="rejected")
            self.metrics.count(target, notification.kind, "rejected")
            log.error("notification %s rejected by %s (HTTP %s %s): not retried, kept in %s",
                      notification.id, target, attempt.status, attempt.error, keys.dead)
        else:
            failures = int(await self.client.hget(keys.state, "failures") or 0) + 1
            delay = (attempt.retry_after if attempt.retry_after is not None
                     else backoff(failures, self.base_backoff, self.max_backoff))
            delay = max(delay, notifier.min_interval)
            await self.client.hset(keys.state, mapping={
                "not_before": int(now + delay * 1000), "failures": failures,
                "last_error": f"{attempt.status or ''} {attempt.error}".strip()})
            self.metrics.count(target, notification.kind, "retried")
            log.warning("notification %s to %s: %s %s; retry %d in %.1f s", notification.id,
                        target, attempt.status or "no answer", attempt.error, failures, delay)

    async def _finish(self, keys: Keys, raw: bytes, notification_id: str, not_before: str,
                      dead_entry: bytes, state: str = "dropped") -> None:
        await self.client.eval(_DONE, 4, keys.done_marker(notification_id), keys.queue,
                               keys.state, keys.dead, raw, self.remember_for, state,
                               not_before, dead_entry)

    async def _wait(self, keys: Keys) -> float:
        not_before = float(await self.client.hget(keys.state, "not_before") or 0)
        return max(0.0, (not_before - await self._now_ms()) / 1000)

    async def _now_ms(self) -> int:
        # Redis' clock, not ours: pacing and Retry-After hold across workers on other hosts.
        seconds, microseconds = await self.client.time()
        return seconds * 1000 + microseconds // 1000


def backoff(failures: int, base: float, cap: float) -> float:
    """Exponential, capped, with jitter: half of the delay fixed, half random."""
    delay = min(cap, base * 2 ** (failures - 1))
    return delay / 2 + random.uniform(0, delay / 2)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
