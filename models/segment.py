"""Adapter for Segment messages (Spec: E-commerce Events v2, track, page, identify and batch
calls), read the way Segment's own reader, segmentio/facade, reads them.

Track calls are mapped by their `event` name (`TRACK_EVENTS`), matched as facade's event
patterns match them: without regard to case, spaces and underscores ("Order Completed",
"order_completed", "orderCompleted"), and under the e-commerce v1 names too ("Completed
Order"). Page and screen calls are page views. A batch (Segment's HTTP API `batch`) yields
its calls in order.

Valid calls that carry no KPI input are ignored, not rejected (`Ignored`): identify, group
and alias calls (an identify links a user id to an anonymous id), and track events that no
KPI reads, named or not in the spec.

Facade's fallbacks, followed here (github.com/segmentio/facade, lib/track.js):
- `revenue()`: `properties.revenue`, else `properties.total` on an order-completed event;
- `currency()`: `properties.currency`, else "USD";
- a product's id: `product_id`, else `productId`, else `id`, else `sku`; `quantity()`: 1;
- an order's id: `order_id`, else `orderId`, else `id` (facade tries `id` first; the v2 spec
  names `order_id`, so it wins when a message carries both);
- property names are found in snake_case or camelCase (facade looks keys up with obj-case).
"""

from typing import Any

from models.mapped import (
    Ignored,
    MappedEvent,
    Received,
    list_at,
    object_at,
    preview,
    without_nulls,
)
from models.rejections import InvalidEvent, Rejection, RejectReason

CALL_TYPES = frozenset({"track", "page", "screen", "identify", "group", "alias"})
IDENTITY_CALLS = frozenset({"identify", "group", "alias"})

DEFAULT_CURRENCY = "USD"
"""facade's `currency()` when a call names none."""

TRACK_EVENTS: dict[str, tuple[str, dict[str, str]]] = {
    "Page Viewed": ("page_view", {}),
    "Product Viewed": ("product_view", {}),
    "Products Searched": ("search", {}),
    "Signed Up": ("signup", {}),
    "Newsletter Subscribed": ("newsletter_signup", {}),
    # B2B SaaS spec (segment.com/docs/connections/spec/b2b-saas/#invite-sent).
    "Invite Sent": ("invite_sent", {}),
    # No Segment spec names these; kpiwatch reads them under these names (docs/KPIS.md,
    # "The user journey").
    "Survey Responded": ("survey_response", {}),
    "Feature Used": ("feature_used", {}),
    "Demo Requested": ("demo_requested", {}),
    "Products Compared": ("products_compared", {}),
    "Product Added": ("cart_add", {}),
    # "User added a wishlist product to the cart": a cart add, with its cart_id and product.
    "Wishlist Product Added to Cart": ("cart_add", {}),
    "Product Removed": ("cart_remove", {}),
    "Checkout Started": ("checkout_started", {}),
    "Checkout Step Completed": ("checkout_step", {}),
    "Payment Info Entered": ("checkout_step", {"step": "payment"}),
    "Payment Failed": ("payment_failed", {}),
    "Order Completed": ("order_completed", {}),
    "Order Updated": ("order_updated", {}),
    "Order Cancelled": ("order_cancelled", {}),
    "Order Refunded": ("order_refunded", {}),
}
"""Track event name (e-commerce v2) -> (canonical type, fields the name itself implies)."""

V1_NAMES = {
    "Viewed Product": "Product Viewed",
    "Searched Products": "Products Searched",
    "Added Product": "Product Added",
    "Removed Product": "Product Removed",
    "Started Order": "Checkout Started",
    "Completed Checkout Step": "Checkout Step Completed",
    "Completed Order": "Order Completed",
    "Updated Order": "Order Updated",
    "Cancelled Order": "Order Cancelled",
    "Refunded Order": "Order Refunded",
    "Viewed Product Category": "Product List Viewed",
    "Viewed Promotion": "Promotion Viewed",
    "Clicked Promotion": "Promotion Clicked",
    "Clicked Product": "Product Clicked",
    "Viewed Checkout Step": "Checkout Step Viewed",
}
"""E-commerce v1 names of the same events, as the v2 spec lists them ("aliased to"); the
patterns of Segment's destinations (segmentio/analytics-events) accept both."""

SPEC_EVENTS_WITHOUT_KPI = frozenset({
    "Product List Viewed", "Product List Filtered",
    "Promotion Viewed", "Promotion Clicked", "Product Clicked", "Product Shared",
    "Product Reviewed", "Product Added to Wishlist", "Product Removed from Wishlist",
    "Cart Viewed", "Cart Shared", "Checkout Step Viewed",
    "Coupon Entered", "Coupon Applied", "Coupon Denied", "Coupon Removed",
    "Application Installed", "Application Opened", "Signed In", "Signed Out",
    # B2B SaaS (segment.com/docs/connections/spec/b2b-saas/)
    "Account Created", "Account Deleted", "Account Added User", "Account Removed User",
    "Trial Started", "Trial Ended",
})
"""Spec track events no KPI reads: ignored under their own name (snake_case), a bounded
label. Any other unmapped track name is ignored as "other"."""


