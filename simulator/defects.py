"""The malformed messages of a bad-events incident: the mistakes real trackers make, and
the rejection reason the ingestion must give each (`models.RejectReason`).

A defective message replaces the good one it was made from: a broken tracker loses the
event, it does not send it twice.
"""

import random
from enum import StrEnum
from typing import Any

import orjson

from models.rejections import RejectReason


class Defect(StrEnum):
    TRUNCATED_JSON = "truncated_json"
    MISSING_FIELD = "missing_field"
    NEGATIVE_AMOUNT = "negative_amount"
    UNKNOWN_CURRENCY = "unknown_currency"


EXPECTED_REASON: dict[Defect, RejectReason] = {
    Defect.TRUNCATED_JSON: RejectReason.NOT_JSON,
    Defect.MISSING_FIELD: RejectReason.MISSING_FIELD,
    Defect.NEGATIVE_AMOUNT: RejectReason.INVALID_VALUE,
    Defect.UNKNOWN_CURRENCY: RejectReason.UNKNOWN_CURRENCY,
}
"""The reason code `parse_message` must reject each defect with."""

MONEY_TYPES = frozenset({"cart_add", "cart_remove", "order_completed", "order_refunded"})
"""Event types that carry an amount and a currency, so can get them wrong."""

_ANY_EVENT = (Defect.TRUNCATED_JSON, Defect.MISSING_FIELD)
_MONEY_EVENT = tuple(Defect)
_AMOUNT_NAMES = ("revenue", "price", "amount", "total")
# Not ISO 4217, but what a template bug writes.
_UNKNOWN_CURRENCY = "EURO"


def choose_defect(event_type: str, rng: random.Random) -> Defect:
    return rng.choice(_MONEY_EVENT if event_type in MONEY_TYPES else _ANY_EVENT)


def corrupt(payload: dict[str, Any], defect: Defect, rng: random.Random) -> bytes:
    """The bytes of `payload` (a canonical, Segment or GA4 message) with `defect`."""
    if defect is Defect.TRUNCATED_JSON:
        whole = orjson.dumps(payload)
        return whole[: rng.randrange(1, len(whole))]
    if defect is Defect.MISSING_FIELD:
        _drop_required_field(payload)
    elif defect is Defect.NEGATIVE_AMOUNT:
        holder, name = _amount(payload)
        holder[name] = _negative(holder[name])
    else:
        _body(payload)["currency"] = _UNKNOWN_CURRENCY
    return orjson.dumps(payload)


def _body(payload: dict[str, Any]) -> dict[str, Any]:
    """Where a format keeps an event's own fields."""
    if "events" in payload:
        return _ga4_event(payload)["params"]
    if "messageId" in payload:
        return payload["properties"]
    return payload


def _drop_required_field(payload: dict[str, Any]) -> None:
    if "events" in payload:
        # GA4 falls back to the receive time without a timestamp: lose the name instead.
        del _ga4_event(payload)["name"]
    else:
        del payload["timestamp"]


def _amount(payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The object and key holding the event's main amount."""
    body = _body(payload)
    if "events" in payload:
        # GA4 cart events take the price from the item; `value` is not read for them.
        is_cart = _ga4_event(payload)["name"] in ("add_to_cart", "remove_from_cart")
        return (body["items"][0], "price") if is_cart else (body, "value")
    return body, next(name for name in _AMOUNT_NAMES if name in body)


def _ga4_event(payload: dict[str, Any]) -> dict[str, Any]:
    # The event's own is the last: the spec shape puts session_start or user_engagement
    # before it in the same request.
    event: dict[str, Any] = payload["events"][-1]
    return event


def _negative(amount: Any) -> Any:
    # Minus zero would still pass as an amount >= 0.
    if isinstance(amount, str):
        return "-" + amount if amount.strip("0.") else "-1.00"
    return -amount if amount else -1.0
