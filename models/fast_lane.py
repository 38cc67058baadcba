"""The fast lane of `parse_message`: well-formed messages of the usual shapes, decoded
and type-checked in one pass by msgspec, then built into the canonical pydantic models
without running pydantic's validators a second time.

It is an optimisation, not a second definition of a valid event. It accepts a message
only when every value it reads is in its plain, common form and within the limits, and
declines (returns None) everything else, good or bad: the careful lane in
`models.parse` then decides, and words any rejection. The field mapping mirrors the
adapters (`models.segment`, `models.ga4`, `models.canonical`) line for line;
tests/unit/models/test_fast_lane.py checks on generated messages that both lanes build
identical events.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from models import ga4, segment
from models.currencies import ISO_4217_CODES
from models.edge_fields import derive_edge_fields
from models.events import AMOUNT_FIELDS, EVENT_MODELS, EventBase, LineItem
from models.fields import IDENTIFIER_CAP, LABEL_CAP, TEXT_CAP, URL_CAP, USER_AGENT_CAP
from models.limits import ParseLimits
from models.mapped import Received

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=IDENTIFIER_CAP)]
# Amounts stay as decoded and are turned into Decimal the way pydantic does it.
Amount = int | float | str
# A survey score is taken only as a whole JSON number (`_build` declines the rest).
Score = int | float | str


class _Struct(msgspec.Struct, gc=False):
    """Decoded JSON holds no reference cycles, so the garbage collector can skip these."""


class _Page(_Struct):
    url: str | None = None
    referrer: str | None = None


class _Campaign(_Struct):
    source: str | None = None
    medium: str | None = None
    name: str | None = None


class _SegmentDevice(_Struct):
    type: str | None = None


class _Context(_Struct):
    page: _Page | None = None
    campaign: _Campaign | None = None
    device: _SegmentDevice | None = None
    userAgent: str | None = None


class _Item(_Struct):
    """A product line: Segment's `products`, GA4's `items` or canonical `items`."""

    product_id: Id | None = None
    productId: Id | None = None
    id: Id | None = None
    sku: Id | None = None
    item_id: Id | None = None
    item_name: Id | None = None
    price: Amount | None = None
    quantity: int | None = None


class _Properties(_Struct):
    """Every property name `models.segment` reads, in each spelling it reads
    (tests/unit/models/test_fast_lane.py checks that none is missing)."""

    product_id: Id | None = None
    productId: Id | None = None
    id: Id | None = None
    sku: Id | None = None
    cartId: Id | None = None
    sessionId: Id | None = None
    paymentMethod: str | None = None
    orderId: Id | None = None
    price: Amount | None = None
    quantity: int | None = None
    currency: str | None = None
    cart_id: Id | None = None
    session_id: Id | None = None
    url: str | None = None
    referrer: str | None = None
    query: str | None = None
    step: int | str | None = None
    payment_method: str | None = None
    reason: str | None = None
    error: str | None = None
    order_id: Id | None = None
    revenue: Amount | None = None
    total: Amount | None = None
    shipping: Amount | None = None
    tax: Amount | None = None
    coupon: str | None = None
    products: list[_Item] | None = None
    referrer_id: Id | None = None
    referrerId: Id | None = None
    referred_by: Id | None = None
    referredBy: Id | None = None
    scale: str | None = None
    score: Score | None = None
    survey: str | None = None
    feature: str | None = None
    survey_type: str | None = None
    surveyType: str | None = None
    rating: Score | None = None
    survey_name: str | None = None
    surveyName: str | None = None
    survey_id: str | None = None
    surveyId: str | None = None
    feature_name: str | None = None
    featureName: str | None = None


class _GA4Params(_Struct):
    event_id: Id | None = None
    page_location: str | None = None
    page_referrer: str | None = None
    session_id: int | str | None = None
    ga_session_id: int | str | None = None
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    search_term: str | None = None
    currency: str | None = None
    value: Amount | None = None
    transaction_id: Id | None = None
    payment_type: str | None = None
    payment_method: str | None = None
    reason: str | None = None
    shipping: Amount | None = None
    tax: Amount | None = None
    coupon: str | None = None
    items: list[_Item] | None = None
    referrer_id: Id | None = None
    scale: str | None = None
    score: Score | None = None
    survey: str | None = None
    feature: str | None = None
    survey_type: str | None = None
    rating: Score | None = None
    survey_name: str | None = None
    feature_name: str | None = None


class _GA4Event(_Struct):
    name: str | None = None
    params: _GA4Params | None = None
    timestamp_micros: int | None = None


class _BigQueryValue(_Struct):
    string_value: str | None = None
    int_value: int | str | None = None
    # As given: the careful lane keeps a whole number whole (0 is "0", not "0.0").
    double_value: int | float | None = None
    float_value: int | float | None = None


class _BigQueryParam(_Struct):
    key: str
    value: _BigQueryValue | None = None


class _Ecommerce(_Struct):
    transaction_id: Id | None = None
    purchase_revenue: Amount | None = None
    refund_value: Amount | None = None
    shipping_value: Amount | None = None
    tax_value: Amount | None = None


class _GA4Device(_Struct):
    category: str | None = None


class _TrafficSource(_Struct):
    """The export's `collected_traffic_source`. (`traffic_source`, the user's first-ever
    acquisition, is never read: see `models.ga4.COLLECTED_TAGS`.)"""

    manual_source: str | None = None
    manual_medium: str | None = None
    manual_campaign_name: str | None = None


class _LastClickCampaign(_Struct):
    source: str | None = None
    medium: str | None = None
    campaign_name: str | None = None


class _LastClickTrafficSource(_Struct):
    """The export's `session_traffic_source_last_click`, the records of it that are read."""

    manual_campaign: _LastClickCampaign | None = None
    cross_channel_campaign: _LastClickCampaign | None = None


