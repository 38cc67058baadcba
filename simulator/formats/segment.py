"""Segment's shape (Spec: E-commerce Events v2): a `page` call for page views, `track`
calls named as the spec names them for the rest, campaign and page in `context`, and
numbers as JSON numbers, as analytics.js sends them. Every event carries all its fields
(cart_id, payment_method, ...); `spec_shape` leaves out what the spec does.

The user journey's events: Invite Sent as the B2B SaaS spec has it (the invitee's e-mail,
names and role: fake people at example.com, `simulator.journey.invitee`), Signed Up with
`referrer_id`, and the names kpiwatch reads where no spec has one (Survey Responded with
survey_name, survey_type and score; Feature Used with feature_name; Demo Requested;
Products Compared with its products)."""

from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from simulator.events import SimulatedEvent
from simulator.formats.timestamps import iso_millis
from simulator.journey import invitee

TRACK_NAMES: dict[str, str] = {
    "product_view": "Product Viewed",
    "search": "Products Searched",
    "signup": "Signed Up",
    "newsletter_signup": "Newsletter Subscribed",
    "invite_sent": "Invite Sent",
    "survey_response": "Survey Responded",
    "feature_used": "Feature Used",
    "demo_requested": "Demo Requested",
    "products_compared": "Products Compared",
    "cart_add": "Product Added",
    "cart_remove": "Product Removed",
    "checkout_started": "Checkout Started",
    "checkout_step": "Checkout Step Completed",
    "payment_failed": "Payment Failed",
    "order_completed": "Order Completed",
    "order_refunded": "Order Refunded",
}
"""Canonical type -> Segment track event name; page views are page calls."""

_PROPERTY_NAMES = {
    "items": "products",
    "amount": "total",
    "survey": "survey_name",
    "scale": "survey_type",
    "feature": "feature_name",
}
_LIBRARY = {"name": "analytics.js", "version": "next-1.70.0"}


def encode(event: SimulatedEvent) -> dict[str, Any]:
    message: dict[str, Any] = {
        "messageId": event.event_id,
        "timestamp": iso_millis(event.event_time),
    }
    if event.type == "page_view":
        message["type"] = "page"
    elif event.type == "checkout_step" and event.fields.get("step") == "payment":
        # The spec's own event for the payment step; the step is implied by its name.
        message["type"], message["event"] = "track", "Payment Info Entered"
    else:
        message["type"], message["event"] = "track", TRACK_NAMES[event.type]
    message["anonymousId"] = event.anonymous_id
    if event.user_id is not None:
        message["userId"] = event.user_id
    properties: dict[str, Any] = {}
    if event.session_id is not None:
        properties["session_id"] = event.session_id
    if event.cart_id is not None:
        properties["cart_id"] = event.cart_id
    for name, value in event.fields.items():
        properties[_PROPERTY_NAMES.get(name, name)] = _number(value)
    if event.type == "invite_sent":
        properties.update(invitee(event.event_id))
    message["properties"] = properties
    message["context"] = _context(event)
    return message


def _context(event: SimulatedEvent) -> dict[str, Any]:
    context: dict[str, Any] = {"library": _LIBRARY, "locale": "de-DE"}
    if event.url is not None:
        page = {"path": urlsplit(event.url).path, "url": event.url}
        if event.source.referrer is not None:
            page["referrer"] = event.source.referrer
        context["page"] = page
    if event.agent is not None:
        context["userAgent"] = event.agent.text
    source = event.source
    if source.utm_source is not None:
        context["campaign"] = {
            "source": source.utm_source,
            "medium": source.utm_medium,
            "name": source.utm_campaign,
        }
    return context


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return [{name: _number(part) for name, part in item.items()} for item in value]
    return value
