"""Canonical test events as a Segment source really sends them (Spec: E-commerce Events v2 and
facade's readings of it, see models/segment.py): so that the oracle tests prove the KPIs exact
on real shapes, not only on kpiwatch's own.

Seeded by the event id, so a message is the same however often it is built (a client retry is
a copy of the same bytes). What varies:
- names: the v2 name, sometimes the v1 name ("Completed Order") or snake_case;
- an order's revenue as `total` (facade falls back to it), a USD amount without `currency`;
- product lines keyed by `product_id`, `sku` or `productId`;
- the campaign in `context.campaign.name` (Segment's common fields);
- page views as `page` calls; and around the events, calls that carry no KPI input (an
  `identify` when a user id is known, "Product List Viewed"), which must be ignored.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import orjson

NAMES = {
    "product_view": ("Product Viewed", "Viewed Product"),
    "search": ("Products Searched", "Searched Products"),
    "signup": ("Signed Up", None),
    "newsletter_signup": ("Newsletter Subscribed", None),
    "cart_add": ("Product Added", "Added Product"),
    "cart_remove": ("Product Removed", "Removed Product"),
    "checkout_started": ("Checkout Started", "Started Order"),
    "checkout_step": ("Checkout Step Completed", "Completed Checkout Step"),
    "payment_failed": ("Payment Failed", None),
    "order_completed": ("Order Completed", "Completed Order"),
    "order_updated": ("Order Updated", "Updated Order"),
    "order_cancelled": ("Order Cancelled", None),
    "order_refunded": ("Order Refunded", None),
    "invite_sent": ("Invite Sent", None),
    "survey_response": ("Survey Responded", None),
    "feature_used": ("Feature Used", None),
    "demo_requested": ("Demo Requested", None),
    "products_compared": ("Products Compared", None),
}


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def segment_call(event) -> dict[str, Any]:
    """One canonical event as the Segment call a shop's source sends for it."""
    rng = random.Random(event.event_id)
    message: dict[str, Any] = {
        "messageId": event.event_id,
        "timestamp": event.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "context": {"library": {"name": "analytics.js", "version": "next-1.70.0"}},
    }
    if getattr(event, "utm_campaign", None) is not None:
        # The spec's context.campaign: the landing page's utm tags (name is utm_campaign).
        message["context"]["campaign"] = {"name": event.utm_campaign}
    if event.anonymous_id is not None:
        message["anonymousId"] = event.anonymous_id
    if event.user_id is not None:
        message["userId"] = event.user_id
    properties: dict[str, Any] = {}
    if event.session_id is not None:
        properties["session_id"] = event.session_id
    if event.cart_id is not None:
        properties["cart_id"] = event.cart_id
    if event.type == "page_view":
        message["type"] = "page"
    elif event.type == "checkout_step" and event.step == "payment" and rng.random() < 0.7:
        message["type"], message["event"] = "track", "Payment Info Entered"
    else:
        v2, v1 = NAMES[event.type]
        draw = rng.random()
        name = v1 if v1 is not None and draw < 0.1 else v2
        if 0.1 <= draw < 0.2:
            name = v2.lower().replace(" ", "_")
        message["type"], message["event"] = "track", name
        if event.type == "checkout_step":
            properties["step"] = event.step
    for field in ("product_id", "query", "reason", "order_id"):
        value = getattr(event, field, None)
        if value is not None:
            properties[field] = value
    if getattr(event, "payment_method", None) is not None:
        properties["payment_method"] = event.payment_method
    if getattr(event, "referrer_id", None) is not None:
        properties["referrer_id" if rng.random() < 0.5 else "referrerId"] = event.referrer_id
    if event.type == "invite_sent":  # (B2B SaaS spec's properties: not read)
        properties.update(invitee_email="pgibbons@example.com", invitee_role="Owner")
    if event.type == "survey_response":
        properties.update(survey_type=event.scale.upper() if rng.random() < 0.3 else event.scale,
                          score=event.score)
        if event.survey is not None:
            properties["survey_name"] = event.survey
    if event.type == "feature_used":
        properties["feature_name"] = event.feature
    if event.type in ("cart_add", "cart_remove"):
        properties["product_id"] = event.product_id
        properties["quantity"] = event.quantity
        if event.price is not None:
            properties["price"] = _number(event.price)
    if event.type in ("order_completed", "order_updated"):
        revenue = getattr(event, "revenue", None)
        if revenue is not None:
            properties["total" if rng.random() < 0.3 else "revenue"] = _number(revenue)
        properties["products"] = [_line(item, rng) for item in getattr(event, "items", ())]
    if event.type == "order_refunded" and event.amount is not None:
        properties["total"] = _number(event.amount)
    currency = getattr(event, "currency", None)
    if currency is not None and not (currency == "USD" and rng.random() < 0.5):
        properties["currency"] = currency
    message["properties"] = properties
    return message


def _line(item, rng: random.Random) -> dict[str, Any]:
    key = rng.choice(["product_id", "product_id", "sku", "productId"])
    line = {key: item.product_id, "quantity": item.quantity}
    if item.price is not None:
        line["price"] = _number(item.price)
    return line


def ignored_calls(event) -> list[dict[str, Any]]:
    """Calls a real source sends around some events that carry no KPI input."""
    rng = random.Random(f"ignored:{event.event_id}")
    calls = []
    base = {"timestamp": event.timestamp.isoformat().replace("+00:00", "Z"),
            "anonymousId": event.anonymous_id, "context": {}}
    if event.user_id is not None and event.anonymous_id is not None and rng.random() < 0.2:
        calls.append(base | {"type": "identify", "messageId": f"identify-{event.event_id}",
                             "userId": event.user_id, "traits": {"plan": "free"}})
    if event.type == "product_view" and event.anonymous_id is not None and rng.random() < 0.3:
        calls.append(base | {"type": "track", "event": "Product List Viewed",
                             "messageId": f"list-{event.event_id}",
                             "properties": {"list_id": "hot_deals_1", "category": "Deals"}})
    return calls


def encode(event) -> bytes:
    return orjson.dumps(segment_call(event))