class _Message(_Struct):
    """Every top-level field the fast lane reads, of every shape at once: one decode pass
    serves all formats, and fields of the other shapes are simply absent."""

    # Fields whose mere presence picks the format (see `models.parse.SOURCE_FORMATS`)
    # default to UNSET, so that a present null still counts as present.
    type: str | None | UnsetType = UNSET
    messageId: Id | None | UnsetType = UNSET
    event: str | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    timestamp: str | None = None
    originalTimestamp: str | None = None
    properties: _Properties | None = None
    context: _Context | None = None

    event_id: Id | None | UnsetType = UNSET
    user_id: Id | None = None
    anonymous_id: Id | None = None
    session_id: Id | None = None
    cart_id: Id | None = None
    url: str | None = None
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    user_agent: str | None = None
    device: str | _GA4Device | None = None
    product_id: Id | None = None
    price: Amount | None = None
    quantity: int | None = None
    currency: str | None = None
    query: str | None = None
    step: str | None = None
    payment_method: str | None = None
    reason: str | None = None
    order_id: Id | None = None
    revenue: Amount | None = None
    amount: Amount | None = None
    shipping: Amount | None = None
    tax: Amount | None = None
    coupon: str | None = None
    items: list[_Item] | None = None
    referrer_id: Id | None = None
    scale: str | None = None
    score: Score | None = None
    survey: str | None = None
    feature: str | None = None

    event_name: str | None | UnsetType = UNSET
    event_timestamp: int | str | None = None
    event_bundle_sequence_id: int | str | None = None
    batch_event_index: int | str | None = None
    user_pseudo_id: Id | None = None
    event_params: list[_BigQueryParam] | _GA4Params | None = None
    ecommerce: _Ecommerce | None = None
    collected_traffic_source: _TrafficSource | None = None
    session_traffic_source_last_click: _LastClickTrafficSource | None = None

    client_id: Id | None | UnsetType = UNSET
    app_instance_id: Id | None | UnsetType = UNSET
    timestamp_micros: int | None = None
    events: list[_GA4Event] | None | UnsetType = UNSET


class _Declined(Exception):
    """Raised anywhere in the fast lane to hand the message to the careful lane."""


