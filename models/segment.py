"""Adapter for Segment messages (Spec: E-commerce Events v2, track and page calls).

Track calls are mapped by their `event` name (`TRACK_EVENTS`); page and screen calls
are page views. Identify, group and alias calls carry no KPI event and are rejected as
unknown_type, as are track events we do not map.
"""

from typing import Any

from models.mapped import MappedEvent, Received, list_at, object_at, preview, without_nulls
from models.rejections import InvalidEvent, Rejection, RejectReason

CALL_TYPES = frozenset({"track", "page", "screen", "identify", "group", "alias"})

TRACK_EVENTS: dict[str, tuple[str, dict[str, str]]] = {
    "Page Viewed": ("page_view", {}),
    "Product Viewed": ("product_view", {}),
    "Products Searched": ("search", {}),
    "Signed Up": ("signup", {}),
    "Newsletter Subscribed": ("newsletter_signup", {}),
    "Product Added": ("cart_add", {}),
    "Product Removed": ("cart_remove", {}),
    "Checkout Started": ("checkout_started", {}),
    "Checkout Step Completed": ("checkout_step", {}),
    "Payment Info Entered": ("checkout_step", {"step": "payment"}),
    "Payment Failed": ("payment_failed", {}),
    "Order Completed": ("order_completed", {}),
    "Order Refunded": ("order_refunded", {}),
}
"""Track event name -> (canonical type, fields the name itself implies)."""

PROPERTIES: dict[str, dict[str, tuple[str, ...]]] = {
    "page_view": {},
    "product_view": {"product_id": ("product_id",)},
    "search": {"query": ("query",)},
    "signup": {},
    "newsletter_signup": {},
    "cart_add": {
        "product_id": ("product_id",),
        "price": ("price",),
        "quantity": ("quantity",),
        "currency": ("currency",),
    },
    "cart_remove": {
        "product_id": ("product_id",),
        "price": ("price",),
        "quantity": ("quantity",),
        "currency": ("currency",),
    },
    "checkout_started": {},
    "checkout_step": {"step": ("step",)},
    "payment_failed": {"payment_method": ("payment_method",), "reason": ("reason", "error")},
    "order_completed": {
        "order_id": ("order_id",),
        "revenue": ("revenue",),
        "currency": ("currency",),
        "items": ("products",),
        "payment_method": ("payment_method",),
        "shipping": ("shipping",),
        "tax": ("tax",),
        "coupon": ("coupon",),
    },
    # The spec's Order Refunded example sends `total`; some libraries send `revenue`.
    "order_refunded": {
        "order_id": ("order_id",),
        "amount": ("total", "revenue"),
        "currency": ("currency",),
    },
}
"""Canonical type -> canonical field -> property names to read it from, first present wins."""

_COMMON_PATHS = {
    "event_id": "messageId",
    "timestamp": "timestamp",
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "session_id": "properties.session_id",
    "cart_id": "properties.cart_id",
    "url": "context.page.url",
    "referrer": "context.page.referrer",
    "utm_source": "context.campaign.source",
    "utm_medium": "context.campaign.medium",
    "utm_campaign": "context.campaign.name",
    "user_agent": "context.userAgent",
    "device": "context.device.type",
}

FIELD_PATHS: dict[str, dict[str, str]] = {
    event_type: _COMMON_PATHS
    | {field: f"properties.{names[0]}" for field, names in properties.items()}
    for event_type, properties in PROPERTIES.items()
}
"""Canonical type -> canonical field -> its path in a Segment message, for rejections."""


def matches(message: dict[str, Any]) -> bool:
    call_type = message.get("type")
    return "messageId" in message or (isinstance(call_type, str) and call_type in CALL_TYPES)


def map_message(message: dict[str, Any], received: Received) -> list[MappedEvent | Rejection]:
    try:
        return [_map(message)]
    except InvalidEvent as invalid:
        return [invalid.rejection]


def _map(message: dict[str, Any]) -> MappedEvent:
    event_type, implied = _event_type(message)
    properties = object_at(message, "properties", "properties")
    context = object_at(message, "context", "context")
    page = object_at(context, "page", "context.page")
    campaign = object_at(context, "campaign", "context.campaign")
    device = object_at(context, "device", "context.device")
    fields: dict[str, Any] = {
        "type": event_type,
        "event_id": message.get("messageId"),
        # `timestamp` is Segment's clock-corrected time; older libraries only send
        # originalTimestamp.
        "timestamp": message.get("timestamp") or message.get("originalTimestamp"),
        "user_id": message.get("userId"),
        "anonymous_id": message.get("anonymousId"),
        "session_id": properties.get("session_id"),
        "cart_id": properties.get("cart_id"),
        "url": page.get("url") or properties.get("url"),
        "referrer": page.get("referrer") or properties.get("referrer"),
        "utm_source": campaign.get("source"),
        "utm_medium": campaign.get("medium"),
        "utm_campaign": campaign.get("name"),
        "user_agent": context.get("userAgent"),
        "device": device.get("type"),
    }
    for field, names in PROPERTIES[event_type].items():
        for name in names:
            if properties.get(name) is not None:
                fields[field] = properties[name]
                break
    if event_type == "order_completed":
        products = list_at(properties, "products", "properties.products")
        fields["items"] = [
            without_nulls(product) if isinstance(product, dict) else product for product in products
        ]
    fields.update(implied)
    return MappedEvent(fields, FIELD_PATHS[event_type])


def _event_type(message: dict[str, Any]) -> tuple[str, dict[str, str]]:
    call_type = message.get("type")
    if call_type in ("page", "screen"):
        return "page_view", {}
    if call_type is None:
        raise InvalidEvent(RejectReason.MISSING_FIELD, "type: required")
    if call_type != "track":
        raise InvalidEvent(
            RejectReason.UNKNOWN_TYPE, f"type: {preview(call_type)} calls carry no KPI event"
        )
    name = message.get("event")
    if not isinstance(name, str):
        raise InvalidEvent(
            RejectReason.MISSING_FIELD if name is None else RejectReason.WRONG_TYPE,
            "event: required, as a string",
        )
    if name not in TRACK_EVENTS:
        raise InvalidEvent(
            RejectReason.UNKNOWN_TYPE, f"event: {preview(name)} is not a mapped Segment event"
        )
    return TRACK_EVENTS[name]
