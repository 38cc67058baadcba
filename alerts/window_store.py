"""Settled window values in Redis: the shop-wide view the evaluator judges.

Each worker holds KPI state only for the canonical-topic partitions it owns, so every worker
publishes, for each of its partitions, the raw values of each newly settled window of the sizes
rules use, then the partition's ``settled_until`` (end of its last settled minute). A window is
*complete* once every partition (``topic_partitions``) has settled past its end; its shop-wide
values are the sum of the partitions' values.

Writes are idempotent (a settled window's values are final, so a partition published twice, by
a restarted worker or by two workers during a rebalance, writes the same values), the values go
out before the ``settled_until`` that vouches for them, and ``settled_until`` only moves
forward. Values expire after ``HISTORY_TTL`` (8 days): enough for week-ago benchmarks; whole
days after ``DAY_TTL`` (100 days), so a quarter's goal can be summed from them.

Keys (prefix ``kpiwatch:<app_id>:alerts:``): ``win:<size>:<start ms>`` hash partition -> JSON
values; ``settled`` hash partition -> settled_until ms.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import orjson
import redis.asyncio as redis

from streams.kpis.readout import decoded

HISTORY_TTL_SECONDS = 8 * 24 * 3600
DAY_TTL_SECONDS = 100 * 24 * 3600


def ttl_seconds(size: str) -> int:
    """How long Redis keeps a window of ``size``."""
    return DAY_TTL_SECONDS if size == "1d" else HISTORY_TTL_SECONDS

# settled_until only moves forward, whatever order two workers write it in.
_ADVANCE = """
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > old then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0
"""


def key_prefix(app_id: str) -> str:
    return f"kpiwatch:{app_id}:alerts:"


def decode_values(raw: bytes | str) -> Counter:
    return decoded(orjson.loads(raw))


class WindowStore:
    def __init__(self, client: redis.Redis, app_id: str, partitions: int) -> None:
        self.client = client
        self.prefix = key_prefix(app_id)
        self.partitions = partitions
        self._advance = client.register_script(_ADVANCE)

    def _window_key(self, size: str, start_ms: int) -> str:
        return f"{self.prefix}win:{size}:{start_ms}"

    async def publish(self, partition: int, windows: list[tuple[str, int, dict]],
                      settled_until: int) -> None:
        """The partition's values of these settled windows, then its new settled_until."""
        if windows:
            pipe = self.client.pipeline(transaction=False)
            for size, start_ms, values in windows:
                key = self._window_key(size, start_ms)
                pipe.hset(key, str(partition), orjson.dumps(
                    {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}))
                pipe.expire(key, ttl_seconds(size))
            await pipe.execute()
        await self._advance(keys=[self.prefix + "settled"],
                            args=[str(partition), str(settled_until)])

    async def settled_all(self) -> dict[int, int]:
        """Partition -> the end of its last published settled minute."""
        raw = await self.client.hgetall(self.prefix + "settled")
        return {int(partition): int(until) for partition, until in raw.items()}

    async def complete_until(self) -> int | None:
        """Every window ending at or before this is settled on every partition."""
        raw = await self.client.hgetall(self.prefix + "settled")
        if len(raw) < self.partitions:
            return None
        return min(int(v) for v in raw.values())

    async def values(self, size: str, start_ms: int) -> Counter | None:
        """The shop-wide values of a window, or None when no partition published it."""
        return (await self.values_many(size, [start_ms]))[0]

    async def values_many(self, size: str, starts: list[int]) -> list[Counter | None]:
        pipe = self.client.pipeline(transaction=False)
        for start in starts:
            pipe.hgetall(self._window_key(size, start))
        out: list[Counter | None] = []
        for parts in await pipe.execute():
            if not parts:
                out.append(None)
                continue
            merged: Counter = Counter()
            for raw in parts.values():
                merged.update(decode_values(raw))
            out.append(merged)
        return out
