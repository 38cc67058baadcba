"""Traffic and sessions: sessions, users, views, searches, signups, engagement, new users.

State: counters on the session (page views, first and last event time, whether it has an
order) and on the user (first seen); windows each was counted in.
Aggregates, per window: ``sessions|<channel>|<device>``, ``engaged_sessions|...``,
``<event type>|<channel>|<device>`` for page_view, product_view, search, signup,
newsletter_signup, ``users``, ``new_users``, ``returning_users``.
"""

from __future__ import annotations

from streams.kpis.context import EventContext

COUNTED_TYPES = ("page_view", "product_view", "search", "signup", "newsletter_signup")
# GA4: an engaged session lasts 10 s or more, or has 2+ page or screen views, or an order.
ENGAGED_AFTER_MS = 10_000
ENGAGED_PAGE_VIEWS = 2


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
    for window in ctx.windows:
        if ctx.first_in_window(session, "counted", window):
            ctx.ws.add(window, f"sessions|{dims}")
        if engaged(session) and ctx.first_in_window(session, "engaged_counted", window):
            ctx.ws.add(window, f"engaged_sessions|{dims}")
        if event.type in COUNTED_TYPES:
            ctx.ws.add(window, f"{event.type}|{dims}")
        if ctx.first_in_window(user, "counted", window):
            ctx.ws.add(window, "users")
            if ctx.user_is_new:
                ctx.ws.add(window, "new_users")
            elif user["first_day"] < ctx.day:
                ctx.ws.add(window, "returning_users")