_decoder = msgspec.json.Decoder(_Message)
_EMPTY_PROPERTIES = _Properties()
_EMPTY_CONTEXT = _Context()
_EMPTY_PAGE = _Page()
_EMPTY_CAMPAIGN = _Campaign()
_EMPTY_PARAMS = _GA4Params()
_EMPTY_TRAFFIC = _TrafficSource()
_EMPTY_LAST_CLICK = _LastClickTrafficSource()
_EMPTY_LAST_CLICK_CAMPAIGN = _LastClickCampaign()
_NO_TAGS = (None, None, None)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
_PLAIN_DECIMAL = re.compile(r"\d{1,15}(?:\.\d{1,12})?")
_TEXT_CAPS = {
    "url": URL_CAP,
    "referrer": URL_CAP,
    "user_agent": USER_AGENT_CAP,
    "utm_source": TEXT_CAP,
    "utm_medium": TEXT_CAP,
    "utm_campaign": TEXT_CAP,
    "query": TEXT_CAP,
    "reason": TEXT_CAP,
    "coupon": TEXT_CAP,
}
_LABEL_FIELDS = ("step", "payment_method", "survey", "feature")
_SCORE_RANGES = {"nps": range(0, 11), "csat": range(1, 6)}


@dataclass(frozen=True, slots=True)
class _Shape:
    """What `_build` needs to know about one canonical model, worked out once: pydantic's
    `model_fields` costs a microsecond per access."""

    model: type[EventBase]
    defaults: dict[str, None]
    specific_names: tuple[str, ...]
    required: tuple[str, ...]
    text_caps: tuple[tuple[str, int], ...]
    amounts: tuple[str, ...]
    labels: tuple[str, ...]
    has_quantity: bool
    has_currency: bool
    has_items: bool

    @classmethod
    def of(cls, model: type[EventBase]) -> "_Shape":
        fields = model.model_fields
        return cls(
            model=model,
            defaults=dict.fromkeys(fields),
            specific_names=tuple(
                name for name in fields if name not in EventBase.model_fields and name != "type"
            ),
            required=tuple(name for name, field in fields.items() if field.is_required()),
            text_caps=tuple((name, cap) for name, cap in _TEXT_CAPS.items() if name in fields),
            amounts=tuple(name for name in AMOUNT_FIELDS if name in fields),
            labels=tuple(name for name in _LABEL_FIELDS if name in fields),
            has_quantity="quantity" in fields,
            has_currency="currency" in fields,
            has_items="items" in fields,
        )


_SHAPES = {event_type: _Shape.of(model) for event_type, model in EVENT_MODELS.items()}
_ALL_FIELDS = {model: frozenset(model.model_fields) for model in (*EVENT_MODELS.values(), LineItem)}
_COMMON_FIELDS = tuple(name for name in EventBase.model_fields if name not in ("channel", "is_bot"))


def parse_fast(raw: bytes, now: datetime, limits: ParseLimits) -> list[EventBase] | None:
    """The events in `raw`, or None when the careful lane has to decide."""
    try:
        message = _decoder.decode(raw)
        window = limits.accepted_window(now)
        return [_build(fields, window, limits) for fields in _map(message, Received(raw, now))]
    except (_Declined, msgspec.DecodeError):
        return None
    except RecursionError:
        # msgspec counts nesting against the interpreter's recursion limit, so where deep
        # nesting fails depends on the caller's stack: the careful lane (orjson's fixed depth
        # limit) decides alike wherever it is called from.
        return None


def _map(message: _Message, received: Received) -> list[dict[str, Any]]:
    """Canonical fields, as `models.parse.SOURCE_FORMATS` would pick the adapter."""
    if message.messageId is not UNSET or message.type in segment.CALL_TYPES:
        return [_segment_fields(message)]
    if message.event_id is not UNSET and isinstance(message.type, str):
        return [_canonical_fields(message)]
    if message.event_name is not UNSET:
        return _ga4_export_fields(message, received)
    if message.events is not UNSET and (
        message.client_id is not UNSET or message.app_instance_id is not UNSET
    ):
        return _ga4_batch_fields(message, received)
    raise _Declined


