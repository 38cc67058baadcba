"""Retention: DAU, WAU and MAU per business day (stickiness = DAU / MAU), frequency of use,
churn, the lifetime of users who lapse, and weekly retention cohorts.

State: per user, the business days it was active on (the last 30; only the last is read) and
the day it was first seen.
Aggregates, per 1d window d:
- ``dau``, ``wau``, ``mau``: distinct users active on d, in the 7 days, in the 30 days ending
  d; ``previous_mau``: distinct users active in the 30 days before those (d-59 .. d-30).
  A user active on day t is newly counted in WAU(d') for the days d' of t..t+6 not already
  covered by its previous active day p (d' > p + 6), and likewise for the others: exact
  distinct counts without keeping a set per day.
- ``active_days_30d``: active days summed over users, in the 30 days ending d (frequency of
  use = active_days_30d / mau).
- ``churned_users``: users active in d-59 .. d-30 and not in d-29 .. d, that is whose last
  active day L is in d-59 .. d-30 (churn rate = churned_users / previous_mau). A new active
  day t counts the user in d = t+30 .. t+59 and takes back what its previous day p counted in
  the days from t on (those windows are still open: t is the event's day).
- ``lapsed_users`` and ``lapsed_lifetime_days``: users whose last active day was d-30, and
  their active lifetime (first seen .. last active, in days, both counted); average active
  lifetime = lapsed_lifetime_days / lapsed_users.
Since tracking began: ``retention_cohort|<week>|<weeks since>``: distinct users first seen in
the week starting Monday <week> (ISO date) active in its n-th week after, n = 0 .. 8 (n = 0
is the cohort's size). A user inactive for user_ttl (61 days) is forgotten and counts as new
again, so later weeks would not be exact.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from streams.kpis.context import ALL_TIME, EventContext
from streams.windows import Window, day_window

# Distinct users active in a span of days: (aggregate, days from the active day to the first
# window it counts in, span).
SPANS = (("dau", 0, 1), ("wau", 0, 7), ("mau", 0, 30), ("previous_mau", 30, 30))
REMEMBERED_DAYS = 30
CHURN_AFTER_DAYS = 30
COHORT_WEEKS = 8


def apply(ctx: EventContext) -> None:
    days: list[str] = ctx.user.setdefault("days", [])
    if days and days[-1] >= ctx.day:
        return  # active on this day already (events come in event-time order)
    previous = date.fromisoformat(days[-1]) if days else None
    days.append(ctx.day)
    del days[:-REMEMBERED_DAYS]
    today = date.fromisoformat(ctx.day)
    tz, ws = ctx.settings.timezone, ctx.ws
    for name, offset, span in SPANS:
        first = today + timedelta(days=offset)
        if previous is not None:
            first = max(first, previous + timedelta(days=offset + span))
        count = (today + timedelta(days=offset + span) - first).days
        if count > 0:
            ws.add_across(_day_windows(first.isoformat(), count, tz), name)
    ws.add_across(_day_windows(ctx.day, 30, tz), "active_days_30d")
    _churn(ctx, today, previous)
    _cohort(ctx, today, previous)


def _churn(ctx: EventContext, today: date, previous: date | None) -> None:
    ws, tz = ctx.ws, ctx.settings.timezone
    first_seen = date.fromisoformat(ctx.user["first_day"])
    lapse = today + timedelta(days=CHURN_AFTER_DAYS)
    ws.add_across(_day_windows(lapse.isoformat(), CHURN_AFTER_DAYS, tz), "churned_users")
    lapse_day = day_window(lapse.isoformat(), tz)
    ws.add(lapse_day, "lapsed_users")
    ws.add(lapse_day, "lapsed_lifetime_days", (today - first_seen).days + 1)
    if previous is None:
        return
    was_lapse = previous + timedelta(days=CHURN_AFTER_DAYS)
    taken_from = max(today, was_lapse)
    count = (was_lapse + timedelta(days=CHURN_AFTER_DAYS) - taken_from).days
    if count > 0:
        ws.add_across(_day_windows(taken_from.isoformat(), count, tz), "churned_users", -1)
    if was_lapse >= today:
        was_lapse_day = day_window(was_lapse.isoformat(), tz)
        ws.add(was_lapse_day, "lapsed_users", -1)
        ws.add(was_lapse_day, "lapsed_lifetime_days", -((previous - first_seen).days + 1))


def _cohort(ctx: EventContext, today: date, previous: date | None) -> None:
    week = today - timedelta(days=today.weekday())
    if previous is not None and previous - timedelta(days=previous.weekday()) == week:
        return  # active this week already
    first_seen = date.fromisoformat(ctx.user["first_day"])
    cohort = first_seen - timedelta(days=first_seen.weekday())
    since = (week - cohort).days // 7
    if since <= COHORT_WEEKS:
        ctx.ws.add(ALL_TIME, f"retention_cohort|{cohort.isoformat()}|{since}")


@lru_cache(maxsize=4096)  # a new user adds to 38 day windows: too many to build per event
def _day_windows(first: str, count: int, tz: ZoneInfo) -> tuple[Window, ...]:
    """The windows of ``count`` business days from ``first`` (an ISO date) on."""
    start = date.fromisoformat(first)
    return tuple(day_window((start + timedelta(days=offset)).isoformat(), tz)
                 for offset in range(count))
