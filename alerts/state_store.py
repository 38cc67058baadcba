"""Alert state in Redis, shared by every worker and the on-call CLI; survives restarts.

Keys (prefix ``kpiwatch:<app_id>:alerts:``):
- ``state:<rule>`` hash dimension key -> AlertState JSON. Written only by compare-and-set on
  ``last_window`` (a Lua script), so a window is counted once per rule x dimension however
  many evaluators race, and a slow evaluator can never move a state back.
- ``cursor:<rule>``: end ms of the last window judged for every dimension of the rule.
- ``lock:<rule>``: held (SET NX PX) while one worker judges the rule, so others skip it.
  Correctness does not depend on it (the compare-and-set does); it saves duplicate work.
- ``incident:<id>`` hash: rule, dimension, status, opened, last notification, ack;
  ``timeline:<id>`` list of JSON entries; ``incidents`` sorted set id -> opened ms.
- ``silence:<rule>`` or ``silence:<rule>|<dimension key>``: exists while the silence lasts
  (TTL = its duration); value = JSON {by, until, reason}.
- ``deferred:<rule>`` hash notification id -> JSON: held back by quiet hours.
"""

from __future__ import annotations

import time
import uuid

import orjson
import redis.asyncio as redis

from alerts.notification import Notification
from alerts.state_machine import AlertState
from alerts.window_store import HISTORY_TTL_SECONDS, key_prefix

_COMPARE_AND_SET = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local last = cjson.decode(old)['last_window']
  if last >= tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def incident_id(rule: str, dimension_key: str, start_ms: int) -> str:
    return f"{rule}|{dimension_key}|{start_ms}"


def now_ms() -> int:
    return int(time.time() * 1000)


class StateStore:
    def __init__(self, client: redis.Redis, app_id: str, lock_seconds: float = 30.0) -> None:
        self.client = client
        self.lock_seconds = lock_seconds
        self.prefix = key_prefix(app_id)
        self._cas = client.register_script(_COMPARE_AND_SET)
        self._unlock = client.register_script(_UNLOCK)
        self.token = uuid.uuid4().hex
        # The states and cursors this evaluator last read or wrote: if Redis goes away, the
        # fail-open path starts from them (alerts/fail_open.py) and continues open incidents.
        self.seen_states: dict[str, dict[str, AlertState]] = {}
        self.seen_cursors: dict[str, int] = {}

    # state per rule x dimension
    async def states(self, rule: str) -> dict[str, AlertState]:
        raw = await self.client.hgetall(f"{self.prefix}state:{rule}")
        states = {_text(k): AlertState.from_json(v) for k, v in raw.items()}
        self.seen_states[rule] = dict(states)
        return states

    async def save_state(self, rule: str, dimension_key: str, state: AlertState) -> bool:
        """False when another evaluator already judged this window (its state stands)."""
        saved = bool(await self._cas(keys=[f"{self.prefix}state:{rule}"],
                                     args=[dimension_key, state.to_json(), state.last_window]))
        if saved:
            self.seen_states.setdefault(rule, {})[dimension_key] = state
        else:
            self.seen_states.pop(rule, None)  # someone else is ahead: what we saw is stale
        return saved

    async def cursor(self, rule: str) -> int | None:
        raw = await self.client.get(f"{self.prefix}cursor:{rule}")
        if raw is not None:
            self.seen_cursors[rule] = int(raw)
        return int(raw) if raw is not None else None

    async def set_cursor(self, rule: str, end_ms: int) -> None:
        await self.client.set(f"{self.prefix}cursor:{rule}", end_ms)
        self.seen_cursors[rule] = end_ms

    async def lock(self, rule: str) -> bool:
        return bool(await self.client.set(f"{self.prefix}lock:{rule}", self.token, nx=True,
                                          px=int(self.lock_seconds * 1000)))

    async def unlock(self, rule: str) -> None:
        await self._unlock(keys=[f"{self.prefix}lock:{rule}"], args=[self.token])

    # incidents
    async def record(self, incident: str, fields: dict, event: dict) -> None:
        """Update an incident's summary fields and append one entry to its timeline."""
        key = f"{self.prefix}incident:{incident}"
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, mapping={k: str(v) for k, v in fields.items()})
        pipe.hsetnx(key, "opened_ms", event["at_ms"])
        pipe.zadd(f"{self.prefix}incidents", {incident: event["at_ms"]}, nx=True)
        pipe.rpush(f"{self.prefix}timeline:{incident}", orjson.dumps(event))
        for name in (key, f"{self.prefix}timeline:{incident}"):
            pipe.expire(name, HISTORY_TTL_SECONDS * 4)
        await pipe.execute()

    async def incident(self, incident: str) -> dict | None:
        raw = await self.client.hgetall(f"{self.prefix}incident:{incident}")
        if not raw:
            return None
        return {_text(k): _text(v) for k, v in raw.items()}

    async def timeline(self, incident: str) -> list[dict]:
        return [orjson.loads(e) for e in
                await self.client.lrange(f"{self.prefix}timeline:{incident}", 0, -1)]

    async def incident_ids(self, limit: int = 200) -> list[str]:
        return [_text(i) for i in
                await self.client.zrevrange(f"{self.prefix}incidents", 0, limit - 1)]

    async def acknowledge(self, incident: str, by: str) -> bool:
        if await self.incident(incident) is None:
            return False
        at = now_ms()
        await self.record(incident, {"acked_by": by, "acked_ms": at},
                          {"at_ms": at, "event": "acknowledged", "by": by})
        return True

    async def acknowledged(self, incident: str) -> bool:
        return bool(await self.client.hexists(f"{self.prefix}incident:{incident}", "acked_by"))

    # silences
    def _silence_key(self, rule: str, dimension_key: str | None) -> str:
        return f"{self.prefix}silence:{rule}" + (f"|{dimension_key}" if dimension_key else "")

    async def silence(self, rule: str, dimension_key: str | None, seconds: float, by: str,
                      reason: str = "") -> int:
        until = now_ms() + int(seconds * 1000)
        await self.client.set(self._silence_key(rule, dimension_key),
                              orjson.dumps({"by": by, "until_ms": until, "reason": reason}),
                              px=int(seconds * 1000))
        return until

    async def silenced(self, rule: str, dimension_key: str) -> bool:
        return bool(await self.client.exists(self._silence_key(rule, None),
                                             self._silence_key(rule, dimension_key)))

    async def silences(self) -> list[dict]:
        out = []
        async for key in self.client.scan_iter(match=f"{self.prefix}silence:*"):
            raw = await self.client.get(key)
            if raw:
                out.append({"silence": _text(key).removeprefix(self.prefix + "silence:"),
                            **orjson.loads(raw)})
        return out

    # quiet hours
    async def defer(self, rule: str, notification: Notification) -> None:
        await self.client.hset(f"{self.prefix}deferred:{rule}", notification.id,
                               notification.to_json())

    async def deferred(self, rule: str) -> dict[str, Notification]:
        raw = await self.client.hgetall(f"{self.prefix}deferred:{rule}")
        return {_text(k): Notification.from_json(v) for k, v in raw.items()}

    async def drop_deferred(self, rule: str, notification_id: str) -> bool:
        return bool(await self.client.hdel(f"{self.prefix}deferred:{rule}", notification_id))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
