"""Segment e-commerce spec v2 messages mapped to canonical events."""

from decimal import Decimal
from typing import Any

import pytest

from models import Channel, Device, RejectReason
from models.segment import TRACK_EVENTS
from tests.unit.models.factories import fixture_lines, parse

pytestmark = pytest.mark.unit


def segment_track(
    event: str, properties: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "track",
        "event": event,
        "messageId": "ajs-next-1763636400000-0001",
        "timestamp": "2026-11-20T11:58:00.000Z",
        "anonymousId": "a1b2c3d4",
        "properties": properties or {},
        "context": {
            "page": {
                "url": "https://shop.example.com/checkout",
                "referrer": "https://shop.example.com/cart",
            },
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.0 Safari/605.1.15",
        },
    }
    message.update(fields)
    return message


@pytest.mark.parametrize(
    ("name", "expected_type"),
    [
        ("Product Viewed", "product_view"),
        ("Products Searched", "search"),
        ("Signed Up", "signup"),
        ("Newsletter Subscribed", "newsletter_signup"),
        ("Product Added", "cart_add"),
        ("Product Removed", "cart_remove"),
        ("Checkout Started", "checkout_started"),
        ("Checkout Step Completed", "checkout_step"),
        ("Payment Info Entered", "checkout_step"),
        ("Payment Failed", "payment_failed"),
        ("Order Completed", "order_completed"),
        ("Order Refunded", "order_refunded"),
        ("Page Viewed", "page_view"),
    ],
)
def test_fixture_track_events_map_to_their_canonical_type(name: str, expected_type: str) -> None:
    assert TRACK_EVENTS[name][0] == expected_type


def test_common_fields_come_from_their_segment_places() -> None:
    [line] = [line for line in fixture_lines("segment.jsonl") if b'"Product Viewed"' in line]
    [event] = parse(line).events

    assert event.event_id == "ajs-next-1763636460000-5b7d9e21"
    assert event.anonymous_id == "a1b2c3d4-0001"
    assert event.url.startswith("https://shop.example.com/products/trail-shoe?")
    assert event.referrer == "https://www.google.com/"
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == (
        "google",
        "cpc",
        "winter_sale",
    )
    assert event.channel is Channel.PAID_SEARCH
    assert event.device is Device.DESKTOP
    assert event.product_id == "sku-1001"


def test_order_completed_carries_revenue_items_and_payment_method() -> None:
    [line] = [line for line in fixture_lines("segment.jsonl") if b'"Order Completed"' in line]
    [order] = parse(line).events

    assert order.order_id == "ORD-1001"
    assert order.revenue == Decimal("89.9")
    assert (order.shipping, order.tax, order.coupon) == (
        Decimal("4.95"),
        Decimal("16.98"),
        "WINTER10",
    )
    assert order.currency == "EUR"
    assert order.payment_method == "credit card"
    assert order.cart_id == "cart-7d1e"
    assert [(item.product_id, item.price, item.quantity) for item in order.items] == [
        ("sku-1001", Decimal("89.9"), 1)
    ]
    assert order.user_key == "a1b2c3d4-0001"


def test_order_refunded_amount_is_the_total() -> None:
    [refund] = parse(
        segment_track("Order Refunded", {"order_id": "ORD-1", "total": 30, "currency": "USD"})
    ).events

    assert (refund.order_id, refund.amount, refund.currency) == ("ORD-1", Decimal(30), "USD")


def test_checkout_step_number_becomes_the_step_name() -> None:
    [step] = parse(segment_track("Checkout Step Completed", {"step": 2})).events
    [payment] = parse(segment_track("Payment Info Entered", {"payment_method": "Visa"})).events

    assert step.step == "2"
    assert payment.step == "payment"


def test_cart_event_without_currency_is_in_us_dollars_as_facade_reads_it() -> None:
    # segmentio/facade lib/track.js: currency() is properties.currency || 'USD'.
    [added] = parse(
        segment_track("Product Added", {"product_id": "sku-1", "price": 9.5, "quantity": 3})
    ).events

    assert (added.product_id, added.price, added.quantity, added.currency) == (
        "sku-1",
        Decimal("9.5"),
        3,
        "USD",
    )


def test_numeric_user_id_is_read_as_text() -> None:
    [event] = parse(segment_track("Signed Up", userId=42, anonymousId=None)).events

    assert event.user_id == "42"
    assert event.user_key == "42"


def test_page_and_screen_calls_are_page_views() -> None:
    page = {
        "type": "page",
        "messageId": "m-1",
        "timestamp": "2026-11-20T11:00:00Z",
        "anonymousId": "a",
    }
    screen = page | {"type": "screen", "messageId": "m-2"}

    assert [event.type for event in parse(page).events + parse(screen).events] == [
        "page_view",
        "page_view",
    ]


def test_mobile_sdk_device_type_without_user_agent_is_mobile() -> None:
    [line] = [line for line in fixture_lines("segment.jsonl") if b'"screen"' in line]

    assert parse(line).events[0].device is Device.MOBILE


def test_original_timestamp_is_used_when_timestamp_is_absent() -> None:
    message = segment_track(
        "Signed Up", timestamp=None, originalTimestamp="2026-11-20T11:00:00+01:00"
    )

    assert parse(message).events[0].timestamp.hour == 10


@pytest.mark.parametrize("call_type", ["identify", "group", "alias"])
def test_calls_without_a_kpi_event_are_ignored_not_invalid(call_type: str) -> None:
    outcome = parse({"type": call_type, "messageId": "m-1", "userId": "u-1"})

    assert (outcome.events, outcome.rejections) == ([], [])
    [ignored] = outcome.ignored
    assert (ignored.kind, ignored.user_id) == (call_type, "u-1")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Coupon Applied", "coupon_applied"), ("cart_viewed", "cart_viewed"), ("Video Played", "other")],
)
def test_unmapped_track_event_is_ignored_under_a_bounded_kind(name: str, kind: str) -> None:
    outcome = parse(segment_track(name))

    assert (outcome.events, outcome.rejections) == ([], [])
    assert [ignored.kind for ignored in outcome.ignored] == [kind]


def test_an_unknown_call_type_is_still_invalid() -> None:
    [rejection] = parse({"type": "trak", "messageId": "m-1", "userId": "u-1"}).rejections

    assert rejection.reason is RejectReason.UNKNOWN_TYPE
    assert rejection.detail.startswith("type:")
