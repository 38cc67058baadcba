"""An independent batch recomputation of the KPIs, written for clarity, not speed.

It shares no code with streams/kpis: it groups the full list of (non-late, deduplicated,
non-bot) events with sets and sorted lists, the way an analyst would in a notebook. Carts are
followed one at a time through their events (KPIS.md "Carts and checkout"); a deadline at
instant D (last activity + abandon_after, ...) counts as passed for an event strictly after D.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from kpiwatch.settings import DEFAULT_PAYMENT_METHOD_ALIASES
from streams.batches import partition_of  # (ingestion's routing, not the KPI code)
from streams.windows import WINDOW_SIZES, business_day, day_window, window_of

CHECKOUT_BUCKETS = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
SESSION_BUCKETS = (0, 10, 30, 60, 180, 600, 1800, 3600, 7200)
STEPS = {"shipping", "payment"}
DAY_MS = 24 * 3_600_000
METHODS = {"card", "paypal", "apple_pay", "google_pay", "klarna", "bank_transfer"}


def ms(event) -> int:
    return int(event.timestamp.timestamp() * 1000)


def sessionize(events, timeout_ms):
    """Session ident for every event_id, and each session's events in order. A session is the
    events of one user key (and session_id, if any) with no gap longer than the timeout."""
    by_key = defaultdict(list)
    for e in events:
        by_key[(e.user_key, e.session_id)].append(e)
    session_of, sessions = {}, defaultdict(list)
    for (user, sid), evs in by_key.items():
        evs.sort(key=lambda e: (ms(e), e.event_id))
        current, last = None, None
        for e in evs:
            if current is None or ms(e) - last > timeout_ms:
                current = f"{user}|{sid}|{ms(e)}"
            last = ms(e)
            session_of[e.event_id] = current
            sessions[current].append(e)
    return session_of, sessions


def observe(c, name, seconds, buckets):
    c[f"{name}_count"] += 1
    c[f"{name}_sum"] += seconds
    for bound in buckets:
        if seconds <= bound:
            c[f"{name}_bucket|{bound}"] += 1


def payment_name(raw):
    """A raw payment method as the configured names know it (kpiwatch.settings aliases)."""
    if raw is None:
        return "other"
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")  # (as the aliases are keyed)
    key = DEFAULT_PAYMENT_METHOD_ALIASES.get(key, key)
    return key if key in METHODS else "other"


def link_id(user_id, anonymous_id, at_ms):
    """The id ingestion gives an identity link (streams/ingest.py), which orders it among
    events of the same millisecond."""
    return f"link:{len(user_id)}:{user_id}:{anonymous_id}:{at_ms}"


def resolve_devices(events, identifies=(), user_ttl_ms=31 * DAY_MS):
    """The events, those with a user id only given the anonymous id of the device they belong
    to: of the devices linked to the user id (by an event carrying both ids, or an identify
    call: ``identifies`` holds their (ms, user_id, anonymous_id)), the one linked first most
    recently. A user id's links are forgotten ``user_ttl_ms`` after the earliest link of the
    last (UTC) day it was linked on. Links and events go in (ms, id) order, as the engine
    applies them."""
    links = [(ms(e), e.user_id, e.anonymous_id) for e in events
             if e.user_id is not None and e.anonymous_id is not None] + list(identifies)
    timeline = sorted([((at, link_id(user, device, at)), user, device) for at, user, device in links]
                      + [((ms(e), e.event_id), e.user_id, e) for e in events
                         if e.anonymous_id is None])
    state, resolved_as = {}, {}
    for key, user, what in timeline:
        current = state.get(user)
        if current is not None and key[0] > current["expire"]:
            current = state[user] = None
        if isinstance(what, str):  # a link
            if current is None:
                current = state[user] = {"devices": set(), "day": None}
            if what not in current["devices"]:
                current["devices"].add(what)
                current["latest"] = what
            if current["day"] is None or key[0] // DAY_MS > current["day"]:
                current["day"], current["expire"] = key[0] // DAY_MS, key[0] + user_ttl_ms
        elif current is not None:
            resolved_as[what.event_id] = current["latest"]
    return [e.model_copy(update={"anonymous_id": resolved_as[e.event_id]})
            if e.event_id in resolved_as else e for e in events]


def label(raw):
    return raw.strip().lower().replace(" ", "_").replace("-", "_")


def parse_costs(text):
    """product -> [(valid from ms, unit cost, currency or None)], from a costs CSV's text."""
    costs = defaultdict(list)
    for row in csv.DictReader(io.StringIO(text)):
        since = row.get("valid_from") or ""
        at = int(datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() * 1000) \
            if since else -1
        costs[row["product_id"]].append((at, Decimal(row["unit_cost"]), row.get("currency") or None))
    return dict(costs)


