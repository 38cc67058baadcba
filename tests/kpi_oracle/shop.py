"""Seeded canonical event streams for KPI tests: sessions with funnels, out-of-order arrival,
and a few very late events. Carts get abandoned (some before checkout, some at each checkout
step), ordered, emptied, and recovered by an order after a long pause.

Half the journeys are shaped as Segment's e-commerce spec sends them: ``cart_id`` on cart
events only, the payment method on the payment step (raw names: "Credit Card", "visa"), not
on the order; a quarter sign in at checkout and their order comes from the shop's server with
the user id only (two browsers share each customer id). Orders are sometimes cancelled,
updated, refunded in full (no amount), or in a currency without a rate or with none."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from models import EVENT_MODELS
from streams.kpis.identity import Links, identity_link

CHANNELS = ("direct", "organic_search", "paid_search", "email", "paid_social")
# The campaigns a test configures (KPIWATCH_CAMPAIGNS), and the raw tags journeys carry: some
# spelled otherwise, some not configured (reported as other).
CAMPAIGNS = ("brand", "black_friday", "retargeting")
RAW_CAMPAIGNS = ("Brand", "black-friday", "Retargeting", "summer_sale", None, None)
# Unit costs (KPIWATCH_PRODUCT_COSTS_FILE): p1 changes cost during the data; p5 has none, so
# its orders are uncosted.
COSTS_CSV = """product_id,unit_cost,currency,valid_from
p1,4.10,,
p1,4.35,EUR,2026-03-29T06:00:00Z
p2,11.00,USD,
p3,0.85,,
p4,7.25,GBP,
"""
PRODUCTS = ("p1", "p1", "p2", "p3", "p4", "p5")


def economics_settings() -> dict:
    """The KpiSettings fields of the shop's campaigns and product costs."""
    import csv
    import io

    from models.product_costs import parse_costs

    return {"campaigns": frozenset(CAMPAIGNS),
            "product_costs": parse_costs(csv.DictReader(io.StringIO(COSTS_CSV))),
            "surveys": frozenset(SURVEYS), "features": frozenset(FEATURES)}


def economics_oracle() -> dict:
    """The same, as the oracle's ``recompute`` takes them."""
    from tests.kpi_oracle.oracle import parse_costs

    return {"campaigns": CAMPAIGNS, "costs": parse_costs(COSTS_CSV), "surveys": SURVEYS,
            "features": FEATURES}
DEVICES = ("desktop", "mobile", "tablet")
START = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # spans the Berlin DST switch


# The journey's events, among a visit's first steps: (kind, share of visits).
JOURNEY_STEPS = (("signup", 0.06), ("invite_sent", 0.05), ("feature_used", 0.15),
                 ("products_compared", 0.06), ("demo_requested", 0.02))
JOURNEY_KINDS = frozenset(kind for kind, _ in JOURNEY_STEPS) | {"survey_response"}
JOURNEY_SURVEYS = ({"scale": "nps", "survey": "post_purchase"}, {"scale": "nps"},
                   {"scale": "csat", "survey": "Support"}, {"scale": "csat", "survey": "exit"})
SURVEYS, FEATURES = ("post_purchase", "support"), ("wishlist", "size_guide", "gift_wrap")


def event(kind: str, n: int, ts: datetime, user: str, **fields):
    return EVENT_MODELS[kind].model_validate({
        "type": kind, "event_id": f"e{n:06d}", "timestamp": ts, "anonymous_id": user,
        **fields})


