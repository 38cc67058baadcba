"""Acknowledge a partition's events strictly in offset order, whatever order they finish in.

Faust commits the highest contiguous acknowledged offset, but its gap check is off by one:
with offsets up to N committed, N unacknowledged and N+1.. acknowledged, it commits past N
(the same flaw that lets agents with concurrency > 1 commit past an in-flight event). The KPI
engine finishes events in event-time order, not offset order, so it would hit exactly that.
Handing Faust only contiguous runs from the oldest event keeps its bookkeeping trivial.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class InOrderAcks:
    def __init__(self) -> None:
        self._arrived: deque[tuple[int, Any]] = deque()
        self._done: set[int] = set()

    def arrived(self, offset: int, handle: Any) -> None:
        self._arrived.append((offset, handle))

    def done(self, offset: int) -> list[Any]:
        """Mark one event finished; returns the handles that may now be acknowledged."""
        self._done.add(offset)
        ready = []
        while self._arrived and self._arrived[0][0] in self._done:
            head, handle = self._arrived.popleft()
            self._done.discard(head)
            ready.append(handle)
        return ready

    def __len__(self) -> int:
        return len(self._arrived)