def _folded(name: str) -> str:
    return "".join(name.lower().replace("_", " ").replace("-", " ").split())


_BY_FOLDED_NAME: dict[str, tuple[str, dict[str, str]]] = {
    _folded(name): mapping for name, mapping in TRACK_EVENTS.items()
} | {_folded(v1): TRACK_EVENTS[v2] for v1, v2 in V1_NAMES.items() if v2 in TRACK_EVENTS}
_IGNORED_BY_FOLDED_NAME = {
    _folded(name): name.lower().replace(" ", "_") for name in SPEC_EVENTS_WITHOUT_KPI
} | {_folded(v1): v2.lower().replace(" ", "_") for v1, v2 in V1_NAMES.items()
     if v2 in SPEC_EVENTS_WITHOUT_KPI}


def track_event(name: str) -> tuple[str, dict[str, str]] | None:
    """The canonical type (and implied fields) of a track event name, as facade's event
    patterns match it; None for an event no KPI reads."""
    mapping = TRACK_EVENTS.get(name)
    return mapping if mapping is not None else _BY_FOLDED_NAME.get(_folded(name))


def ignored_kind(name: str) -> str:
    """The label an unmapped track event is counted under: its spec name, or "other"."""
    return _IGNORED_BY_FOLDED_NAME.get(_folded(name), "other")


def spellings(*names: str) -> tuple[str, ...]:
    """Each snake_case property name, followed by its camelCase spelling."""
    found: list[str] = []
    for name in names:
        head, *rest = name.split("_")
        found.extend(dict.fromkeys((name, head + "".join(part.title() for part in rest))))
    return tuple(found)


ORDER_ID = spellings("order_id") + ("id",)

_MONEY_LINE = {
    "product_id": spellings("product_id") + ("id", "sku"),
    "price": ("price",),
    "quantity": ("quantity",),
    "currency": ("currency",),
}

PROPERTIES: dict[str, dict[str, tuple[str, ...]]] = {
    "page_view": {},
    "product_view": {"product_id": _MONEY_LINE["product_id"]},
    "search": {"query": ("query",)},
    # The B2B SaaS spec's Signed Up has no referrer: shops with a referral programme add one.
    "signup": {"referrer_id": spellings("referrer_id", "referred_by")},
    "newsletter_signup": {},
    "invite_sent": {},
    "survey_response": {
        "scale": spellings("survey_type") + ("scale",),
        "score": ("score", "rating"),
        "survey": ("survey",) + spellings("survey_name", "survey_id"),
    },
    "feature_used": {"feature": ("feature",) + spellings("feature_name")},
    "demo_requested": {},
    "products_compared": {},
    "cart_add": _MONEY_LINE,
    "cart_remove": _MONEY_LINE,
    "checkout_started": {},
    "checkout_step": {"step": ("step",), "payment_method": spellings("payment_method")},
    "payment_failed": {
        "payment_method": spellings("payment_method"),
        "reason": ("reason", "error"),
    },
    "order_completed": {
        "order_id": ORDER_ID,
        "revenue": ("revenue", "total"),
        "currency": ("currency",),
        "items": ("products",),
        "payment_method": spellings("payment_method"),
        "shipping": ("shipping",),
        "tax": ("tax",),
        "coupon": ("coupon",),
    },
    "order_updated": {
        "order_id": ORDER_ID,
        "revenue": ("revenue", "total"),
        "currency": ("currency",),
    },
    "order_cancelled": {"order_id": spellings("order_id")},
    # The spec's Order Refunded example sends `total`; some libraries send `revenue`. Only
    # order_id is required: without an amount it is a full refund.
    "order_refunded": {
        "order_id": ORDER_ID,
        "amount": ("total", "revenue"),
        "currency": ("currency",),
    },
}
"""Canonical type -> canonical field -> property names to read it from, first present wins."""

COMMON_PROPERTIES = {
    "session_id": spellings("session_id"),
    "cart_id": spellings("cart_id"),
}
"""Common canonical fields read from properties, first spelling present wins."""

PRODUCT_ID_KEYS = _MONEY_LINE["product_id"]
"""Where a product line (`properties.products[]`) keeps its product id."""

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

MONEY_TYPES = frozenset({"cart_add", "cart_remove", "order_completed", "order_updated",
                         "order_refunded"})
"""Canonical types whose amounts are in `currency()`: USD when the call names none."""