def recompute(events, tz, timeout_ms=30 * 60_000, rates=None, base="EUR",
              abandon_ms=30 * 60_000, recovery_ms=7 * DAY_MS, user_ttl_ms=61 * DAY_MS,
              dedup_ms=DAY_MS, identifies=(), campaigns=(), costs=None, partitions=1,
              surveys=(), features=(), activation_event="order_completed",
              activation_ms=7 * DAY_MS):
    """{(size, window_start): Counter(metric -> value)} for every window with an event.
    ``costs``: parse_costs of the product costs; ``partitions``: the KPI partitions (a
    customer is a user id on one partition: docs/KPIS.md)."""
    rates = rates or {}
    costs = costs or {}
    events = resolve_devices(events, identifies)

    def to_base(amount, cur):
        if amount is None or cur is None:
            return None
        return amount if cur == base else (amount * rates[cur] if cur in rates else None)

    def campaign_of(e):
        raw = first[session_of[e.event_id]].utm_campaign
        return label(raw) if raw is not None and label(raw) in campaigns else "other"

    def cost_of_goods(e):
        total = Decimal(0)
        for item in e.items:
            known = [(at, cost, cur) for at, cost, cur in costs.get(item.product_id, ())
                     if at <= ms(e)]
            if not known:
                return None
            _, cost, cur = max(known, key=lambda version: version[0])
            unit = to_base(cost, cur or base)
            if unit is None:
                return None
            total += unit * item.quantity
        return total if e.items else None

    events = sorted(events, key=lambda e: (ms(e), e.event_id))
    session_of, sessions = sessionize(events, timeout_ms)
    last_seen_event = {}
    first = {ident: evs[0] for ident, evs in sessions.items()}
    out = defaultdict(Counter)

    def dims(e):
        f = first[session_of[e.event_id]]
        return str(f.channel), str(f.device)

    # A user is forgotten after user_ttl of inactivity: back after that, it is new again.
    life_first, life_start, last_seen = {}, set(), {}
    for e in events:
        if e.user_key not in last_seen or ms(e) - last_seen[e.user_key] > user_ttl_ms:
            life_start.add(e.event_id)
            first_of_life = e
        else:
            first_of_life = life_first[last_seen_event[e.user_key].event_id]
        life_first[e.event_id] = first_of_life
        last_seen[e.user_key] = ms(e)
        last_seen_event[e.user_key] = e

    first_orders, customers = set(), set()
    for e in events:
        if e.type == "order_completed" and e.user_id is not None:
            customer = (partition_of(e.user_key, partitions) if partitions > 1 else 0, e.user_id)
            if customer not in customers:
                customers.add(customer)
                first_orders.add(e.event_id)

    method_of = _follow_carts(events, session_of, lambda e: dims(e)[0],
                              lambda e: life_first[e.event_id].event_id, tz, out, abandon_ms,
                              recovery_ms, to_base)
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
                c[f"campaign_sessions|{ch}|{campaign_of(sevs[0])}"] += 1
                whole = sessions[ident]
                upto = [x for x in whole if (ms(x), x.event_id) <= (ms(sevs[-1]), sevs[-1].event_id)]
                if (ms(upto[-1]) - ms(upto[0]) >= 10_000
                        or sum(x.type == "page_view" for x in upto) >= 2
                        or any(x.type == "order_completed" for x in upto)):
                    c[f"engaged_sessions|{ch}|{dev}"] += 1
                for stage in ("product_view", "cart_add", "checkout_started", "order_completed"):
                    if any(x.type == stage for x in sevs):
                        c[f"funnel|{stage}|{ch}"] += 1
            users_here, payers = {}, set()
            for e in evs:
                users_here.setdefault(e.user_key, e)
                ch, dev = dims(e)
                if e.type in ("page_view", "product_view", "search", "signup", "newsletter_signup"):
                    c[f"{e.type}|{ch}|{dev}"] += 1
                if e.type == "payment_failed":
                    c[f"payment_failures|{payment_name(method_of[e.event_id])}"] += 1
                if e.type == "order_completed":
                    amount = to_base(e.revenue, e.currency)
                    method = payment_name(method_of[e.event_id])
                    c[f"orders|{ch}|{method}"] += 1
                    c[f"units|{ch}|{method}"] += sum(i.quantity for i in e.items)
                    if amount is None:
                        c[f"unconverted_orders|{e.currency or 'none'}"] += 1
                        c[f"unconverted_revenue|{e.currency or 'none'}"] += e.revenue
                    else:
                        c[f"revenue|{ch}|{method}"] += amount
                    camp = f"{ch}|{campaign_of(e)}"
                    c[f"campaign_orders|{camp}"] += 1
                    if amount is not None:
                        c[f"campaign_revenue|{camp}"] += amount
                    if e.event_id in first_orders:
                        c[f"new_customers|{camp}"] += 1
                    payers.add(e.user_key)
                    cogs = cost_of_goods(e)
                    if cogs is None or amount is None:
                        c[f"uncosted_orders|{ch}"] += 1
                        if amount is not None:
                            c[f"uncosted_revenue|{ch}"] += amount
                    else:
                        c[f"cogs|{ch}"] += cogs
                        c[f"costed_revenue|{ch}"] += amount
            if payers:
                c["paying_users"] += len(payers)
            for e in users_here.values():
                c["users"] += 1
                if e.event_id in life_start:
                    c["new_users"] += 1
                elif business_day(ms(life_first[e.event_id]), tz) < business_day(ms(e), tz):
                    c["returning_users"] += 1

    for evs in sessions.values():
        end = ms(evs[-1]) + timeout_ms
        seconds = Decimal(ms(evs[-1]) - ms(evs[0])) / 1000
        for size in WINDOW_SIZES:
            observe(out[(size, window_of(size, end, tz).start_ms)], "session_seconds", seconds,
                    SESSION_BUCKETS)
    _follow_orders(events, lambda e: dims(e)[0], method_of, tz, out, to_base, dedup_ms)
    life_of = {e.event_id: life_first[e.event_id].event_id for e in events}
    _journey(events, sessions, life_of, tz, out, surveys, features, activation_event,
             activation_ms)
    _active_users(events, tz, out, {e.event_id: business_day(ms(life_first[e.event_id]), tz)
                                    for e in events})
    return out


