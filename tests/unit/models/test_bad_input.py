"""Every kind of bad input is rejected with its reason code and a detail that names the
offending field as the sender spelled it."""

from datetime import timedelta
from typing import Any

import pytest

from models import ParseLimits, Rejection, RejectReason
from models import parse as parse_module
from tests.unit.models.factories import NOW, make_canonical, parse

pytestmark = pytest.mark.unit


def segment_order(**properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": "ajs-1",
        "timestamp": "2026-11-20T11:58:00Z",
        "anonymousId": "anon-1",
        "properties": {"order_id": "ORD-1", "revenue": 25, "currency": "EUR"} | properties,
    }


def only_rejection(message: dict[str, Any] | bytes, **limits: Any) -> Rejection:
    outcome = parse(message, **limits)
    assert outcome.events == []
    [rejection] = outcome.rejections
    return rejection


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"", b'{"a": 1', b"NaN"])
def test_not_json(raw: bytes) -> None:
    rejection = only_rejection(raw)

    assert rejection.reason is RejectReason.NOT_JSON
    assert rejection.detail.startswith("message: ")


@pytest.mark.parametrize(
    ("raw", "got"),
    [(b"[1, 2]", "array"), (b'"page_view"', "string"), (b"null", "null"), (b"7", "number")],
)
def test_not_object(raw: bytes, got: str) -> None:
    rejection = only_rejection(raw)

    assert rejection.reason is RejectReason.NOT_OBJECT
    assert rejection.detail == f"message: must be a JSON object, got {got}"


def test_too_large_is_decided_before_decoding() -> None:
    # Not even JSON: a size check after decoding would report not_json.
    rejection = only_rejection(b"{" * 140_000)

    assert rejection.reason is RejectReason.TOO_LARGE
    assert rejection.detail == "message: 140000 bytes, more than max_event_bytes=133120"


def test_unknown_format() -> None:
    rejection = only_rejection({"hello": "world", "time": "2026-11-20T11:00:00Z"})

    assert rejection.reason is RejectReason.UNKNOWN_FORMAT
    assert rejection.detail.startswith("message: not Segment")


def test_unknown_type() -> None:
    rejection = only_rejection(make_canonical("page_view", type="wishlist_add"))

    assert rejection.reason is RejectReason.UNKNOWN_TYPE
    assert rejection.detail == "type: 'wishlist_add' is not a canonical event type"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (segment_order() | {"messageId": None}, "messageId"),
        ({k: v for k, v in segment_order().items() if k != "timestamp"}, "timestamp"),
        (segment_order(revenue=None), "properties.revenue"),
        (segment_order(products=[{"price": 5}]), "properties.products[0].product_id"),
        (make_canonical("order_completed", order_id=None), "order_id"),
        (make_canonical("checkout_step", step=None), "step"),
        ({"client_id": "c.1", "events": [{"params": {}}]}, "events[0].name"),
        ({"event_name": "page_view", "user_pseudo_id": "p.1"}, "event_timestamp"),
    ],
)
def test_missing_field(message: dict[str, Any], field: str) -> None:
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.MISSING_FIELD
    assert rejection.detail == f"{field}: required"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (segment_order() | {"properties": "revenue=25"}, "properties"),
        (segment_order() | {"context": ["page"]}, "context"),
        (segment_order(products={"product_id": "p"}), "properties.products"),
        (make_canonical("page_view", url=["https://shop.example.com/"]), "url"),
        (make_canonical("page_view", anonymous_id={"id": 1}), "anonymous_id"),
        (make_canonical("cart_add", quantity=[1]), "quantity"),
        ({"client_id": "c.1", "events": "page_view"}, "events"),
        (
            {"event_name": "page_view", "event_timestamp": 1.5e15, "user_pseudo_id": "p"},
            "event_timestamp",
        ),
    ],
)
def test_wrong_type(message: dict[str, Any], field: str) -> None:
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.WRONG_TYPE
    assert rejection.detail.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("message", "expected_detail"),
    [
        (segment_order(revenue=-5), "properties.revenue: must be >= 0, got -5"),
        (
            segment_order(revenue=2e9),
            "properties.revenue: must be <= 1000000000 (max_amount), got 2000000000.0",
        ),
        (
            segment_order(products=[{"product_id": "p", "quantity": 10_001}]),
            "properties.products[0].quantity: must be <= 10000 (max_quantity), got 10001",
        ),
        (make_canonical("cart_add", quantity=0), "quantity: must be >= 1, got 0"),
        (make_canonical("page_view", event_id=""), "event_id: must not be empty, got ''"),
        (make_canonical("checkout_step", step="   "), "step: must not be empty, got '   '"),
        (
            make_canonical("page_view", session_id="s" * 300),
            "session_id: must be at most 256 characters, got " + repr("s" * 300)[:77] + "...",
        ),
    ],
)
def test_invalid_value(message: dict[str, Any], expected_detail: str) -> None:
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.INVALID_VALUE
    assert rejection.detail == expected_detail


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (segment_order(shipping="lots"), "properties.shipping"),
        (make_canonical("cart_add", quantity=2.5), "quantity"),
        (make_canonical("order_refunded", amount="NaN"), "amount"),
        (make_canonical("order_refunded", amount="Infinity"), "amount"),
        (make_canonical("page_view", timestamp="2026-11-20T11:00:00"), "timestamp"),
        (make_canonical("page_view", timestamp="yesterday"), "timestamp"),
        (
            {"event_name": "page_view", "event_timestamp": 2**62, "user_pseudo_id": "p"},
            "event_timestamp",
        ),
    ],
)
def test_invalid_value_worded_by_the_validator_still_names_the_field(
    message: dict[str, Any], field: str
) -> None:
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.INVALID_VALUE
    assert rejection.detail.startswith(f"{field}: ")


