"""GA4 events, from the BigQuery export and the Measurement Protocol, mapped to canonical
events."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models import Channel, Device, RejectReason
from tests.unit.models.factories import NOW, fixture_lines, parse

pytestmark = pytest.mark.unit

TEN_TO_NOON_MICROS = int(datetime(2026, 11, 20, 11, 50, tzinfo=UTC).timestamp() * 1_000_000)


def measurement_protocol(*events: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "client_id": "1234567890.1763630000",
        "timestamp_micros": TEN_TO_NOON_MICROS,
        "events": list(events),
        **fields,
    }


def export_row(event_name: str, params: Any, **fields: Any) -> dict[str, Any]:
    return {
        "event_name": event_name,
        "event_timestamp": TEN_TO_NOON_MICROS,
        "user_pseudo_id": "1456789012.1762000000",
        "event_params": params,
        **fields,
    }


def test_export_row_with_bigquery_params_list() -> None:
    [line] = [line for line in fixture_lines("ga4.jsonl") if b"collections/jackets" in line]
    [event] = parse(line).events

    assert event.type == "page_view"
    assert event.timestamp == datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
    assert event.anonymous_id == "1456789012.1762000000"
    assert event.session_id == "1456789012.1762000000.1763639000"
    assert event.url == "https://shop.example.com/collections/jackets"
    assert event.device is Device.MOBILE
    # The row's traffic_source (first-touch organic bing) stands in for the missing
    # collected_traffic_source.
    assert (event.utm_source, event.utm_medium) == ("bing", "organic")
    assert event.channel is Channel.ORGANIC_SEARCH


def test_export_purchase_reads_params_and_the_ecommerce_record() -> None:
    [line] = [line for line in fixture_lines("ga4.jsonl") if b'"T-20261120-0043"' in line]
    [order] = parse(line).events

    assert (order.order_id, order.revenue, order.currency) == (
        "T-20261120-0043",
        Decimal("59.0"),
        "USD",
    )
    assert (order.shipping, order.tax) == (Decimal("5.0"), Decimal("4.72"))
    assert [(item.product_id, item.price, item.quantity) for item in order.items] == [
        ("sku-4004", Decimal("29.5"), 2)
    ]
    assert order.user_id == "user-8080"


def test_export_row_with_flat_params_object() -> None:
    row = export_row("refund", {"transaction_id": "T-1", "currency": "GBP", "value": 35})
    [refund] = parse(row).events

    assert (refund.type, refund.order_id, refund.amount, refund.currency) == (
        "order_refunded",
        "T-1",
        Decimal(35),
        "GBP",
    )


def test_measurement_protocol_batch_yields_one_event_per_event() -> None:
    batch = measurement_protocol(
        {"name": "page_view", "params": {"page_location": "https://shop.example.com/"}},
        {"name": "view_item", "params": {"items": [{"item_id": "sku-1"}]}},
        {"name": "add_shipping_info", "params": {"shipping_tier": "Ground"}},
        {"name": "add_payment_info", "params": {"payment_type": "Credit Card"}},
    )
    events = parse(batch).events

    assert [event.type for event in events] == [
        "page_view",
        "product_view",
        "checkout_step",
        "checkout_step",
    ]
    assert [getattr(event, "step", None) for event in events[2:]] == ["shipping", "payment"]
    assert events[1].product_id == "sku-1"
    assert len({event.event_id for event in events}) == 4


def test_batch_keeps_good_events_and_rejects_bad_ones() -> None:
    batch = measurement_protocol(
        {"name": "page_view"},
        {"name": "session_start"},
        {"name": "purchase", "params": {"transaction_id": "T-9", "value": -1, "currency": "EUR"}},
        {"name": "sign_up"},
    )
    outcome = parse(batch)

    assert [event.type for event in outcome.events] == ["page_view", "signup"]
    assert [
        (rejection.reason, rejection.detail.split(":")[0]) for rejection in outcome.rejections
    ] == [
        (RejectReason.UNKNOWN_TYPE, "events[1].name"),
        (RejectReason.INVALID_VALUE, "events[2].params.value"),
    ]


def test_event_id_param_is_the_event_id() -> None:
    [event] = parse(
        measurement_protocol({"name": "page_view", "params": {"event_id": "gtm-4242"}})
    ).events

    assert event.event_id == "gtm-4242"


def test_without_event_id_identical_payloads_get_identical_ids() -> None:
    batch = measurement_protocol({"name": "page_view"}, {"name": "page_view"})
    first, second = parse(batch).events
    [retried_first, _] = parse(orjson.dumps(batch)).events
    other = parse(
        measurement_protocol(
            {"name": "page_view", "params": {"page_location": "https://x.example/"}}
        )
    )

    assert first.event_id == retried_first.event_id
    assert first.event_id != second.event_id
    assert first.event_id != other.events[0].event_id
    assert first.event_id.startswith("ga4-")


def test_add_to_cart_with_two_items_is_two_cart_events() -> None:
    [line] = [line for line in fixture_lines("ga4.jsonl") if b'"add_to_cart"' in line]
    shoe, socks = parse(line).events

    assert (shoe.product_id, shoe.price, shoe.quantity, shoe.currency) == (
        "sku-1001",
        Decimal("89.9"),
        1,
        "EUR",
    )
    assert (socks.product_id, socks.quantity) == ("sku-2002", 2)
    assert socks.event_id == f"{shoe.event_id}:1"


def test_session_id_is_scoped_to_the_client() -> None:
    [event] = parse(
        measurement_protocol({"name": "page_view", "params": {"session_id": "1763636000"}})
    ).events

    assert event.session_id == "1234567890.1763630000.1763636000"


def test_event_level_timestamp_wins_and_missing_timestamp_means_now() -> None:
    dated = {"name": "page_view", "timestamp_micros": TEN_TO_NOON_MICROS - 60_000_000}
    [event] = parse(measurement_protocol(dated)).events
    [undated] = parse(measurement_protocol({"name": "page_view"}, timestamp_micros=None)).events

    assert event.timestamp == datetime(2026, 11, 20, 11, 49, tzinfo=UTC)
    assert undated.timestamp == NOW


def test_paid_social_landing_from_facebook_ads() -> None:
    [line] = [line for line in fixture_lines("ga4.jsonl") if b"utm_medium=paid_social" in line]

    assert parse(line).events[0].channel is Channel.PAID_SOCIAL


def test_custom_events_for_newsletter_and_payment_failures() -> None:
    batch = measurement_protocol(
        {"name": "newsletter_signup"},
        {"name": "payment_failed", "params": {"payment_type": "Klarna", "reason": "timeout"}},
    )
    signup, failure = parse(batch).events

    assert signup.type == "newsletter_signup"
    assert (failure.payment_method, failure.reason) == ("klarna", "timeout")


def test_automatic_ga4_events_are_unknown_types() -> None:
    [rejection] = parse(export_row("user_engagement", [])).rejections

    assert rejection.reason is RejectReason.UNKNOWN_TYPE
    assert rejection.detail == "event_name: 'user_engagement' is not a mapped GA4 event"


def test_cart_event_without_items_is_missing_its_product() -> None:
    [rejection] = parse(
        measurement_protocol({"name": "add_to_cart", "params": {"currency": "EUR"}})
    ).rejections

    assert rejection.reason is RejectReason.MISSING_FIELD
    assert rejection.detail.startswith("events[0].params.items:")