def _segment_fields(message: _Message) -> dict[str, Any]:
    if message.type in ("page", "screen"):
        event_type, implied = "page_view", {}
    elif message.type == "track" and message.event is not None:
        mapping = segment.track_event(message.event)
        if mapping is None:
            raise _Declined
        event_type, implied = mapping
    else:
        raise _Declined
    properties = message.properties or _EMPTY_PROPERTIES
    context = message.context or _EMPTY_CONTEXT
    page = context.page or _EMPTY_PAGE
    campaign = context.campaign or _EMPTY_CAMPAIGN
    fields: dict[str, Any] = {
        "type": event_type,
        "event_id": message.messageId or None,
        "timestamp": message.timestamp or message.originalTimestamp,
        "user_id": message.userId,
        "anonymous_id": message.anonymousId,
        "session_id": _first_property(properties, segment.COMMON_PROPERTIES["session_id"]),
        "cart_id": _first_property(properties, segment.COMMON_PROPERTIES["cart_id"]),
        "url": page.url or properties.url,
        "referrer": page.referrer or properties.referrer,
        "utm_source": campaign.source,
        "utm_medium": campaign.medium,
        "utm_campaign": campaign.name,
        "user_agent": context.userAgent,
        "device": context.device.type if context.device is not None else None,
    }
    for field, names in segment.PROPERTIES[event_type].items():
        value = _first_property(properties, names)
        if value is not None:
            fields[field] = value
    if event_type == "order_completed":
        fields["items"] = [
            _line_item(_first_property(product, segment.PRODUCT_ID_KEYS), product)
            for product in properties.products or ()
        ]
    fields.update(implied)
    segment.apply_defaults(fields)
    return fields