ACTIVATION_BUCKETS = (3600, 21600, 86400, 172800, 259200, 604800, 1209600)


def _journey(events, sessions, life_of, tz, out, surveys, features, activation_event,
             activation_ms):
    """Activation, referrals, surveys, features, demos, comparisons, time on product pages
    (docs/KPIS.md, "The user journey"), in time order per user life."""
    def named(raw, names):
        return label(raw) if raw is not None and label(raw) in names else "other"

    for evs in sessions.values():
        for viewed, following in zip(evs, evs[1:], strict=False):
            if viewed.type == "product_view":
                _count(out, tz, ms(following), "product_page_seconds",
                       Decimal(ms(following) - ms(viewed)) / 1000)
                _count(out, tz, ms(following), "timed_product_views")
    users, distinct = {}, set()
    for e in events:
        user = users.setdefault(life_of[e.event_id], {})

        def once(key):
            for size in WINDOW_SIZES:
                seen = (size, window_of(size, ms(e), tz).start_ms, e.user_key, key)
                if seen not in distinct:
                    distinct.add(seen)
                    out[seen[:2]][key] += 1

        if (e.type == activation_event and "signup" in user and not user.get("activated")
                and ms(e) - user["signup"] <= activation_ms):
            user["activated"] = True
            _count(out, tz, ms(e), "activations")
            for size in WINDOW_SIZES:
                observe(out[(size, window_of(size, ms(e), tz).start_ms)],
                        "time_to_activate_seconds", Decimal(ms(e) - user["signup"]) / 1000,
                        ACTIVATION_BUCKETS)
        if e.type == "signup" and "signup" not in user:
            user["signup"] = ms(e)
            if getattr(e, "referrer_id", None) is not None:
                user["referred"] = True
                _count(out, tz, ms(e), "referred_signups")
        elif e.type == "order_completed" and user.get("referred") is True:
            user["referred"] = "customer"
            _count(out, tz, ms(e), "referred_customers")
        elif e.type == "invite_sent":
            _count(out, tz, ms(e), "invites_sent")
            once("inviting_users")
        elif e.type == "survey_response":
            survey = named(e.survey, surveys)
            if e.scale == "nps":
                _count(out, tz, ms(e), f"nps_responses|{survey}")
                if e.score >= 9:
                    _count(out, tz, ms(e), f"nps_promoters|{survey}")
                elif e.score <= 6:
                    _count(out, tz, ms(e), f"nps_detractors|{survey}")
            else:
                _count(out, tz, ms(e), f"csat_responses|{survey}")
                _count(out, tz, ms(e), f"csat_score_sum|{survey}", e.score)
                if e.score >= 4:
                    _count(out, tz, ms(e), f"csat_satisfied|{survey}")
        elif e.type == "feature_used":
            feature = named(e.feature, features)
            _count(out, tz, ms(e), f"feature_uses|{feature}")
            once(f"feature_users|{feature}")
        elif e.type == "demo_requested":
            _count(out, tz, ms(e), f"demo_requests|{str(e.channel)}")
        elif e.type == "products_compared":
            _count(out, tz, ms(e), f"product_comparisons|{str(e.channel)}")
    for user in users.values():
        if "signup" in user:
            at = user["signup"] + activation_ms
            _count(out, tz, at, "activation_cohort")
            if user.get("activated"):
                _count(out, tz, at, "activation_cohort_activated")


