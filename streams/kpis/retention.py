"""Retention: DAU, WAU and MAU per business day (stickiness = DAU / MAU).

State: per user, the business days it was active on (the last 30).
Aggregates, per 1d window: ``dau``, ``wau``, ``mau``: distinct users active on the day, in the
7 days, in the 30 days ending that day. A user active on day d is newly counted in WAU(d')
for the days d' of d..d+6 not already covered by its previous active day p (d' > p + 6), and
likewise for MAU: exact distinct counts without keeping a set per day.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from streams.kpis.context import EventContext
from streams.windows import Window, day_window

SPANS = (("dau", 1), ("wau", 7), ("mau", 30))
REMEMBERED_DAYS = 30


def apply(ctx: EventContext) -> None:
    days: list[str] = ctx.user.setdefault("days", [])
    if days and days[-1] >= ctx.day:
        return  # active on this day already (events come in event-time order)
    previous = date.fromisoformat(days[-1]) if days else None
    days.append(ctx.day)
    del days[:-REMEMBERED_DAYS]
    today = date.fromisoformat(ctx.day)
    for name, span in SPANS:
        first = today if previous is None else max(today, previous + timedelta(days=span))
        count = (today + timedelta(days=span) - first).days
        if count > 0:
            ctx.ws.add_across(_day_windows(first.isoformat(), count, ctx.settings.timezone),
                              name)


@lru_cache(maxsize=4096)  # a new user adds to 38 day windows: too many to build per event
def _day_windows(first: str, count: int, tz: ZoneInfo) -> tuple[Window, ...]:
    """The windows of ``count`` business days from ``first`` (an ISO date) on."""
    start = date.fromisoformat(first)
    return tuple(day_window((start + timedelta(days=offset)).isoformat(), tz)
                 for offset in range(count))
