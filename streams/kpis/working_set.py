"""The state one settled minute touches: read from the table once, written back once.

Crash safety comes from the order of the writes. All of a partition's state lives in one
table, so its changelog partition holds the writes in order and a crash keeps a prefix of
them. A minute's writes go out as: window aggregates, then entity states, then the partition's
progress record. Every record remembers the last minute applied to it (``applied_minute``) and
a record that already has the minute is not written again. Replaying a minute after a crash
therefore completes exactly the writes that were missing:
- if some aggregates are missing, no entity was written yet: the replay starts from the same
  entity states as the first run and adds the same increments;
- if all aggregates were written, the increments are skipped wherever they land.
Entity updates may read other entities' fixed fields only (a session's channel), never their
changing ones, so a replay reading an already-updated entity computes the same result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any

import orjson

from streams.windows import Window

APPLIED = "applied_minute"
PARTITION = "partition"

Amount = int | Decimal


def aggregate_key(partition: int, window: Window) -> str:
    return f"agg|{partition}|{window.size}|{window.start_ms}"


def entity_key(partition: int, kind: str, ident: str) -> str:
    return f"{kind}|{partition}|{ident}"


def progress_key(partition: int) -> str:
    return f"progress|{partition}"


def add_amounts(stored: Any, increment: Amount) -> Amount:
    """Sum of a stored value (money is stored as a decimal string: JSON has no decimals)."""
    if isinstance(stored, str):
        stored = Decimal(stored)
    return (stored or 0) + increment


def storable(amount: Amount) -> int | str:
    return str(amount) if isinstance(amount, Decimal) else amount


class WorkingSet:
    # Entity kinds are flushed in this order; see the module docstring.
    FLUSH_ORDER = ("session", "cart", "customer", "user")

    def __init__(self, table: MutableMapping[str, dict], partition: int, minute_ms: int) -> None:
        self.table = table
        self.partition = partition
        self.minute_ms = minute_ms
        self._entities: dict[str, dict] = {}
        self._kinds: dict[str, str] = {}
        self._frozen: set[str] = set()
        self._increments: dict[str, dict[str, Amount]] = defaultdict(dict)
        self._windows: dict[str, Window] = {}

    def entity(self, kind: str, ident: str) -> dict | None:
        """The entity's current state (mutable; written back on flush), or None if unknown."""
        key = entity_key(self.partition, kind, ident)
        if key not in self._entities:
            stored = self.table.get(key)
            if stored is None:
                return None
            if stored.get(APPLIED, -1) >= self.minute_ms:
                self._frozen.add(key)
            # A deep copy: a nested dict changed in place would change the table's value
            # without a changelog write.
            self._entities[key] = orjson.loads(orjson.dumps(stored))
            self._kinds[key] = kind
        return self._entities[key]

    def create(self, kind: str, ident: str, state: dict) -> dict:
        key = entity_key(self.partition, kind, ident)
        self._entities[key] = state
        self._kinds[key] = kind
        return state

    def add(self, window: Window, metric: str, amount: Amount = 1) -> None:
        key = aggregate_key(self.partition, window)
        self._windows[key] = window
        increments = self._increments[key]
        increments[metric] = add_amounts(increments.get(metric), amount)

    def flush(self) -> None:
        for key, increments in self._increments.items():
            stored = dict(self.table.get(key) or {})
            if stored.get(APPLIED, -1) >= self.minute_ms:
                continue
            values = dict(stored.get("values") or {})
            for metric, amount in increments.items():
                values[metric] = storable(add_amounts(values.get(metric), amount))
            window = self._windows[key]
            self.table[key] = {"values": values, "size": window.size, "start": window.start_ms,
                               "end": window.end_ms, APPLIED: self.minute_ms,
                               PARTITION: self.partition}
        ordered = sorted(self._entities, key=lambda k: self.FLUSH_ORDER.index(self._kinds[k]))
        for key in ordered:
            if key in self._frozen:
                continue
            state = self._entities[key]
            state[APPLIED] = self.minute_ms
            state[PARTITION] = self.partition
            self.table[key] = state