def _count(out, tz, at, key, amount=1):
    for size in WINDOW_SIZES:
        out[(size, window_of(size, at, tz).start_ms)][key] += amount


def _follow_carts(events, session_of, channel_of, life_of, tz, out, abandon_ms, recovery_ms,
                  to_base):
    """Every cart through its events, all in time order: abandonments, orders, recoveries,
    checkouts. A cart is its cart_id, else its session's cart; a checkout or order without a
    cart_id belongs to the carts its session changed (latest last), else its user's (in this
    life of the user key), that no order closed since, else to its session's cart: a session or
    user lists the carts of its cart events and events with a cart_id. Returns the raw payment
    method of
    each order and payment failure: its own, else its carts' latest payment step's, else its
    session's."""
    carts = {}  # ident -> state, while live
    changed = defaultdict(list)  # ("session", ident) or ("user", life) -> cart idents, latest last
    session_method, method_of = {}, {}

    def deadlines(cart):
        due = []
        if cart["checkout"] is not None and not cart["checkout_fired"]:
            due.append((cart["checkout"] + abandon_ms, 0))
        if cart["abandoned"] is None:
            due.append((cart["last"] + abandon_ms, 1))
        else:
            due.append((cart["abandoned"] + recovery_ms, 2))
        return sorted(due)

    def live(ident, before):
        """The cart, once every deadline of it strictly before ``before`` has passed."""
        cart = carts.get(ident)
        while cart is not None and deadlines(cart)[0][0] < before:
            at, which = deadlines(cart)[0]
            if which == 0:
                cart["checkout_fired"] = True
                _count(out, tz, at, f"checkout_abandonments|{cart['step'] or 'none'}")
            elif which == 1 and cart["items"] >= 1:
                cart["abandoned"] = at
                _count(out, tz, at, f"abandoned_carts|{cart['channel']}")
                if cart["value"] is None:
                    _count(out, tz, at, f"abandoned_carts_unvalued|{cart['channel']}")
                else:
                    _count(out, tz, at, f"abandoned_cart_value|{cart['channel']}", cart["value"])
            else:  # an empty cart gone idle, or an abandoned one past recovery
                del carts[ident]
                cart = None
        return cart

    def lists(e):
        return ("session", session_of[e.event_id]), ("user", life_of(e))

    def listed(e):
        session, user = lists(e)
        return list(changed[session] or changed[user])

    def latest_method(idents, e):
        for ident in reversed(idents):
            cart = live(ident, ms(e))
            if cart is not None and cart["method"] is not None:
                return cart["method"]
        return session_method.get(session_of[e.event_id])

    for e in events:
        own_cart = f"session:{session_of[e.event_id]}"
        if e.type == "payment_failed":
            method_of[e.event_id] = e.payment_method or latest_method(listed(e), e)
        elif e.type == "order_completed":
            closes = [e.cart_id] if e.cart_id is not None else listed(e)
            idents = [i for i in (closes or [own_cart]) if live(i, ms(e)) is not None]
            method_of[e.event_id] = e.payment_method or latest_method(idents, e)
            for key in lists(e):
                changed[key] = [i for i in changed[key] if i not in closes]
            for ident in idents:
                cart = carts.pop(ident)
                if cart["checkout"] is not None:
                    seconds = Decimal(ms(e) - cart["checkout"]) / 1000
                    for size in WINDOW_SIZES:
                        observe(out[(size, window_of(size, ms(e), tz).start_ms)],
                                "checkout_seconds", seconds, CHECKOUT_BUCKETS)
                if cart["items"] >= 1:
                    kind = "recovered_carts" if cart["abandoned"] is not None else "ordered_carts"
                    _count(out, tz, ms(e), f"{kind}|{cart['channel']}")
                    seconds = Decimal(ms(e) - cart["first"]) / 1000
                    for size in WINDOW_SIZES:
                        observe(out[(size, window_of(size, ms(e), tz).start_ms)],
                                "cart_to_order_seconds", seconds, CHECKOUT_BUCKETS)
        elif e.type in ("cart_add", "cart_remove", "checkout_started", "checkout_step"):
            if e.cart_id is not None:
                ident = e.cart_id
            elif e.type in ("cart_add", "cart_remove"):
                ident = own_cart
            else:
                ident = (listed(e) or [own_cart])[-1]
            cart = live(ident, ms(e))
            if cart is None:
                cart = carts[ident] = {
                    "channel": channel_of(e), "first": ms(e), "items": 0, "value": Decimal(0),
                    "checkout": None, "checkout_fired": False, "step": None, "abandoned": None,
                    "last": ms(e), "method": None}
            if e.cart_id is not None or e.type in ("cart_add", "cart_remove"):
                for key in lists(e):
                    changed[key] = [*(i for i in changed[key] if i != ident), ident][-8:]
            if cart["abandoned"] is None:
                cart["last"] = ms(e)
            if e.type in ("cart_add", "cart_remove"):
                sign = 1 if e.type == "cart_add" else -1
                cart["items"] += sign * e.quantity
                line = None if e.price is None else to_base(e.price * e.quantity, e.currency)
                cart["value"] = None if line is None or cart["value"] is None else (
                    cart["value"] + sign * line)
            elif e.type == "checkout_started" and cart["checkout"] is None:
                cart["checkout"] = ms(e)
            elif e.type == "checkout_step":
                cart["step"] = e.step if e.step in STEPS else "other"
                if e.payment_method is not None:
                    cart["method"] = session_method[session_of[e.event_id]] = e.payment_method
    for ident in list(carts):
        live(ident, float("inf"))
    return method_of