def matches(message: dict[str, Any]) -> bool:
    call_type = message.get("type")
    return (
        "messageId" in message
        or (isinstance(call_type, str) and call_type in CALL_TYPES)
        or isinstance(message.get("batch"), list)
    )


def map_message(
    message: dict[str, Any], received: Received
) -> list[MappedEvent | Rejection | Ignored]:
    if isinstance(message.get("batch"), list) and "type" not in message:
        return _map_batch(message)
    return [_map_one(message)]


def _map_batch(message: dict[str, Any]) -> list[MappedEvent | Rejection | Ignored]:
    # Segment's HTTP API: context and integrations at the top apply to every call in it.
    shared = object_at(message, "context", "context")
    results: list[MappedEvent | Rejection | Ignored] = []
    for index, call in enumerate(message["batch"]):
        if not isinstance(call, dict):
            results.append(Rejection(
                RejectReason.WRONG_TYPE, f"batch[{index}]: must be an object, got {preview(call)}"))
            continue
        if shared and "context" not in call:
            call = call | {"context": shared}
        mapped = _map_one(call)
        if isinstance(mapped, MappedEvent):
            mapped.origin = f"batch[{index}]."
        results.append(mapped)
    if not results:
        results.append(Rejection(RejectReason.MISSING_FIELD, "batch: must hold at least one call"))
    return results


def _map_one(message: dict[str, Any]) -> MappedEvent | Rejection | Ignored:
    try:
        return _map(message)
    except InvalidEvent as invalid:
        return invalid.rejection


def first_of(properties: Any, names: tuple[str, ...]) -> Any:
    """The first of `names` present (not null) in `properties`, else None."""
    for name in names:
        value = properties.get(name)
        if value is not None:
            return value
    return None


def apply_defaults(fields: dict[str, Any]) -> None:
    """facade's defaults: amounts are in USD when the call names no currency."""
    if fields["type"] in MONEY_TYPES and fields.get("currency") is None:
        fields["currency"] = DEFAULT_CURRENCY


def _map(message: dict[str, Any]) -> MappedEvent | Ignored:
    call_type = message.get("type")
    if isinstance(call_type, str) and call_type in IDENTITY_CALLS:
        return Ignored(call_type, *_ids(message))
    event_type, implied = _event_type(message)
    if event_type is None:
        return Ignored(ignored_kind(message["event"]), *_ids(message))
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
        "session_id": first_of(properties, COMMON_PROPERTIES["session_id"]),
        "cart_id": first_of(properties, COMMON_PROPERTIES["cart_id"]),
        "url": page.get("url") or properties.get("url"),
        "referrer": page.get("referrer") or properties.get("referrer"),
        "utm_source": campaign.get("source"),
        "utm_medium": campaign.get("medium"),
        "utm_campaign": campaign.get("name"),
        "user_agent": context.get("userAgent"),
        "device": device.get("type"),
    }
    for field, names in PROPERTIES[event_type].items():
        value = first_of(properties, names)
        if value is not None:
            fields[field] = value
    if event_type == "order_completed":
        products = list_at(properties, "products", "properties.products")
        fields["items"] = [_line(product) for product in products]
    fields.update(implied)
    apply_defaults(fields)
    return MappedEvent(fields, FIELD_PATHS[event_type])


def _ids(message: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The user id, anonymous id and time of an ignored call, as text or None: a call that
    carries both links them (streams/kpis/identity.py)."""
    ids = [message.get(name) for name in ("userId", "anonymousId")]
    timestamp = message.get("timestamp") or message.get("originalTimestamp")
    return (*(str(value) if isinstance(value, str | int) and not isinstance(value, bool)
              and value != "" else None for value in ids),
            timestamp if isinstance(timestamp, str) else None)


def _line(product: Any) -> Any:
    if not isinstance(product, dict):
        return product  # (the model rejects it, naming the line)
    line = without_nulls(product)
    product_id = first_of(line, PRODUCT_ID_KEYS)
    if product_id is not None:
        line["product_id"] = product_id
    return line


def _event_type(message: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    call_type = message.get("type")
    if call_type == "page" or call_type == "screen":
        return "page_view", {}
    if call_type is None:
        raise InvalidEvent(RejectReason.MISSING_FIELD, "type: required")
    if call_type != "track":
        raise InvalidEvent(
            RejectReason.UNKNOWN_TYPE, f"type: {preview(call_type)} is not a Segment call type"
        )
    name = message.get("event")
    if not isinstance(name, str):
        raise InvalidEvent(
            RejectReason.MISSING_FIELD if name is None else RejectReason.WRONG_TYPE,
            "event: required, as a string",
        )
    mapping = track_event(name)
    return (None, {}) if mapping is None else mapping