def shop_events(count: int, seed: int = 1, span: timedelta = timedelta(hours=30),
                start: datetime = START):
    """About ``count`` events of many users over ``span`` from ``start``, in event-time order."""
    rng = random.Random(seed)
    # Campaigns and order lines from a stream of their own: the rest stays as it was.
    tags = random.Random(seed + 7919)
    journey = random.Random(seed + 104729)  # (the user journey's events, likewise)
    events, n = [], 0
    users = [f"u{i}" for i in range(max(3, count // 25))]
    # Two browsers per customer: a server-side order belongs to the newest linked one.
    customer = {user: f"cust-{i // 2}" for i, user in enumerate(users)}
    while n < count:
        user = rng.choice(users)
        t = start + timedelta(seconds=rng.uniform(0, span.total_seconds()))
        channel, device = rng.choice(CHANNELS), rng.choice(DEVICES)
        sid = f"s{n}" if rng.random() < 0.5 else None
        cart = f"c{n}" if rng.random() < 0.5 else None
        spec_shaped = rng.random() < 0.5
        # Signed in at checkout, the order sent from the shop's server with the user id only.
        server_side = spec_shaped and rng.random() < 0.5
        common = {"session_id": sid, "channel": channel, "device": device,
                  "utm_campaign": tags.choice(RAW_CAMPAIGNS)}
        order_id = None
        steps = ["page_view"] + ["page_view"] * rng.randrange(3) + ["product_view"]
        if rng.random() < 0.1:
            steps.append("search")
        steps[1:1] = [kind for kind, share in JOURNEY_STEPS if journey.random() < share]
        if rng.random() < 0.35:
            steps.append("cart_add")
            if rng.random() < 0.15:
                steps += ["cart_add", "cart_remove"]
            if rng.random() < 0.8:
                steps += ["checkout_started"] + ["checkout_step"] * rng.randrange(3)
            if rng.random() < 0.15:
                steps.append("payment_failed")
            if rng.random() < 0.6:
                if rng.random() < 0.15:
                    steps.append("pause")  # back after abandon_after: a recovered cart
                steps.append("order_completed")
                if rng.random() < 0.1:
                    steps.append("order_refunded")
                if rng.random() < 0.06:
                    steps.append("order_updated")
                if rng.random() < 0.06:
                    steps.append("order_cancelled")
                if journey.random() < 0.4:
                    steps.append("survey_response")
        for kind in steps:
            pace = journey if kind in JOURNEY_KINDS else rng
            t += timedelta(seconds=pace.expovariate(1 / 40))
            if kind == "pause":
                t += timedelta(minutes=rng.uniform(25, 90))
                continue
            extra = {}
            if kind in ("product_view", "cart_add", "cart_remove"):
                extra = {"product_id": f"p{rng.randrange(30)}"}
            if kind in ("cart_add", "checkout_started", "checkout_step", "order_completed"):
                extra["cart_id"] = None if spec_shaped else cart
            if kind in ("cart_add", "cart_remove"):
                extra.update(price=f"{rng.randrange(100, 9000) / 100:.2f}",
                             quantity=rng.randrange(1, 3),
                             currency=rng.choice(["EUR"] * 8 + ["USD", "GBP", None]))
                extra["cart_id"] = cart
            if kind == "checkout_step":
                extra["step"] = rng.choice(["shipping", "payment", "payment", "review", "2"])
                if extra["step"] == "payment" and spec_shaped:
                    extra["payment_method"] = rng.choice(
                        ["Credit Card", "visa", "paypal", "apple pay", "crypto"])
            if kind == "payment_failed" and (not spec_shaped or rng.random() < 0.3):
                extra["payment_method"] = rng.choice(["card", "paypal", "crypto"])
            if kind == "order_completed":
                order_id = f"o{n}"
                extra.update(order_id=order_id,
                             revenue=f"{rng.randrange(500, 20000) / 100:.2f}",
                             currency=rng.choice(["EUR"] * 9 + ["USD", "GBP", "JPY", None]),
                             items=[{"product_id": tags.choice(PRODUCTS),
                                     "quantity": rng.randrange(1, 4)},
                                    *([{"product_id": tags.choice(PRODUCTS),
                                        "quantity": tags.randrange(1, 3)}]
                                      if tags.random() < 0.3 else [])],
                             user_id=customer[user] if rng.random() < 0.8 or server_side
                             else None)
                if not spec_shaped:
                    extra["payment_method"] = rng.choice(["card", "paypal", "klarna", "wire"])
            if kind == "order_refunded":
                if rng.random() < 0.5:
                    extra.update(order_id=f"o{n}", amount="5.00", currency="EUR")
                else:  # a full refund of the journey's order: Segment needs only order_id
                    extra.update(order_id=order_id)
            if kind == "order_updated":
                extra.update(order_id=order_id, currency="EUR",
                             revenue=f"{rng.randrange(500, 20000) / 100:.2f}")
            if kind in ("order_cancelled", "order_updated"):
                extra["order_id"] = order_id
            if kind == "signup" and journey.random() < 0.4:
                extra["referrer_id"] = customer[journey.choice(users)]
            if kind == "survey_response":
                extra.update(JOURNEY_SURVEYS[journey.randrange(len(JOURNEY_SURVEYS))],
                             score=journey.randrange(11))
                if extra["scale"] == "csat":
                    extra["score"] = 1 + extra["score"] % 5
            if kind == "feature_used":
                extra["feature"] = journey.choice(["wishlist", "Size Guide", "gift-wrap", "beta"])
            if server_side and kind in ("checkout_started", "checkout_step"):
                extra["user_id"] = customer[user]
            if server_side and kind in ("order_completed", "order_refunded", "order_cancelled"):
                extra.update(anonymous_id=None, user_id=customer[user], session_id=None)
            events.append(event(kind, n, t, user, **{**common, **extra}))
            n += 1
    events = [e for e in events if e.timestamp < start + span]
    events.sort(key=lambda e: (e.timestamp, e.event_id))
    return events


def arrival_order(events, seed: int = 2, jitter_s: float = 90.0, late_share: float = 0.01,
                  late_before: datetime | None = None):
    """Events as they arrive: shuffled within ``jitter_s`` (below the allowed lateness), and
    ``late_share`` of them (of those before ``late_before``, if given) held back two hours (far
    past it). Returns (arrived, late_ids)."""
    rng = random.Random(seed)
    keyed, late = [], set()
    for e in events:
        delay = rng.uniform(0, jitter_s)
        if rng.random() < late_share and (late_before is None or e.timestamp < late_before):
            delay += 7200
            late.add(e.event_id)
        keyed.append((e.timestamp.timestamp() + delay, e))
    keyed.sort(key=lambda pair: pair[0])
    return [e for _, e in keyed], late


def as_ingested(arrived):
    """The events as ingestion hands them to the KPI engine: each one that carries a user id
    and an anonymous id followed by its identity link, when ingestion sends one
    (streams/kpis/identity.py)."""
    links = Links()
    out = []
    for e in arrived:
        out.append(e)
        if (e.type != "identity_link" and e.user_id is not None and e.anonymous_id is not None
                and links.due(e.user_id, e.anonymous_id, int(e.timestamp.timestamp() * 1000))):
            out.append(identity_link(e.user_id, e.anonymous_id, e.timestamp))
    return out


def watermark_markers(now: datetime, users: int = 64) -> list:
    """Events at ``now`` on many user keys, on all three input streams (a page view, a
    checkout, a failed payment each): sent after a test's data, they move every input
    partition's event time, and so every KPI partition's watermark, past it."""
    import orjson

    from models import ParseLimits, parse_message

    return [parse_message(orjson.dumps({
        "event_id": f"marker-{kind}-{i}", "type": kind, "timestamp": now.isoformat(),
        "anonymous_id": f"marker-{i}", **extra}), now=now, limits=ParseLimits()).events[0]
        for i in range(users)
        for kind, extra in (("page_view", {}), ("checkout_started", {}),
                            ("payment_failed", {"payment_method": "card"}))]
