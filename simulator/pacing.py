"""Pacing messages against the wall clock by their event time."""

import time
from collections.abc import Callable
from datetime import datetime


class Pacer:
    """When each message is due: the first message is due at once, each later one
    `(event_time - first event_time) / speed` seconds after it. `speed` 1 is real time,
    N is N times real time, 0 is as fast as possible (always due)."""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError(f"speed must be 0 or more, not {speed}")
        self.speed = speed
        self._clock = clock
        self._first_event: datetime | None = None
        self._started = 0.0

    def wait_seconds(self, event_time: datetime) -> float:
        """Seconds to wait before sending a message of `event_time` (0 when due)."""
        if self.speed == 0:
            return 0.0
        if self._first_event is None:
            self._first_event, self._started = event_time, self._clock()
            return 0.0
        due = self._started + (event_time - self._first_event).total_seconds() / self.speed
        return max(0.0, due - self._clock())
