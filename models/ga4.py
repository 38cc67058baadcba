"""Adapter for Google Analytics 4 events, in both shapes they reach us:

- one event of the BigQuery export: `event_name`, `event_timestamp` (microseconds),
  `user_pseudo_id`, `event_bundle_sequence_id`, `event_params` (BigQuery's list of
  {key, value} or a flat object), `items`, `ecommerce`, `device`,
  `collected_traffic_source`, `session_traffic_source_last_click` (schema:
  https://support.google.com/analytics/answer/7029846);
- a Measurement Protocol request: `{client_id, user_id, timestamp_micros, events: [{name,
  params}]}`, which may carry several events and yields one result per event, in order
  (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events:
  up to 25 events and 130 kB a request; more events are all mapped, none dropped).

GA4 has no message id. An event's id is its `event_id` param when sent. Otherwise an
export row's id hashes the columns that identify the event itself (`export_event_id`),
so the intraday and the daily export rows of one event, which differ in other columns,
get the same id ("ga4-bq-<hash>"); a row without `event_bundle_sequence_id`, and every
Measurement Protocol event, gets "ga4-<hash of the message bytes>" (".<n>" added for the
n-th event of a batch), so a client retrying an identical payload produces the same ids. Either way
duplicates are removed downstream. Two identical payloads sent on purpose would be
deduplicated too; senders that care set `event_id`.

Events no KPI reads (GA4's automatic and enhanced-measurement events, recommended events
such as login or view_item_list, custom events) are ignored, not rejected (`Ignored`),
counted by name when in `IGNORED_EVENTS`, else as "other". Only an event without a
string name is invalid.

A cart event lists its products in `items`; each item becomes one canonical cart event
(ids suffixed ":1", ":2", ... after the first), because a canonical cart event is one
product.
"""

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from models.mapped import (
    Ignored,
    MappedEvent,
    Received,
    list_at,
    object_at,
    preview,
    required,
    type_name,
)
from models.rejections import InvalidEvent, Rejection, RejectReason

EVENT_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "page_view": ("page_view", {}),
    "screen_view": ("page_view", {}),
    "view_item": ("product_view", {}),
    "search": ("search", {}),
    "view_search_results": ("search", {}),
    "sign_up": ("signup", {}),
    "newsletter_signup": ("newsletter_signup", {}),
    # GA4 recommends no event for these: kpiwatch reads custom events of the canonical names
    # (docs/KPIS.md, "The user journey").
    "invite_sent": ("invite_sent", {}),
    "survey_response": ("survey_response", {}),
    "feature_used": ("feature_used", {}),
    "demo_requested": ("demo_requested", {}),
    "products_compared": ("products_compared", {}),
    "add_to_cart": ("cart_add", {}),
    "remove_from_cart": ("cart_remove", {}),
    "begin_checkout": ("checkout_started", {}),
    "add_shipping_info": ("checkout_step", {"step": "shipping"}),
    "add_payment_info": ("checkout_step", {"step": "payment"}),
    "payment_failed": ("payment_failed", {}),
    "purchase": ("order_completed", {}),
    "refund": ("order_refunded", {}),
}
"""GA4 event name -> (canonical type, fields the name itself implies). Names are case
sensitive in GA4, so they are matched exactly. Any other name is ignored."""

IGNORED_EVENTS: frozenset[str] = frozenset({
    # Automatically collected, web and app
    # (https://support.google.com/analytics/answer/9234069).
    "first_visit", "session_start", "user_engagement", "first_open", "app_remove",
    "app_update", "app_clear_data", "app_exception", "os_update", "error",
    "notification_receive", "notification_foreground", "notification_open",
    "notification_dismiss", "dynamic_link_first_open", "dynamic_link_app_open",
    "dynamic_link_app_update", "firebase_campaign", "firebase_in_app_message_action",
    "firebase_in_app_message_dismiss", "firebase_in_app_message_impression",
    "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward", "adunit_exposure",
    # Enhanced measurement (https://support.google.com/analytics/answer/9216061).
    "scroll", "click", "file_download", "form_start", "form_submit",
    "video_start", "video_progress", "video_complete",
    # Recommended events without a KPI input
    # (https://developers.google.com/analytics/devguides/collection/ga4/reference/events).
    "view_item_list", "select_item", "view_cart", "view_promotion", "select_promotion",
    "add_to_wishlist", "login", "share", "select_content", "generate_lead",
    "qualify_lead", "disqualify_lead", "working_lead", "close_convert_lead",
    "close_unconvert_lead", "join_group", "earn_virtual_currency",
    "spend_virtual_currency", "level_start", "level_end", "level_up", "post_score",
    "unlock_achievement", "tutorial_begin", "tutorial_complete",
})
"""GA4 events that carry no KPI input, counted as ignored under their own name (a bounded
label); any other unmapped name is ignored as "other". The automatic in-app purchase
events (in_app_purchase, app_store_refund, app_store_subscription_*) carry revenue, so
they are deliberately not listed here: they count as "other" until they are mapped."""

PARAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "search": {"query": ("search_term",)},
    "signup": {"referrer_id": ("referrer_id",)},
    "survey_response": {"scale": ("scale", "survey_type"), "score": ("score", "rating"),
                        "survey": ("survey_name", "survey")},
    "feature_used": {"feature": ("feature_name", "feature")},
    "cart_add": {"currency": ("currency",)},
    "cart_remove": {"currency": ("currency",)},
    # add_payment_info's `payment_type`, "the chosen method of payment"
    # (https://developers.google.com/analytics/devguides/collection/ga4/reference/events
    # #add_payment_info); add_shipping_info has none.
    "checkout_step": {"payment_method": ("payment_type",)},
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
    # A refund without `value` is a full refund: amount stays None and the KPI stage
    # refunds the order's own revenue. A purchase or refund without `currency` keeps
    # currency None (its revenue counts as unconverted) rather than being rejected.
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

CAMPAIGN_FIELDS = ("utm_source", "utm_medium", "utm_campaign")
COLLECTED_TAGS = ("manual_source", "manual_medium", "manual_campaign_name")
LAST_CLICK_RECORDS = ("manual_campaign", "cross_channel_campaign")
LAST_CLICK_TAGS = ("source", "medium", "campaign_name")
"""Where an export row's campaign tags are read, in order; the first record with any tag
set gives all three (tags from two records never mix). Google's traffic attribution page
(https://developers.google.com/analytics/bigquery/traffic-attribution-data) and the export
schema (https://support.google.com/analytics/answer/7029846) scope them so:

- `collected_traffic_source.manual_*`: the UTM tags collected with this very event;
- `session_traffic_source_last_click.manual_campaign.{source, medium, campaign_name}`: the
  session's last-click manual (UTM) attribution, set on every event of the session, so a
  purchase deep in a session still names the campaign that brought it;
- `session_traffic_source_last_click.cross_channel_campaign`, same fields: the session's
  cross-channel last click, which also covers ad platforms' auto-tagged clicks; read only
  when manual_campaign is empty (exports that predate it), because manual_campaign holds
  what utm_* mean.

`traffic_source` is never read: it is the user's first-ever acquisition, the same on every
event of the user for life. With no tags, `models.edge_fields` reads them from the
page_location URL's utm_ parameters and the channel from the referrer. An intraday row
may lack attribution the daily row of the same event has (so get another channel); both
rows get the same id (`export_event_id`), and only the first one counts.
"""

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


def map_message(
    message: dict[str, Any], received: Received
) -> list[MappedEvent | Rejection | Ignored]:
    try:
        if "event_name" in message:
            return _map_export_event(message, received)
        return _map_batch(message, received)
    except InvalidEvent as invalid:
        return [invalid.rejection]


def _map_export_event(
    message: dict[str, Any], received: Received
) -> list[MappedEvent | Rejection | Ignored]:
    name = message.get("event_name")
    mapping = _event_type(name, "event_name")
    anonymous_id = message.get("user_pseudo_id")
    if mapping is None:
        return [_ignored(name, message.get("user_id"), anonymous_id)]
    event_type, implied = mapping
    params = _flat_params(message.get("event_params"), "event_params")
    ecommerce = object_at(message, "ecommerce", "ecommerce")
    for record_field, param in ECOMMERCE_PARAMS.items():
        if params.get(param) is None and ecommerce.get(record_field) is not None:
            params[param] = ecommerce[record_field]
    micros = _micros(required(message.get("event_timestamp"), "event_timestamp"), "event_timestamp")
    tags, tag_paths = _export_campaign(message)
    fields: dict[str, Any] = {
        "type": event_type,
        "event_id": params.get("event_id") or _export_id(message, micros, received),
        "timestamp": _from_micros(micros, "event_timestamp"),
        "anonymous_id": anonymous_id,
        "user_id": message.get("user_id"),
        "session_id": _session_id(anonymous_id, params.get("ga_session_id")),
        "url": params.get("page_location"),
        "referrer": params.get("page_referrer"),
        **dict(zip(CAMPAIGN_FIELDS, tags, strict=True)),
        "device": object_at(message, "device", "device").get("category"),
    }
    items = list_at(message, "items", "items")
    paths = EXPORT_FIELD_PATHS[event_type]
    return _typed_events(
        fields, event_type, implied, params, items, paths | tag_paths, "items", ""
    )


def _export_campaign(message: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, str]]:
    """The row's (utm_source, utm_medium, utm_campaign), read as `COLLECTED_TAGS` says, and
    the source paths of those not read from collected_traffic_source. Records after the one
    that gives the tags are not looked at, so not judged either."""
    collected = object_at(message, "collected_traffic_source", "collected_traffic_source")
    tags = campaign_tags(tuple(collected.get(name) for name in COLLECTED_TAGS))
    if tags is not None:
        return tags, {}
    last_click = object_at(
        message, "session_traffic_source_last_click", "session_traffic_source_last_click"
    )
    for record_name in LAST_CLICK_RECORDS:
        path = f"session_traffic_source_last_click.{record_name}"
        record = object_at(last_click, record_name, path)
        tags = campaign_tags(tuple(record.get(name) for name in LAST_CLICK_TAGS))
        if tags is not None:
            return tags, {
                field: f"{path}.{name}"
                for field, name in zip(CAMPAIGN_FIELDS, LAST_CLICK_TAGS, strict=True)
            }
    return (None, None, None), {}


