"""An independent batch recomputation of the KPIs, written for clarity, not speed.

It shares no code with streams/kpis: it groups the full list of (non-late, deduplicated,
non-bot) events with sets and sorted lists, the way an analyst would in a notebook.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal

from streams.windows import WINDOW_SIZES, business_day, day_window, window_of

CHECKOUT_BUCKETS = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
METHODS = {"card", "paypal", "apple_pay", "google_pay", "klarna", "bank_transfer"}


def ms(event) -> int:
    return int(event.timestamp.timestamp() * 1000)


def sessionize(events, timeout_ms):
    """Session ident for every event_id, and each session's events in order."""
    by_user = defaultdict(list)
    for e in events:
        by_user[e.user_key].append(e)
    session_of, sessions = {}, defaultdict(list)
    for user, evs in by_user.items():
        evs.sort(key=lambda e: (ms(e), e.event_id))
        current, last = None, None
        for e in evs:
            if e.session_id is not None:
                ident = f"{user}~{e.session_id}"
            else:
                if current is None or ms(e) - last > timeout_ms:
                    current = f"{user}@{ms(e)}"
                last = ms(e)
                ident = current
            session_of[e.event_id] = ident
            sessions[ident].append(e)
    return session_of, sessions


def recompute(events, tz, timeout_ms=30 * 60_000, rates=None, base="EUR"):
    """{(size, window_start): Counter(metric -> value)} for every window with an event."""
    rates = rates or {}
    events = sorted(events, key=lambda e: (ms(e), e.event_id))
    session_of, sessions = sessionize(events, timeout_ms)
    first = {ident: evs[0] for ident, evs in sessions.items()}
    out = defaultdict(Counter)

    def dims(e):
        f = first[session_of[e.event_id]]
        return str(f.channel), str(f.device)

    user_first = {}
    for e in events:
        user_first.setdefault(e.user_key, e)

    for size in WINDOW_SIZES:
        groups = defaultdict(list)
        for e in events:
            groups[window_of(size, ms(e), tz).start_ms].append(e)
        for start, evs in groups.items():
            c = out[(size, start)]
            in_window = defaultdict(list)
            for e in evs:
                in_window[session_of[e.event_id]].append(e)
            for ident, sevs in in_window.items():
                ch, dev = dims(sevs[0])
                c[f"sessions|{ch}|{dev}"] += 1
                whole = sessions[ident]
                upto = [x for x in whole if (ms(x), x.event_id) <= (ms(sevs[-1]), sevs[-1].event_id)]
                if (ms(upto[-1]) - ms(upto[0]) >= 10_000
                        or sum(x.type == "page_view" for x in upto) >= 2
                        or any(x.type == "order_completed" for x in upto)):
                    c[f"engaged_sessions|{ch}|{dev}"] += 1
                for stage in ("product_view", "cart_add", "checkout_started", "order_completed"):
                    if any(x.type == stage for x in sevs):
                        c[f"funnel|{stage}|{ch}"] += 1
            users_here = {}
            for e in evs:
                users_here.setdefault(e.user_key, e)
                ch, dev = dims(e)
                if e.type in ("page_view", "product_view", "search", "signup", "newsletter_signup"):
                    c[f"{e.type}|{ch}|{dev}"] += 1
                if e.type == "payment_failed":
                    method = e.payment_method if e.payment_method in METHODS else "other"
                    c[f"payment_failures|{method}"] += 1
                if e.type == "order_completed":
                    amount = e.revenue if e.currency == base else (
                        e.revenue * rates[e.currency] if e.currency in rates else None)
                    if amount is None:
                        c[f"unconverted_orders|{e.currency}"] += 1
                    else:
                        method = e.payment_method if e.payment_method in METHODS else "other"
                        c[f"orders|{ch}|{method}"] += 1
                        c[f"revenue|{ch}|{method}"] += amount
                        c[f"units|{ch}|{method}"] += sum(i.quantity for i in e.items)
                if e.type == "order_refunded":
                    c[f"refunds|{ch}"] += 1
                    if e.currency == base:
                        c[f"refunded|{ch}"] += e.amount
            for user, e in users_here.items():
                c["users"] += 1
                if user_first[user] is e:
                    c["new_users"] += 1
                elif business_day(ms(user_first[user]), tz) < business_day(ms(e), tz):
                    c["returning_users"] += 1

    _checkout_times(events, session_of, tz, out)
    _active_users(events, tz, out)
    return out


def _checkout_times(events, session_of, tz, out):
    started, ordered = {}, set()
    for e in events:
        cart = e.cart_id or f"session:{session_of[e.event_id]}"
        if e.type == "checkout_started":
            started.setdefault(cart, ms(e))
        elif e.type == "order_completed" and cart in started and cart not in ordered:
            ordered.add(cart)
            seconds = Decimal(ms(e) - started[cart]) / 1000
            for size in WINDOW_SIZES:
                c = out[(size, window_of(size, ms(e), tz).start_ms)]
                c["checkout_seconds_count"] += 1
                c["checkout_seconds_sum"] += seconds
                for bound in CHECKOUT_BUCKETS:
                    if seconds <= bound:
                        c[f"checkout_seconds_bucket|{bound}"] += 1


def _active_users(events, tz, out):
    active = defaultdict(set)
    for e in events:
        active[date.fromisoformat(business_day(ms(e), tz))].add(e.user_key)
    if not active:
        return
    day, last = min(active), max(active) + timedelta(days=29)
    while day <= last:
        start = day_window(day.isoformat(), tz).start_ms
        for name, span in (("dau", 1), ("wau", 7), ("mau", 30)):
            users = set().union(*(active.get(day - timedelta(days=k), set()) for k in range(span)))
            if users:
                out[("1d", start)][name] = len(users)
        day += timedelta(days=1)
