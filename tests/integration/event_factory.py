"""Seeded input for ingestion tests: valid events in several shapes, and bad input with the
reason code each must be rejected with."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson


def valid_events(count: int, seed: int = 7) -> list[dict]:
    """Canonical and Segment events of every common type, with unique event ids."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    events = []
    for n in range(count):
        user = f"anon-{rng.randrange(400)}"
        # Within a minute: shuffled, they stay inside the KPI engine's allowed lateness.
        ts = (now - timedelta(seconds=rng.uniform(0, 60))).isoformat()
        kind = rng.choices(["page", "product", "cart", "order", "segment"], [50, 25, 10, 5, 10])[0]
        base = {"event_id": f"ev-{seed}-{n}", "timestamp": ts, "anonymous_id": user,
                "session_id": f"s-{user}", "utm_source": "google", "utm_medium": "cpc"}
        if kind == "page":
            events.append({**base, "type": "page_view", "url": "https://shop.example/"})
        elif kind == "product":
            events.append({**base, "type": "product_view", "product_id": f"p{n % 50}"})
        elif kind == "cart":
            events.append({**base, "type": "cart_add", "product_id": f"p{n % 50}",
                           "price": "19.99", "quantity": 1, "currency": "USD",
                           "cart_id": f"c-{user}"})
        elif kind == "order":
            events.append({**base, "type": "order_completed", "order_id": f"o-{seed}-{n}",
                           "revenue": "59.97", "currency": "USD", "payment_method": "card"})
        else:
            events.append({"type": "track", "event": "Product Viewed", "messageId": base["event_id"],
                           "timestamp": ts, "anonymousId": user,
                           "properties": {"product_id": f"p{n % 50}", "price": 9.5}})
    return events


def event_id(event: dict) -> str:
    return event.get("event_id") or event["messageId"]


def bad_inputs(count: int, seed: int = 11) -> list[tuple[bytes, str]]:
    """``count`` malformed messages, each with the reason code it must get."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    base = {"timestamp": now.isoformat(), "anonymous_id": "anon-bad"}
    makers = [
        lambda n: (b'{"event_id": "x%d", "type": ' % n, "not_json"),
        lambda n: (b"[1, 2, %d]" % n, "not_object"),
        lambda n: (orjson.dumps({**base, "event_id": f"bad-{n}", "type": "teleport"}),
                   "unknown_type"),
        lambda n: (orjson.dumps({**base, "event_id": f"bad-{n}", "type": "order_completed",
                                 "revenue": "10", "currency": "USD"}), "missing_field"),
        lambda n: (orjson.dumps({**base, "event_id": f"bad-{n}", "type": "cart_add",
                                 "product_id": "p1", "quantity": -3}), "invalid_value"),
        lambda n: (orjson.dumps({**base, "event_id": f"bad-{n}", "type": "order_completed",
                                 "order_id": f"o-bad-{n}", "revenue": "10",
                                 "currency": "XQZ"}), "unknown_currency"),
        lambda n: (orjson.dumps({**base, "event_id": f"bad-{n}", "type": "page_view",
                                 "timestamp": (now + timedelta(days=1)).isoformat()}),
                   "future_timestamp"),
        lambda n: (orjson.dumps({"event_id": f"bad-{n}", "type": "page_view",
                                 "timestamp": now.isoformat()}), "missing_user_key"),
        lambda n: (orjson.dumps({**base, "event_id": f"bad-{n}", "type": "page_view",
                                 "url": "https://shop.example/?" + "x" * 140_000}), "too_large"),
    ]
    return [makers[rng.randrange(len(makers))](n) for n in range(count)]