def campaign_tags(tags: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """`tags` with "" read as unset, or None when none is set. Shared with the fast lane."""
    tags = tuple(None if tag == "" else tag for tag in tags)
    return None if all(tag is None for tag in tags) else tags


def _export_id(message: dict[str, Any], micros: int, received: Received) -> str:
    bundle = message.get("event_bundle_sequence_id")
    if bundle is None:
        return f"ga4-{received.digest}"
    index = message.get("batch_event_index")
    return export_event_id(
        message.get("user_pseudo_id"),
        micros,
        message["event_name"],
        _integer(bundle, "event_bundle_sequence_id"),
        None if index is None else _integer(index, "batch_event_index"),
    )


def export_event_id(
    user_pseudo_id: Any,
    micros: int,
    event_name: str,
    bundle_sequence_id: int,
    batch_event_index: int | None,
) -> str:
    """The id of an export row without an `event_id` param: a hash of the columns that
    name the event itself, not of the row, so that the intraday and the daily export rows
    of one event (https://support.google.com/analytics/answer/7029846: the intraday table
    is replaced by the daily one, whose rows carry more columns, e.g. attribution) count
    once. Shared with the fast lane, so both lanes give the same id.

    The schema's `event_bundle_sequence_id` is "the sequential ID of the bundle in which
    these events were uploaded": one upload of one device, so (user_pseudo_id,
    event_timestamp, event_name, bundle) names an event unless the bundle holds two
    events of the same name stamped in the same microsecond. `batch_event_index`, "a
    number indicating the sequential order of each event within a batch based on their
    order of occurrence on the device", tells those apart, so it is part of the key when
    the row has it (like the bundle id it describes the upload, not GA4's processing, so
    both rows of an event should carry the same one). Rows without it are keyed by the four
    columns alone: two such same-name, same-microsecond events would count once.
    Numbers are keyed by value, so an INT64 written as a string keys as the number does.
    """
    parts = (
        "-" if user_pseudo_id is None else _sized(str(user_pseudo_id)),
        str(micros),
        _sized(event_name),
        str(bundle_sequence_id),
        "-" if batch_event_index is None else str(batch_event_index),
    )
    key = "|".join(parts).encode("utf-8", "surrogatepass")
    # "bq-": these ids never meet those hashed from message bytes ("ga4-<hash>").
    return f"ga4-bq-{hashlib.blake2b(key, digest_size=16).hexdigest()}"


def _sized(text: str) -> str:
    # Length-prefixed, so that no text can pass for another part of the key.
    return f"{len(text)}:{text}"


def _map_batch(
    message: dict[str, Any], received: Received
) -> list[MappedEvent | Rejection | Ignored]:
    anonymous_id = message.get("client_id") or message.get("app_instance_id")
    batch_timestamp = message.get("timestamp_micros")
    device = object_at(message, "device", "device")
    results: list[MappedEvent | Rejection | Ignored] = []
    for index, event in enumerate(list_at(message, "events", "events")):
        origin = f"events[{index}]."
        try:
            if not isinstance(event, dict):
                raise InvalidEvent(
                    RejectReason.WRONG_TYPE,
                    f"events[{index}]: must be an object, got {type_name(event)}",
                )
            mapping = _event_type(event.get("name"), origin + "name")
            if mapping is None:
                results.append(_ignored(event["name"], message.get("user_id"), anonymous_id))
                continue
            event_type, implied = mapping
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


def _event_type(name: Any, path: str) -> tuple[str, dict[str, str]] | None:
    """The canonical type of a GA4 event name and the fields it implies; None for a name
    no KPI reads (the event is ignored)."""
    if name is None:
        raise InvalidEvent(RejectReason.MISSING_FIELD, f"{path}: required")
    if not isinstance(name, str):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE, f"{path}: must be a string, got {type_name(name)}"
        )
    return EVENT_TYPES.get(name)


def ignored_kind(name: str) -> str:
    """The label an unmapped GA4 event is counted under: its name, or "other"."""
    return name if name in IGNORED_EVENTS else "other"


def _ignored(name: str, user_id: Any, anonymous_id: Any) -> Ignored:
    return Ignored(ignored_kind(name), _id_text(user_id), _id_text(anonymous_id))


def _id_text(value: Any) -> str | None:
    # As the canonical models read ids: numbers as text, anything else as absent.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


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


def _micros(value: Any, path: str) -> int:
    return _integer(value, path, "an integer of microseconds")


def _integer(value: Any, path: str, what: str = "an integer") -> int:
    # BigQuery's JSON export writes INT64 as a string (of ASCII digits: str.isdigit alone
    # also passes "²", which int() refuses).
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidEvent(RejectReason.WRONG_TYPE, f"{path}: must be {what}, got {preview(value)}")
    return value


def _from_micros(micros: Any, path: str) -> datetime:
    micros = _micros(micros, path)
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