def _follow_orders(events, channel_of, method_of, tz, out, to_base, dedup_ms):
    """Refunds, cancellations and updates, each counted at its own instant, under the order's
    channel and method when the order is remembered (``dedup_ms`` after it, under the same
    user key), its revenue taken from the order for a refund without an amount."""
    orders = {}

    def remembered(e):
        # Remembered where the order was applied: under its user key (its KPI partition's).
        order = orders.get((e.user_key, e.order_id))
        return order if order is not None and ms(e) <= order["at"] + dedup_ms else None

    for e in events:
        if e.type == "order_completed":
            orders[(e.user_key, e.order_id)] = {"at": ms(e), "revenue": to_base(e.revenue, e.currency),
                                  "dims": f"{channel_of(e)}|{payment_name(method_of[e.event_id])}",
                                  "cancelled": False}
        elif e.type == "order_refunded":
            order = remembered(e)
            amount = (to_base(e.amount, e.currency) if e.amount is not None
                      else order and order["revenue"])
            _count(out, tz, ms(e), f"refunds|{channel_of(e)}")
            if amount is None:
                _count(out, tz, ms(e), f"refunds_unvalued|{channel_of(e)}")
            else:
                _count(out, tz, ms(e), f"refunded|{channel_of(e)}", amount)
        elif e.type == "order_cancelled":
            order = remembered(e)
            if order is None:
                _count(out, tz, ms(e), f"cancelled_orders|{channel_of(e)}|other")
            elif not order["cancelled"]:
                order["cancelled"] = True
                _count(out, tz, ms(e), f"cancelled_orders|{order['dims']}")
                if order["revenue"] is not None:
                    _count(out, tz, ms(e), f"cancelled_revenue|{order['dims']}", order["revenue"])
        elif e.type == "order_updated":
            order = remembered(e)
            new = to_base(e.revenue, e.currency)
            if (order is not None and not order["cancelled"] and order["revenue"] is not None
                    and new is not None and new != order["revenue"]):
                _count(out, tz, ms(e), f"revenue_adjustment|{order['dims']}",
                       new - order["revenue"])
                order["revenue"] = new