def test_invalid_value_in_a_ga4_cart_item_names_the_item() -> None:
    message = {
        "client_id": "c.1",
        "timestamp_micros": int((NOW - timedelta(minutes=1)).timestamp() * 1_000_000),
        "events": [
            {"name": "add_to_cart", "params": {"items": [{"item_id": "sku-1", "quantity": 50_000}]}}
        ],
    }
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.INVALID_VALUE
    assert (
        rejection.detail
        == "events[0].params.items[0].quantity: must be <= 10000 (max_quantity), got 50000"
    )


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (segment_order(currency="XYZ"), "properties.currency"),
        (segment_order(currency="euro"), "properties.currency"),
        (make_canonical("order_refunded", currency="XXX"), "currency"),
        (make_canonical("cart_add", currency="BTC"), "currency"),
    ],
)
def test_unknown_currency(message: dict[str, Any], field: str) -> None:
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.UNKNOWN_CURRENCY
    assert rejection.detail.startswith(f"{field}: not an active ISO 4217 currency code, got ")


def test_future_timestamp() -> None:
    rejection = only_rejection(segment_order() | {"timestamp": "2026-11-20T12:06:00Z"})

    assert rejection.reason is RejectReason.FUTURE_TIMESTAMP
    assert rejection.detail == (
        "timestamp: 2026-11-20T12:06:00+00:00 is more than future_skew=0:05:00 ahead of "
        "2026-11-20T12:00:00+00:00"
    )


def test_too_old() -> None:
    rejection = only_rejection(
        {"event_name": "page_view", "event_timestamp": 1_700_000_000_000_000, "user_pseudo_id": "p"}
    )

    assert rejection.reason is RejectReason.TOO_OLD
    assert rejection.detail.startswith(
        "event_timestamp: 2023-11-14T22:13:20+00:00 is more than replay_horizon=7 days"
    )


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        (segment_order() | {"anonymousId": None}, "anonymousId or userId"),
        (make_canonical("page_view", anonymous_id=None, user_id=None), "anonymous_id or user_id"),
        (
            {"client_id": None, "app_instance_id": "x", "events": [{"name": "page_view"}]}
            | {"app_instance_id": None},
            "client_id or user_id",
        ),
    ],
)
def test_missing_user_key(message: dict[str, Any], fields: str) -> None:
    rejection = only_rejection(message)

    assert rejection.reason is RejectReason.MISSING_USER_KEY
    assert rejection.detail == f"{fields}: at least one is required"


def test_a_parser_bug_is_a_rejection_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes, now: object, limits: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(parse_module, "parse_fast", broken)
    rejection = only_rejection(make_canonical("page_view"))

    assert rejection.reason is RejectReason.PARSER_ERROR
    assert rejection.detail == "message: KeyError: 'surprise'"


def test_custom_limits_apply() -> None:
    rejection = only_rejection(segment_order(revenue=150), max_amount=100)

    assert rejection.reason is RejectReason.INVALID_VALUE
    assert rejection.detail == "properties.revenue: must be <= 100 (max_amount), got 150"


def test_rejection_details_are_bounded() -> None:
    rejection = only_rejection(make_canonical("page_view", timestamp="x" * 20_000))

    assert len(rejection.detail) <= 300


def test_every_reason_code_is_a_stable_string() -> None:
    assert {reason.value for reason in RejectReason} == {
        "not_json",
        "not_object",
        "too_large",
        "unknown_format",
        "unknown_type",
        "missing_field",
        "wrong_type",
        "invalid_value",
        "unknown_currency",
        "future_timestamp",
        "too_old",
        "missing_user_key",
        "parser_error",
    }
    # A full Measurement Protocol request: "The post body must be smaller than 130kB"
    # (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events).
    assert ParseLimits().max_event_bytes == 130 * 1024
