"""Table updates that a replay cannot apply twice.

Under at-least-once a worker killed between writing a table and committing its source offset
replays those events on restart, and ``table[k] += 1`` counts them again. Here every table value
remembers the source offset it has applied up to, and an event at or below that offset is
skipped. This is exact as long as all updates of one key come from one source partition, in
order: so every key that uses it starts with the source partition (see :func:`partition_key`).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

APPLIED_OFFSET = "applied_offset"

State = dict[str, Any]


def partition_key(topic: str, partition: int, *parts: object) -> str:
    return ":".join([topic, str(partition), *map(str, parts)])


def apply_once(
    table: MutableMapping[str, State],
    key: str,
    offset: int,
    update: Callable[[State], None],
    initial: Callable[[], State] = dict,
) -> bool:
    """Apply ``update`` to the state under ``key`` unless ``offset`` was applied already.

    ``update`` mutates a copy of the state; the copy is written back (one changelog record).
    Returns whether the update was applied.
    """
    current = table.get(key)
    if current is not None and current.get(APPLIED_OFFSET, -1) >= offset:
        return False
    state = dict(current) if current is not None else initial()
    update(state)
    state[APPLIED_OFFSET] = offset
    table[key] = state
    return True
