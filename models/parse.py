"""Where raw bytes become canonical events: the one edge of kpiwatch.

`parse_message` takes a message as it came off a topic, recognises its format (Segment,
GA4 export or Measurement Protocol, canonical), maps it, derives the channel, device and
bot flag, validates it against the canonical models and the `ParseLimits`, and returns
the events and the rejections. Everything downstream trusts its output.

`encode_canonical` and `decode_canonical` write and read the internal canonical topic.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from models import canonical, ga4, segment
from models.edge_fields import derive_edge_fields
from models.events import (
    AMOUNTS_OF,
    EVENT_MODELS,
    CanonicalEvent,
    CartChange,
    EventBase,
    OrderCompleted,
)
from models.fast_lane import parse_fast
from models.limits import ParseLimits
from models.mapped import Ignored, MappedEvent, Received, preview, type_name
from models.rejections import Rejection, RejectReason

SOURCE_FORMATS = (segment, canonical, ga4)
"""Adapters in the order they are tried; the first whose `matches` accepts the message
maps it. Segment goes first: its call types ("track") would otherwise read as an
unknown canonical type."""

_REASON_BY_ERROR = {
    "missing": RejectReason.MISSING_FIELD,
    "missing_user_key": RejectReason.MISSING_USER_KEY,
    "literal_error": RejectReason.INVALID_VALUE,
    "unknown_currency": RejectReason.UNKNOWN_CURRENCY,
    "greater_than_equal": RejectReason.INVALID_VALUE,
    "greater_than": RejectReason.INVALID_VALUE,
    "less_than_equal": RejectReason.INVALID_VALUE,
    "string_too_short": RejectReason.INVALID_VALUE,
    "string_too_long": RejectReason.INVALID_VALUE,
    "timezone_aware": RejectReason.INVALID_VALUE,
    "finite_number": RejectReason.INVALID_VALUE,
    "int_from_float": RejectReason.INVALID_VALUE,
    "datetime_from_date_parsing": RejectReason.INVALID_VALUE,
    "datetime_object_invalid": RejectReason.INVALID_VALUE,
}
"""Pydantic error types that are not wrong_type. Text that fails to parse as the number
or date it should hold (pydantic's "*_parsing" errors) is an invalid value too: numbers
and dates are accepted as strings, so the type was right."""

_LONGEST_DETAIL = 300

_canonical_events: TypeAdapter[CanonicalEvent] = TypeAdapter(CanonicalEvent)


@dataclass(slots=True)
class ParseOutcome:
    """What one message became. A Segment or canonical message yields exactly one event
    or one rejection; a GA4 batch (or a GA4 cart event listing several products) may
    yield several of each."""

    events: list[CanonicalEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


def parse_message(raw: bytes, *, now: datetime, limits: ParseLimits) -> ParseOutcome:
    """Turn one raw message into canonical events and rejections. Never raises for any
    input bytes.

    `now` is the time the message is judged against (future and stale timestamps, GA4
    events sent without one). Pass the Kafka record's timestamp, not the wall clock, so
    that a replay judges every message exactly as the first run did. It must be
    timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        return _parse(raw, now, limits)
    except Exception as error:  # noqa: BLE001 -- one poison message must not stop a worker
        return _rejected(RejectReason.PARSER_ERROR, f"message: {type(error).__name__}: {error}")


def encode_canonical(event: EventBase) -> bytes:
    """Compact JSON of a canonical event, for the internal canonical topic. Amounts are
    written as strings so they read back as the same `Decimal`."""
    return orjson.dumps(event, default=_json_default, option=orjson.OPT_UTC_Z)


def decode_canonical(raw: bytes) -> CanonicalEvent:
    """Read back an event written by `encode_canonical`. Meant for the internal topic,
    whose events were validated on the way in; raises on anything else."""
    return _canonical_events.validate_json(raw)


def _parse(raw: bytes, now: datetime, limits: ParseLimits) -> ParseOutcome:
    # Measured before decoding: a huge message costs nothing to refuse.
    if len(raw) > limits.max_event_bytes:
        return _rejected(
            RejectReason.TOO_LARGE,
            f"message: {len(raw)} bytes, more than max_event_bytes={limits.max_event_bytes}",
        )
    fast_events = parse_fast(raw, now, limits)
    if fast_events is not None:
        return ParseOutcome(events=fast_events)
    return parse_carefully(raw, now, limits)


def parse_carefully(raw: bytes, now: datetime, limits: ParseLimits) -> ParseOutcome:
    """The careful lane: the reference behaviour of `parse_message` for every message,
    and the one that words rejections. `parse_message` only comes here when the fast
    lane declines; tests call it directly to check that both lanes agree."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return _rejected(RejectReason.NOT_JSON, f"message: {error}")
    if not isinstance(message, dict):
        return _rejected(
            RejectReason.NOT_OBJECT, f"message: must be a JSON object, got {type_name(message)}"
        )
    adapter = next((adapter for adapter in SOURCE_FORMATS if adapter.matches(message)), None)
    if adapter is None:
        return _rejected(
            RejectReason.UNKNOWN_FORMAT,
            "message: not Segment (messageId, type), GA4 (event_name, or client_id and events) "
            "or canonical (event_id, type)",
        )
    outcome = ParseOutcome()
    for mapped in adapter.map_message(message, Received(raw, now)):
        if isinstance(mapped, Ignored):
            outcome.ignored.append(mapped)
            continue
        accepted = mapped if isinstance(mapped, Rejection) else _accept(mapped, now, limits)
        if isinstance(accepted, Rejection):
            outcome.rejections.append(accepted)
        else:
            outcome.events.append(accepted)
    return outcome


def _accept(mapped: MappedEvent, now: datetime, limits: ParseLimits) -> EventBase | Rejection:
    fields = mapped.fields
    derive_edge_fields(fields)
    try:
        event = EVENT_MODELS[fields["type"]].model_validate(fields)
    except ValidationError as error:
        return _rejection_from(error, mapped)
    oldest, newest = limits.accepted_window(now)
    if event.timestamp > newest:
        return Rejection(
            RejectReason.FUTURE_TIMESTAMP,
            f"{mapped.source_path(('timestamp',))}: {event.timestamp.isoformat()} is more than "
            f"future_skew={limits.future_skew} ahead of {now.isoformat()}",
        )
    if event.timestamp < oldest:
        return Rejection(
            RejectReason.TOO_OLD,
            f"{mapped.source_path(('timestamp',))}: {event.timestamp.isoformat()} is more than "
            f"replay_horizon={limits.replay_horizon} before {now.isoformat()}",
        )
    return _out_of_bounds(event, mapped, limits) or event


def _out_of_bounds(event: EventBase, mapped: MappedEvent, limits: ParseLimits) -> Rejection | None:
    """An invalid_value rejection for the first amount or quantity past the limits."""
    checks: list[tuple[tuple[str | int, ...], Any, str]] = [
        ((name,), getattr(event, name), "max_amount") for name in AMOUNTS_OF[event.type]
    ]
    if isinstance(event, CartChange):
        checks.append((("quantity",), event.quantity, "max_quantity"))
    if isinstance(event, OrderCompleted):
        for index, item in enumerate(event.items):
            checks.append((("items", index, "price"), item.price, "max_amount"))
            checks.append((("items", index, "quantity"), item.quantity, "max_quantity"))
    for location, value, limit_name in checks:
        limit = getattr(limits, limit_name)
        if value is not None and value > limit:
            detail = (
                f"{mapped.source_path(location)}: must be <= {limit} ({limit_name}), got {value}"
            )
            return Rejection(RejectReason.INVALID_VALUE, detail)
    return None


def _rejection_from(error: ValidationError, mapped: MappedEvent) -> Rejection:
    first = error.errors(include_url=False)[0]
    kind, location, value = first["type"], first["loc"], first.get("input")
    if kind == "missing_user_key":
        paths = " or ".join(mapped.source_path((name,)) for name in ("anonymous_id", "user_id"))
        return Rejection(RejectReason.MISSING_USER_KEY, f"{paths}: at least one is required")
    if kind == "csat_score":
        return Rejection(RejectReason.INVALID_VALUE, f"{mapped.source_path(('score',))}: "
                         f"{first['msg']}, got {preview(mapped.fields.get('score'))}")
    # A JSON null where a value is required is as good as missing.
    if kind == "missing" or value is None:
        return Rejection(RejectReason.MISSING_FIELD, f"{mapped.source_path(location)}: required")
    reason = _REASON_BY_ERROR.get(kind)
    if reason is None:
        reason = (
            RejectReason.INVALID_VALUE if kind.endswith("_parsing") else RejectReason.WRONG_TYPE
        )
    return Rejection(
        reason, _cap(f"{mapped.source_path(location)}: {_describe(first)}, got {preview(value)}")
    )


def _describe(error: Any) -> str:
    context = error.get("ctx") or {}
    match error["type"]:
        case "greater_than_equal":
            return f"must be >= {context['ge']}"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"must be at most {context['max_length']} characters"
        case _:
            message: str = error["msg"]
            return message[:1].lower() + message[1:]


def _rejected(reason: RejectReason, detail: str) -> ParseOutcome:
    return ParseOutcome(rejections=[Rejection(reason, _cap(detail))])


def _cap(detail: str) -> str:
    return detail if len(detail) <= _LONGEST_DETAIL else detail[: _LONGEST_DETAIL - 3] + "..."


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"cannot encode {type(value).__name__}")
