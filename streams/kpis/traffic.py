"""Traffic and sessions: sessions, users, views, searches, signups, engagement, new users.

State: counters on the session (page views, first and last event time, whether it has an
order) and on the user (first seen); windows each was counted in.
Aggregates, per window: ``sessions|<channel>|<device>``, ``engaged_sessions|...``,
``<event type>|<channel>|<device>`` for page_view, product_view, search, signup,
newsletter_signup, ``users``, ``new_users``, ``returning_users``;
``campaign_sessions|<channel>|<campaign>`` (streams/kpis/acquisition.py); ``session_seconds_*``, a
histogram of session durations (last event - first event), observed when the session ends
(``end`` timer: session_timeout after its last event), in the windows of that instant.
"""

from __future__ import annotations

from decimal import Decimal

from streams.kpis.checkout import observe
from streams.kpis.context import EventContext, TimerContext

COUNTED_TYPES = ("page_view", "product_view", "search", "signup", "newsletter_signup")
# GA4: an engaged session lasts 10 s or more, or has 2+ page or screen views, or an order.
ENGAGED_AFTER_MS = 10_000
ENGAGED_PAGE_VIEWS = 2
# 0 s holds the single-event sessions (bounces), 10 s is GA4's engagement threshold, 30 min is
# the session timeout and 2 h a long visit: the range a shop's sessions spread over.
SESSION_BUCKETS_SECONDS = (0, 10, 30, 60, 180, 600, 1800, 3600, 7200)


def engaged(session: dict) -> bool:
    return (session["last_ms"] - session["first_ms"] >= ENGAGED_AFTER_MS
            or session.get("page_views", 0) >= ENGAGED_PAGE_VIEWS
            or session.get("ordered", False))


def apply(ctx: EventContext) -> None:
    session, user, event = ctx.session, ctx.user, ctx.event
    if event.type == "page_view":
        session["page_views"] = session.get("page_views", 0) + 1
    if event.type == "order_completed":
        session["ordered"] = True
    dims = f"{ctx.channel}|{ctx.device}"
    ws = ctx.ws
    if event.type in COUNTED_TYPES:
        ws.add_all(f"{event.type}|{dims}")
    if windows := ctx.first_in(session, "counted"):
        ws.add_across(windows, f"sessions|{dims}")
        ws.add_across(windows, f"campaign_sessions|{ctx.channel}|{ctx.campaign}")
    # (An engaged session stays engaged: counted in the windows it reaches from then on.)
    if engaged(session) and (windows := ctx.first_in(session, "engaged_counted")):
        ws.add_across(windows, f"engaged_sessions|{dims}")
    if windows := ctx.first_in(user, "counted"):
        ws.add_across(windows, "users")
        if ctx.user_is_new:
            ws.add_across(windows, "new_users")
        elif user["first_day"] < ctx.day:
            ws.add_across(windows, "returning_users")


def session_ended(ctx: TimerContext) -> None:
    session = ctx.state
    seconds = Decimal(session["last_ms"] - session["first_ms"]) / 1000
    observe(ctx.ws, "session_seconds", seconds, SESSION_BUCKETS_SECONDS)
    ctx.ws.end("session", ctx.ident)
