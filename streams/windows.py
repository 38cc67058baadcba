"""Event-time windows: 1-minute base windows rolled up to 5 min, 15 min, 1 h and 1 day.

Sub-day windows are aligned on UTC (as Prometheus and Grafana align theirs). A day is a
calendar day in the business time zone, so it lasts 23 or 25 hours on daylight-saving days.
Times are integer milliseconds since the epoch throughout: exact, hashable, cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MINUTE_MS = 60_000
SUB_DAY_SIZES_MS = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "15m": 15 * MINUTE_MS,
                    "1h": 60 * MINUTE_MS}
WINDOW_SIZES = (*SUB_DAY_SIZES_MS, "1d")


@dataclass(frozen=True, order=True)
class Window:
    size: str
    start_ms: int
    end_ms: int

    def settled(self, watermark_ms: int, allowed_lateness_ms: int) -> bool:
        """Settled once the watermark has passed the window's end plus the allowed lateness."""
        return watermark_ms >= self.end_ms + allowed_lateness_ms

    def as_dict(self) -> dict:
        return {"size": self.size, "start": iso(self.start_ms), "end": iso(self.end_ms)}


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def window_of(size: str, event_ms: int, tz: ZoneInfo) -> Window:
    if size == "1d":
        start, end = day_bounds(event_ms, tz)
        return Window(size, start, end)
    length = SUB_DAY_SIZES_MS[size]
    start = event_ms - event_ms % length
    return Window(size, start, start + length)


def windows_of(event_ms: int, tz: ZoneInfo) -> list[Window]:
    return [window_of(size, event_ms, tz) for size in WINDOW_SIZES]


def business_day(event_ms: int, tz: ZoneInfo) -> str:
    """The event's calendar date in the business time zone, ISO format."""
    return datetime.fromtimestamp(event_ms / 1000, tz).date().isoformat()


def day_bounds(event_ms: int, tz: ZoneInfo) -> tuple[int, int]:
    local = datetime.fromtimestamp(event_ms / 1000, tz)
    midnight = datetime(local.year, local.month, local.day, tzinfo=tz)
    next_day = midnight.date() + timedelta(days=1)
    next_midnight = datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz)
    return to_ms(midnight), to_ms(next_midnight)


@lru_cache(maxsize=4096)  # retention asks for the same few dozen days for every new active day
def day_window(day: str, tz: ZoneInfo) -> Window:
    """The window of a business day given as an ISO date."""
    local = datetime.fromisoformat(day).replace(tzinfo=tz)
    start, end = day_bounds(to_ms(local) + 1, tz)
    return Window("1d", start, end)
