"""Table updates that a replay cannot apply twice.

Under at-least-once a worker killed between writing a table and committing its source offset
replays those events on restart, and ``table[k] += 1`` counts them again. Here every table value
remembers the source position (an offset, or an offset and an index within that message) it has
applied up to, and an update at or below that position is skipped. This is exact as long as all
updates of one key come from one source partition, in order; the value also records that
partition, which is where Faust writes its changelog and which the exporters use to export only
the partitions a worker owns.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

APPLIED_OFFSET = "applied_offset"
PARTITION = "partition"

State = dict[str, Any]
Position = int | tuple[int, ...]


def partition_key(topic: str, partition: int, *parts: object) -> str:
    return ":".join([topic, str(partition), *map(str, parts)])


def _as_tuple(position: Position | list[int]) -> tuple[int, ...]:
    return tuple(position) if isinstance(position, list | tuple) else (position,)


def apply_once(
    table: MutableMapping[str, State],
    key: str,
    partition: int,
    position: Position,
    update: Callable[[State], None],
) -> bool:
    """Apply ``update`` to the state under ``key`` unless ``position`` was applied already.

    ``update`` mutates a copy of the state; the copy is written back (one changelog record).
    Returns whether the update was applied.
    """
    current = table.get(key)
    if current is not None and _as_tuple(current[APPLIED_OFFSET]) >= _as_tuple(position):
        return False
    state = dict(current) if current is not None else {}
    update(state)
    state[APPLIED_OFFSET] = list(_as_tuple(position))
    state[PARTITION] = partition
    table[key] = state
    return True
