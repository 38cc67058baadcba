"""Builders for model tests: valid canonical messages, and parsing at a fixed time."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from models import ParseLimits, ParseOutcome, parse_message

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""The time tests judge messages at; the fixture files' events are just before it."""

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "events"

_TYPE_FIELDS: dict[str, dict[str, Any]] = {
    "page_view": {},
    "product_view": {"product_id": "sku-1001"},
    "search": {"query": "trail running shoes"},
    "signup": {"referrer_id": "user-7"},
    "newsletter_signup": {},
    "invite_sent": {},
    "survey_response": {"scale": "nps", "score": 9, "survey": "post_purchase"},
    "feature_used": {"feature": "wishlist"},
    "demo_requested": {},
    "products_compared": {},
    "cart_add": {"product_id": "sku-1001", "price": "89.90", "quantity": 1, "currency": "EUR"},
    "cart_remove": {"product_id": "sku-1001", "price": "89.90", "quantity": 1, "currency": "EUR"},
    "checkout_started": {},
    "checkout_step": {"step": "shipping"},
    "payment_failed": {"payment_method": "card", "reason": "insufficient_funds"},
    "order_completed": {
        "order_id": "ORD-20261120-0001",
        "revenue": "179.80",
        "currency": "EUR",
        "items": [{"product_id": "sku-1001", "price": "89.90", "quantity": 2}],
        "payment_method": "card",
        "shipping": "4.95",
        "tax": "34.16",
        "coupon": "WINTER10",
    },
    "order_refunded": {"order_id": "ORD-20261120-0001", "amount": "89.90", "currency": "EUR"},
    "order_cancelled": {"order_id": "ORD-20261120-0001"},
    "order_updated": {"order_id": "ORD-20261120-0001", "revenue": "169.80", "currency": "EUR"},
}


def make_canonical(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A valid message in the canonical shape, a minute before `NOW`. Overrides replace
    fields; an override of None removes the field."""
    message: dict[str, Any] = {
        "type": event_type,
        "event_id": f"evt-{event_type}-0001",
        "timestamp": (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "anonymous_id": "anon-7f3a",
        "user_id": "user-42",
        "session_id": "sess-1",
        "url": "https://shop.example.com/products/trail-shoe",
        "referrer": "https://www.google.com/",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        **_TYPE_FIELDS[event_type],
    }
    message.update(overrides)
    return {key: value for key, value in message.items() if value is not None}


def parse(message: dict[str, Any] | bytes, **limits: Any) -> ParseOutcome:
    """`parse_message` at `NOW`, with default limits unless some are given."""
    raw = message if isinstance(message, bytes) else orjson.dumps(message)
    return parse_message(raw, now=NOW, limits=ParseLimits(**limits))


def fixture_lines(name: str) -> list[bytes]:
    """The messages of tests/fixtures/events/<name>, one per line."""
    return [line for line in (FIXTURES / name).read_bytes().splitlines() if line.strip()]
