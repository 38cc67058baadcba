"""Adapter for Google Analytics 4 events, in both shapes they reach us:

- one event of the BigQuery export: `event_name`, `event_timestamp` (microseconds),
  `user_pseudo_id`, `event_params` (BigQuery's list of {key, value} or a flat object),
  `items`, `ecommerce`, `device`, `collected_traffic_source`;
- a Measurement Protocol request: `{client_id, user_id, timestamp_micros, events: [{name,
  params}]}`, which may carry several events and yields one result per event.

GA4 has no message id. An event's id is its `event_id` param when sent, else
"ga4-<hash of the message bytes>" (".<n>" added for the n-th event of a batch), so a
client retrying an identical payload produces the same ids and is deduplicated
downstream. Two identical payloads sent on purpose would be deduplicated too; senders
that care set `event_id`.

A cart event lists its products in `items`; each item becomes one canonical cart event
(ids suffixed ":1", ":2", ... after the first), because a canonical cart event is one
product.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from models.mapped import MappedEvent, Received, list_at, object_at, preview, required, type_name
from models.rejections import InvalidEvent, Rejection, RejectReason

EVENT_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "page_view": ("page_view", {}),
    "screen_view": ("page_view", {}),
    "view_item": ("product_view", {}),
    "search": ("search", {}),
    "view_search_results": ("search", {}),
    "sign_up": ("signup", {}),
    "newsletter_signup": ("newsletter_signup", {}),
    "add_to_cart": ("cart_add", {}),
    "remove_from_cart": ("cart_remove", {}),
    "begin_checkout": ("checkout_started", {}),
    "add_shipping_info": ("checkout_step", {"step": "shipping"}),
    "add_payment_info": ("checkout_step", {"step": "payment"}),
    "payment_failed": ("payment_failed", {}),
    "purchase": ("order_completed", {}),
    "refund": ("order_refunded", {}),
}
"""GA4 event name -> (canonical type, fields the name itself implies). GA4's automatic
events (session_start, user_engagement, scroll, ...) are not KPI events."""

PARAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "search": {"query": ("search_term",)},
    "cart_add": {"currency": ("currency",)},
    "cart_remove": {"currency": ("currency",)},
    "payment_failed": {"payment_method": ("payment_type", "payment_method"), "reason": ("reason",)},
    "order_completed": {
        "order_id": ("transaction_id",),
        "revenue": ("value",),
        "currency": ("currency",),
        "payment_method": ("payment_type",),
        "shipping": ("shipping",),
        "tax": ("tax",),
        "coupon": ("coupon",),
    },
    "order_refunded": {
        "order_id": ("transaction_id",),
        "amount": ("value",),
        "currency": ("currency",),
    },
}
"""Canonical type -> canonical field -> event params to read it from, first present wins."""

ECOMMERCE_PARAMS = {
    "transaction_id": "transaction_id",
    "purchase_revenue": "value",
    "refund_value": "value",
    "shipping_value": "shipping",
    "tax_value": "tax",
}
"""The export's `ecommerce` record, as the params it stands in for when they are absent."""

_ITEM_PATHS = {"items.product_id": "item_id"}
_EXPORT_PATHS = {
    "event_id": "event_params.event_id",
    "timestamp": "event_timestamp",
    "anonymous_id": "user_pseudo_id",
    "session_id": "event_params.ga_session_id",
    "url": "event_params.page_location",
    "referrer": "event_params.page_referrer",
    "utm_source": "collected_traffic_source.manual_source",
    "utm_medium": "collected_traffic_source.manual_medium",
    "utm_campaign": "collected_traffic_source.manual_campaign_name",
    "device": "device.category",
    "product_id": "items[0].item_id",
} | _ITEM_PATHS
_BATCH_PATHS = {
    "event_id": "params.event_id",
    "timestamp": "timestamp_micros",
    "anonymous_id": "/client_id",
    "user_id": "/user_id",
    "user_agent": "/user_agent",
    "device": "/device.category",
    "session_id": "params.session_id",
    "url": "params.page_location",
    "referrer": "params.page_referrer",
    "utm_source": "params.source",
    "utm_medium": "params.medium",
    "utm_campaign": "params.campaign",
    "items": "params.items",
    "product_id": "params.items[0].item_id",
} | _ITEM_PATHS


def _typed_paths(common: dict[str, str], params_prefix: str) -> dict[str, dict[str, str]]:
    return {
        event_type: common
        | {field: params_prefix + names[0] for field, names in PARAMS.get(event_type, {}).items()}
        for event_type, _ in EVENT_TYPES.values()
    }