def _first_property(struct: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = getattr(struct, name)
        if value is not None:
            return value
    return None


def _canonical_fields(message: _Message) -> dict[str, Any]:
    if message.type not in EVENT_MODELS or isinstance(message.device, _GA4Device):
        raise _Declined
    fields = {name: getattr(message, name) for name in _COMMON_FIELDS}
    fields["type"] = message.type
    fields["event_id"] = message.event_id or None
    for name in _SHAPES[message.type].specific_names:
        value = getattr(message, name)
        if value is not None:
            fields[name] = value
    if message.items is not None and _SHAPES[message.type].has_items:
        fields["items"] = [_line_item(item.product_id, item) for item in message.items]
    return fields


def _ga4_export_fields(message: _Message, received: Received) -> list[dict[str, Any]]:
    event_type, implied = _ga4_event_type(message.event_name)
    params = _export_params(message.event_params)
    ecommerce = message.ecommerce
    if ecommerce is not None:
        params = msgspec.structs.replace(
            params,
            transaction_id=_first(params.transaction_id, ecommerce.transaction_id),
            value=_first(params.value, ecommerce.purchase_revenue, ecommerce.refund_value),
            shipping=_first(params.shipping, ecommerce.shipping_value),
            tax=_first(params.tax, ecommerce.tax_value),
        )
    if isinstance(message.device, str) or message.event_timestamp is None:
        raise _Declined
    micros = _integer(message.event_timestamp)
    utm_source, utm_medium, utm_campaign = _export_campaign(message)
    fields: dict[str, Any] = {
        "type": event_type,
        "event_id": params.event_id or _export_id(message, micros, received),
        "timestamp": _from_micros(micros),
        "anonymous_id": message.user_pseudo_id,
        "user_id": message.user_id,
        "session_id": _session_id(message.user_pseudo_id, params.ga_session_id),
        "url": params.page_location,
        "referrer": params.page_referrer,
        "utm_source": utm_source,
        "utm_medium": utm_medium,
        "utm_campaign": utm_campaign,
        "device": message.device.category if message.device is not None else None,
    }
    return _ga4_typed_fields(fields, event_type, implied, params, message.items or [])


def _export_campaign(message: _Message) -> tuple[str | None, ...]:
    """As `models.ga4._export_campaign`: the first record with any tag gives all three."""
    traffic = message.collected_traffic_source or _EMPTY_TRAFFIC
    tags = ga4.campaign_tags(
        (traffic.manual_source, traffic.manual_medium, traffic.manual_campaign_name)
    )
    if tags is not None:
        return tags
    last_click = message.session_traffic_source_last_click or _EMPTY_LAST_CLICK
    for record in (last_click.manual_campaign, last_click.cross_channel_campaign):
        record = record or _EMPTY_LAST_CLICK_CAMPAIGN
        tags = ga4.campaign_tags((record.source, record.medium, record.campaign_name))
        if tags is not None:
            return tags
    return _NO_TAGS


def _export_id(message: _Message, micros: int, received: Received) -> str:
    """As `models.ga4._export_id`."""
    if message.event_bundle_sequence_id is None:
        return f"ga4-{received.digest}"
    index = message.batch_event_index
    return ga4.export_event_id(
        message.user_pseudo_id,
        micros,
        message.event_name,  # type: ignore[arg-type]  # a mapped name, so a string
        _integer(message.event_bundle_sequence_id),
        None if index is None else _integer(index),
    )


def _ga4_batch_fields(message: _Message, received: Received) -> list[dict[str, Any]]:
    anonymous_id = message.client_id or message.app_instance_id or None
    if not message.events or isinstance(message.device, str):
        raise _Declined
    device = message.device.category if message.device is not None else None
    events: list[dict[str, Any]] = []
    for index, event in enumerate(message.events):
        event_type, implied = _ga4_event_type(event.name)
        params = event.params or _EMPTY_PARAMS
        timestamp_micros = event.timestamp_micros or message.timestamp_micros
        fields: dict[str, Any] = {
            "type": event_type,
            "event_id": params.event_id or f"ga4-{received.digest}.{index}",
            "timestamp": received.now
            if timestamp_micros is None
            else _from_micros(timestamp_micros),
            "anonymous_id": anonymous_id,
            "user_id": message.user_id,
            "session_id": _session_id(anonymous_id, params.session_id),
            "url": params.page_location,
            "referrer": params.page_referrer,
            "utm_source": params.source,
            "utm_medium": params.medium,
            "utm_campaign": params.campaign,
            "user_agent": message.user_agent,
            "device": device,
        }
        events.extend(_ga4_typed_fields(fields, event_type, implied, params, params.items or []))
    return events


def _ga4_typed_fields(
    fields: dict[str, Any],
    event_type: str,
    implied: dict[str, str],
    params: _GA4Params,
    items: list[_Item],
) -> list[dict[str, Any]]:
    fields.update(implied)
    for field, names in ga4.PARAMS.get(event_type, {}).items():
        for name in names:
            value = getattr(params, name)
            if value is not None:
                fields[field] = value
                break
    if event_type == "product_view":
        if not items:
            raise _Declined
        fields["product_id"] = _ga4_product_id(items[0])
    elif event_type == "order_completed":
        fields["items"] = [_line_item(_ga4_product_id(item), item) for item in items]
    elif event_type in ("cart_add", "cart_remove"):
        if not items:
            raise _Declined
        per_item = []
        for index, item in enumerate(items):
            item_fields = fields | {
                "product_id": _ga4_product_id(item),
                "price": item.price,
                "quantity": item.quantity,
            }
            if index:
                item_fields["event_id"] = f"{fields['event_id']}:{index}"
            per_item.append(item_fields)
        return per_item
    return [fields]


def _build(
    fields: dict[str, Any], window: tuple[datetime, datetime], limits: ParseLimits
) -> EventBase:
    """The canonical event for fields that pass every check `models.parse` makes;
    `window` is the oldest and newest timestamp accepted."""
    shape = _SHAPES[fields["type"]]
    timestamp = _timestamp(fields["timestamp"])
    if not window[0] <= timestamp <= window[1]:
        raise _Declined
    if fields.get("anonymous_id") is None and fields.get("user_id") is None:
        raise _Declined
    session_id = fields.get("session_id")
    if session_id is not None and len(session_id) > IDENTIFIER_CAP:
        raise _Declined
    # Derived before the caps, as the careful lane derives before pydantic truncates.
    derive_edge_fields(fields)
    # The adapters below only ever set fields of the event's own model.
    values = shape.defaults | fields
    values["timestamp"] = timestamp
    for name, cap in shape.text_caps:
        value = values[name]
        if value is not None and len(value) > cap:
            values[name] = value[:cap]
    for name in shape.amounts:
        if values[name] is not None:
            values[name] = _amount(values[name], limits)
    if shape.has_quantity:
        values["quantity"] = _quantity(values["quantity"], limits)
    if (
        shape.has_currency
        and values["currency"] is not None
        and values["currency"] not in ISO_4217_CODES
    ):
        raise _Declined
    for name in shape.labels:
        if values[name] is not None:
            values[name] = _label(values[name])
    if fields["type"] == "survey_response":
        score, scale = values["score"], values["scale"]
        if isinstance(scale, str):
            scale = values["scale"] = scale.lower()
        if type(score) is not int or scale not in _SCORE_RANGES or score not in _SCORE_RANGES[scale]:
            raise _Declined
    if shape.has_items:
        values["items"] = tuple(
            _trusted(LineItem, _line_values(item, limits)) for item in values["items"] or ()
        )
    for name in shape.required:
        if values[name] is None:
            raise _Declined
    return _trusted(shape.model, values)


def _trusted(model: type, values: dict[str, Any]) -> Any:
    """An instance of a pydantic model from values already in their validated form: what
    `BaseModel.model_construct` does, without its per-field Python loop."""
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(_ALL_FIELDS[model]))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def _line_item(product_id: str | None, item: _Item) -> dict[str, Any]:
    return {"product_id": product_id, "price": item.price, "quantity": item.quantity}