def _active_users(events, tz, out, first_day_of):
    """DAU/WAU/MAU, frequency, churn, lapses and weekly cohorts, from the set of users active
    on each day (``first_day_of``: the first day of each event's user life)."""
    active, first_day = defaultdict(set), {}
    for e in events:
        day = date.fromisoformat(business_day(ms(e), tz))
        active[day].add(e.user_key)
        first_day[(e.user_key, day)] = date.fromisoformat(first_day_of[e.event_id])
    if not active:
        return

    def union(day, back, span):
        return set().union(*(active.get(day - timedelta(days=k), set())
                             for k in range(back, back + span)))

    day, last = min(active), max(active) + timedelta(days=59)
    while day <= last:
        start = day_window(day.isoformat(), tz).start_ms
        c = out[("1d", start)]
        for name, back, span in (("dau", 0, 1), ("wau", 0, 7), ("mau", 0, 30),
                                 ("previous_mau", 30, 30)):
            if users := union(day, back, span):
                c[name] = len(users)
        days = sum(len(active.get(day - timedelta(days=k), ())) for k in range(30))
        if days:
            c["active_days_30d"] = days
        if churned := union(day, 30, 30) - union(day, 0, 30):
            c["churned_users"] = len(churned)
        lapsed_day = day - timedelta(days=30)
        if lapsed := active.get(lapsed_day, set()) - union(day, 0, 30):
            c["lapsed_users"] = len(lapsed)
            c["lapsed_lifetime_days"] = sum((lapsed_day - first_day[(u, lapsed_day)]).days + 1
                                            for u in lapsed)
        day += timedelta(days=1)



def retention_cohorts(events, tz, user_ttl_ms=61 * DAY_MS):
    """Counter of ``retention_cohort|<week>|<weeks since>``: distinct users first seen (in
    this life of their user key) in the week of Monday <week>, active n weeks after."""
    events = sorted(resolve_devices(events), key=lambda e: (ms(e), e.event_id))
    first_seen, last_seen, seen, out = {}, {}, set(), Counter()
    for e in events:
        if e.user_key not in last_seen or ms(e) - last_seen[e.user_key] > user_ttl_ms:
            first_seen[e.user_key] = date.fromisoformat(business_day(ms(e), tz))
        last_seen[e.user_key] = ms(e)
        day = date.fromisoformat(business_day(ms(e), tz))
        first = first_seen[e.user_key]
        week, cohort = day - timedelta(days=day.weekday()), first - timedelta(days=first.weekday())
        since = (week - cohort).days // 7
        if since <= 8 and (e.user_key, cohort, week) not in seen:
            seen.add((e.user_key, cohort, week))
            out[f"retention_cohort|{cohort.isoformat()}|{since}"] += 1
    return out