EXPORT_FIELD_PATHS = _typed_paths(_EXPORT_PATHS, "event_params.")
BATCH_FIELD_PATHS = _typed_paths(_BATCH_PATHS, "params.")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def matches(message: dict[str, Any]) -> bool:
    return "event_name" in message or (
        "events" in message and ("client_id" in message or "app_instance_id" in message)
    )


def map_message(message: dict[str, Any], received: Received) -> list[MappedEvent | Rejection]:
    try:
        if "event_name" in message:
            return _map_export_event(message, received)
        return _map_batch(message, received)
    except InvalidEvent as invalid:
        return [invalid.rejection]


def _map_export_event(message: dict[str, Any], received: Received) -> list[MappedEvent | Rejection]:
    event_type, implied = _event_type(message.get("event_name"), "event_name")
    params = _flat_params(message.get("event_params"), "event_params")
    ecommerce = object_at(message, "ecommerce", "ecommerce")
    for record_field, param in ECOMMERCE_PARAMS.items():
        if params.get(param) is None and ecommerce.get(record_field) is not None:
            params[param] = ecommerce[record_field]
    # collected_traffic_source is this event's campaign; traffic_source is the user's
    # first-ever one, so it only stands in for exports made before the former existed.
    traffic = object_at(message, "collected_traffic_source", "collected_traffic_source")
    first_traffic = object_at(message, "traffic_source", "traffic_source")
    anonymous_id = message.get("user_pseudo_id")
    fields: dict[str, Any] = {
        "type": event_type,
        "event_id": params.get("event_id") or f"ga4-{received.digest}",
        "timestamp": _from_micros(
            required(message.get("event_timestamp"), "event_timestamp"), "event_timestamp"
        ),
        "anonymous_id": anonymous_id,
        "user_id": message.get("user_id"),
        "session_id": _session_id(anonymous_id, params.get("ga_session_id")),
        "url": params.get("page_location"),
        "referrer": params.get("page_referrer"),
        "utm_source": traffic.get("manual_source") or first_traffic.get("source"),
        "utm_medium": traffic.get("manual_medium") or first_traffic.get("medium"),
        "utm_campaign": traffic.get("manual_campaign_name") or first_traffic.get("name"),
        "device": object_at(message, "device", "device").get("category"),
    }
    items = list_at(message, "items", "items")
    return _typed_events(
        fields, event_type, implied, params, items, EXPORT_FIELD_PATHS[event_type], "items", ""
    )


def _map_batch(message: dict[str, Any], received: Received) -> list[MappedEvent | Rejection]:
    anonymous_id = message.get("client_id") or message.get("app_instance_id")
    batch_timestamp = message.get("timestamp_micros")
    device = object_at(message, "device", "device")
    results: list[MappedEvent | Rejection] = []
    for index, event in enumerate(list_at(message, "events", "events")):
        origin = f"events[{index}]."
        try:
            if not isinstance(event, dict):
                raise InvalidEvent(
                    RejectReason.WRONG_TYPE,
                    f"events[{index}]: must be an object, got {type_name(event)}",
                )
            event_type, implied = _event_type(event.get("name"), origin + "name")
            params = object_at(event, "params", origin + "params")
            timestamp_micros = event.get("timestamp_micros") or batch_timestamp
            fields: dict[str, Any] = {
                "type": event_type,
                "event_id": params.get("event_id") or f"ga4-{received.digest}.{index}",
                # Without a timestamp GA4 uses the time it received the request: `now`.
                "timestamp": received.now
                if timestamp_micros is None
                else _from_micros(timestamp_micros, origin + "timestamp_micros"),
                "anonymous_id": anonymous_id,
                "user_id": message.get("user_id"),
                "session_id": _session_id(anonymous_id, params.get("session_id")),
                "url": params.get("page_location"),
                "referrer": params.get("page_referrer"),
                "utm_source": params.get("source"),
                "utm_medium": params.get("medium"),
                "utm_campaign": params.get("campaign"),
                "user_agent": message.get("user_agent"),
                "device": device.get("category"),
            }
            items = list_at(params, "items", origin + "params.items")
            paths = BATCH_FIELD_PATHS[event_type]
            results.extend(
                _typed_events(
                    fields, event_type, implied, params, items, paths, "params.items", origin
                )
            )
        except InvalidEvent as invalid:
            results.append(invalid.rejection)
    if not results:
        results.append(
            Rejection(RejectReason.MISSING_FIELD, "events: must hold at least one event")
        )
    return results