def _line_values(line: dict[str, Any], limits: ParseLimits) -> dict[str, Any]:
    if line["product_id"] is None:
        raise _Declined
    price = line["price"]
    return {
        "product_id": line["product_id"],
        "price": None if price is None else _amount(price, limits),
        "quantity": _quantity(line["quantity"], limits),
    }


def _amount(value: Amount, limits: ParseLimits) -> Decimal:
    # pydantic turns a float into Decimal through its shortest repr: 19.99 -> "19.99".
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif _PLAIN_DECIMAL.fullmatch(value):
        amount = Decimal(value)
    else:
        raise _Declined
    if not amount.is_finite() or not 0 <= amount <= limits.max_amount:
        raise _Declined
    return amount


def _quantity(value: int | None, limits: ParseLimits) -> int:
    if value is None:
        return 1
    if not 1 <= value <= limits.max_quantity:
        raise _Declined
    return value


def _label(value: int | str) -> str:
    if isinstance(value, int):
        return str(value)
    # Only plain ASCII is normalised here; pydantic's Unicode case and space rules decide
    # the rest.
    if not (value.isascii() and value.isprintable()):
        raise _Declined
    label = value.strip().lower()[:LABEL_CAP]
    if not label:
        raise _Declined
    return label


def _timestamp(value: datetime | str | None) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if value is None or not _TIMESTAMP.fullmatch(value):
        raise _Declined
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Declined from None


def _integer(value: int | str) -> int:
    """An INT64 of the export, which its JSON may write as a string of ASCII digits."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise _Declined
        return int(value)
    return value


def _from_micros(micros: int) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise _Declined from None


def _export_params(params: list[_BigQueryParam] | _GA4Params | None) -> _GA4Params:
    if params is None:
        return _EMPTY_PARAMS
    if isinstance(params, _GA4Params):
        return params
    flat: dict[str, Any] = {}
    for param in params:
        value = param.value
        if value is not None:
            flat[param.key] = _first(
                value.string_value, value.int_value, value.double_value, value.float_value
            )
        else:
            flat[param.key] = None
    try:
        return msgspec.convert(flat, _GA4Params)
    except msgspec.ValidationError:
        raise _Declined from None


def _ga4_event_type(name: str | None | UnsetType) -> tuple[str, dict[str, str]]:
    if name not in ga4.EVENT_TYPES:
        raise _Declined
    return ga4.EVENT_TYPES[name]  # type: ignore[index]


def _ga4_product_id(item: _Item) -> str | None:
    return item.item_id if item.item_id is not None else item.item_name


def _session_id(anonymous_id: str | None, ga_session_id: int | str | None) -> str | None:
    if ga_session_id is None or anonymous_id is None:
        return None
    return f"{anonymous_id}.{ga_session_id}"


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)