def _typed_events(
    fields: dict[str, Any],
    event_type: str,
    implied: dict[str, str],
    params: Mapping[str, Any],
    items: list[Any],
    paths: dict[str, str],
    items_path: str,
    origin: str,
) -> list[MappedEvent | Rejection]:
    """The canonical events one GA4 event stands for: one, or one per item for carts."""
    fields.update(implied)
    for field, names in PARAMS.get(event_type, {}).items():
        for name in names:
            if params.get(name) is not None:
                fields[field] = params[name]
                break
    if event_type == "product_view":
        first_item = _item(items[0], f"{origin}{items_path}[0]") if items else {}
        fields["product_id"] = _product_id(first_item)
    elif event_type == "order_completed":
        fields["items"] = [
            _line_item(item, f"{origin}{items_path}[{index}]") for index, item in enumerate(items)
        ]
    elif event_type in ("cart_add", "cart_remove"):
        return _cart_events(fields, items, paths, items_path, origin)
    return [MappedEvent(fields, paths, origin)]


def _cart_events(
    fields: dict[str, Any],
    items: list[Any],
    paths: dict[str, str],
    items_path: str,
    origin: str,
) -> list[MappedEvent | Rejection]:
    if not items:
        raise InvalidEvent(
            RejectReason.MISSING_FIELD,
            f"{origin}{items_path}: must list the product added or removed",
        )
    events: list[MappedEvent | Rejection] = []
    for index, item in enumerate(items):
        item_path = f"{items_path}[{index}]"
        try:
            line = _line_item(item, origin + item_path)
        except InvalidEvent as invalid:
            events.append(invalid.rejection)
            continue
        item_fields = fields | line
        if index:
            item_fields["event_id"] = f"{fields['event_id']}:{index}"
        item_paths = paths | {
            "product_id": f"{item_path}.item_id",
            "price": f"{item_path}.price",
            "quantity": f"{item_path}.quantity",
        }
        events.append(MappedEvent(item_fields, item_paths, origin))
    return events


def _line_item(item: Any, path: str) -> dict[str, Any]:
    item = _item(item, path)
    line = {
        "product_id": _product_id(item),
        "price": item.get("price"),
        "quantity": item.get("quantity"),
    }
    return {key: value for key, value in line.items() if value is not None}


def _item(item: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(item, dict):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE, f"{path}: must be an object, got {type_name(item)}"
        )
    return item


def _product_id(item: Mapping[str, Any]) -> Any:
    # GA4 requires item_id or item_name on every item.
    return item.get("item_id") if item.get("item_id") is not None else item.get("item_name")


def _event_type(name: Any, path: str) -> tuple[str, dict[str, str]]:
    if name is None:
        raise InvalidEvent(RejectReason.MISSING_FIELD, f"{path}: required")
    if not isinstance(name, str):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE, f"{path}: must be a string, got {type_name(name)}"
        )
    if name not in EVENT_TYPES:
        raise InvalidEvent(
            RejectReason.UNKNOWN_TYPE, f"{path}: {preview(name)} is not a mapped GA4 event"
        )
    return EVENT_TYPES[name]


def _flat_params(params: Any, path: str) -> dict[str, Any]:
    """Event params as a flat dict, from either a flat object or BigQuery's list of
    {key, value: {string_value | int_value | float_value | double_value}}."""
    if params is None:
        return {}
    if isinstance(params, dict):
        return dict(params)
    if not isinstance(params, list):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE, f"{path}: must be an object or a list, got {type_name(params)}"
        )
    flat: dict[str, Any] = {}
    for index, entry in enumerate(params):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise InvalidEvent(
                RejectReason.WRONG_TYPE, f"{path}[{index}]: must be a {{key, value}} object"
            )
        value = entry.get("value")
        if isinstance(value, dict):
            value = next(
                (
                    value[kind]
                    for kind in ("string_value", "int_value", "double_value", "float_value")
                    if value.get(kind) is not None
                ),
                None,
            )
        flat[entry["key"]] = value
    return flat


def _from_micros(micros: Any, path: str) -> datetime:
    # BigQuery's JSON export writes INT64 as a string.
    if isinstance(micros, str) and micros.isdigit():
        micros = int(micros)
    if not isinstance(micros, int) or isinstance(micros, bool):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE,
            f"{path}: must be an integer of microseconds, got {preview(micros)}",
        )
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise InvalidEvent(
            RejectReason.INVALID_VALUE, f"{path}: {micros} microseconds is out of range"
        ) from None


def _session_id(anonymous_id: Any, ga_session_id: Any) -> str | None:
    # GA4 session ids are per-client timestamps, not unique across clients.
    if ga_session_id is None or anonymous_id is None:
        return None
    return f"{anonymous_id}.{ga_session_id}"
