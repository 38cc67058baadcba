"""GA4 events, from the BigQuery export and the Measurement Protocol, mapped to canonical
events."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models import Channel, Device, RejectReason, ga4
from models.ga4 import EVENT_TYPES, IGNORED_EVENTS
from models.mapped import Ignored, Received
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
    # The row's traffic_source (the user's first-ever acquisition) is never read, and its
    # collected_traffic_source is null: no tags, the channel comes from the bing referrer.
    assert (event.utm_source, event.utm_medium, event.utm_campaign) == (None, None, None)
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
    assert [getattr(event, "payment_method", None) for event in events[2:]] == [
        None,
        "credit card",
    ]
    assert events[1].product_id == "sku-1"
    assert len({event.event_id for event in events}) == 4


def test_batch_keeps_good_events_and_rejects_bad_ones() -> None:
    batch = measurement_protocol(
        {"name": "page_view"},
        {"name": "session_start"},
        {"name": "purchase", "params": {"transaction_id": "T-9", "value": -1, "currency": "EUR"}},
        {"name": 7},
        {"name": "sign_up"},
    )
    outcome = parse(batch)

    assert [event.type for event in outcome.events] == ["page_view", "signup"]
    assert [
        (rejection.reason, rejection.detail.split(":")[0]) for rejection in outcome.rejections
    ] == [
        (RejectReason.INVALID_VALUE, "events[2].params.value"),
        (RejectReason.WRONG_TYPE, "events[3].name"),
    ]
    assert outcome.ignored == [Ignored("session_start", None, "1234567890.1763630000")]


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


def test_events_without_a_kpi_input_are_ignored_not_rejected() -> None:
    # Automatic (https://support.google.com/analytics/answer/9234069), enhanced measurement
    # (https://support.google.com/analytics/answer/9216061) and recommended events
    # (https://developers.google.com/analytics/devguides/collection/ga4/reference/events)
    # under their own name; any other name, however unusual, as "other".
    for name in ("user_engagement", "first_visit", "scroll", "view_item_list", "login"):
        outcome = parse(export_row(name, [], user_id="user-8080"))
        assert (outcome.events, outcome.rejections) == ([], [])
        assert outcome.ignored == [Ignored(name, "user-8080", "1456789012.1762000000")]
    for name in ("my_custom_event", "Session_Start", ""):
        assert parse(export_row(name, [])).ignored == [
            Ignored("other", None, "1456789012.1762000000")
        ]
    assert {"session_start", "video_progress", "select_promotion"} <= IGNORED_EVENTS
    assert not IGNORED_EVENTS & set(EVENT_TYPES)


def test_only_an_event_without_a_string_name_is_invalid() -> None:
    [missing] = parse(export_row("x", []) | {"event_name": None}).rejections
    [wrong] = parse(measurement_protocol({"name": ["page_view"]})).rejections

    assert (missing.reason, missing.detail) == (RejectReason.MISSING_FIELD, "event_name: required")
    assert (wrong.reason, wrong.detail) == (
        RejectReason.WRONG_TYPE,
        "events[0].name: must be a string, got array",
    )


def test_ignored_events_of_a_batch_keep_their_place_among_the_others() -> None:
    # Google's multi-event example: tutorial_begin and join_group in one request
    # (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events).
    batch = measurement_protocol(
        {"name": "tutorial_begin", "params": {"session_id": "123", "engagement_time_msec": 100}},
        {"name": "page_view"},
        {"name": "join_group", "params": {"group_id": "G_12345"}},
        user_id="user-42",
    )
    mapped = ga4.map_message(batch, Received(orjson.dumps(batch), NOW))

    assert [type(result).__name__ for result in mapped] == ["Ignored", "MappedEvent", "Ignored"]
    assert mapped[0] == Ignored("tutorial_begin", "user-42", "1234567890.1763630000")
    assert mapped[2] == Ignored("join_group", "user-42", "1234567890.1763630000")
    assert parse(batch).ignored == [mapped[0], mapped[2]]


def test_cart_event_without_items_is_missing_its_product() -> None:
    [rejection] = parse(
        measurement_protocol({"name": "add_to_cart", "params": {"currency": "EUR"}})
    ).rejections

    assert rejection.reason is RejectReason.MISSING_FIELD
    assert rejection.detail.startswith("events[0].params.items:")


# The BigQuery export schema: https://support.google.com/analytics/answer/7029846; the scope
# of its traffic-source records: https://developers.google.com/analytics/bigquery/traffic-attribution-data
MID_SESSION_PURCHASE = export_row(
    "purchase",
    [
        {"key": "transaction_id", "value": {"string_value": "T-77"}},
        {"key": "value", "value": {"double_value": 120.0}},
        {"key": "currency", "value": {"string_value": "EUR"}},
        {"key": "ga_session_id", "value": {"int_value": "1763639000"}},
        {"key": "page_location", "value": {"string_value": "https://shop.example.com/checkout"}},
        {"key": "page_referrer", "value": {"string_value": "https://shop.example.com/cart"}},
    ],
    event_bundle_sequence_id="1794",
    batch_event_index="3",
    traffic_source={"name": "(organic)", "medium": "organic", "source": "google"},
    collected_traffic_source={"manual_source": None, "manual_medium": None},
    session_traffic_source_last_click={
        "manual_campaign": {
            "campaign_id": None,
            "campaign_name": "black_friday",
            "source": "newsletter",
            "medium": "email",
            "term": None,
            "content": None,
        },
        "cross_channel_campaign": {
            "campaign_name": "black_friday",
            "source": "newsletter",
            "medium": "email",
            "default_channel_group": "Email",
        },
    },
)


def test_a_mid_session_export_row_takes_the_sessions_last_click_campaign() -> None:
    [order] = parse(MID_SESSION_PURCHASE).events

    assert (order.utm_source, order.utm_medium, order.utm_campaign) == (
        "newsletter",
        "email",
        "black_friday",
    )
    assert order.channel is Channel.EMAIL


def test_the_events_own_collected_tags_win_as_a_whole() -> None:
    row = MID_SESSION_PURCHASE | {"collected_traffic_source": {"manual_source": "facebook"}}
    [order] = parse(row).events

    # Not ("facebook", "email", "black_friday"): tags of two records never mix.
    assert (order.utm_source, order.utm_medium, order.utm_campaign) == ("facebook", None, None)
    assert order.channel is Channel.ORGANIC_SOCIAL


def test_cross_channel_campaign_stands_in_for_an_empty_manual_campaign() -> None:
    last_click = {
        "manual_campaign": {"source": None, "medium": "", "campaign_name": None},
        "cross_channel_campaign": {"source": "google", "medium": "cpc", "campaign_name": "brand"},
    }
    [order] = parse(MID_SESSION_PURCHASE | {"session_traffic_source_last_click": last_click}).events

    assert (order.utm_source, order.utm_medium, order.utm_campaign) == ("google", "cpc", "brand")
    assert order.channel is Channel.PAID_SEARCH


def test_without_any_tags_the_landing_url_and_referrer_decide_never_traffic_source() -> None:
    row = export_row(
        "page_view",
        {
            "page_location": "https://shop.example.com/?utm_source=fb&utm_medium=paid_social",
            "page_referrer": "https://l.facebook.com/",
        },
        traffic_source={"name": "(organic)", "medium": "organic", "source": "google"},
    )
    [landing] = parse(row).events
    [referred] = parse(
        export_row(
            "page_view",
            {"page_referrer": "https://www.bing.com/"},
            traffic_source={"name": "summer", "medium": "cpc", "source": "google"},
        )
    ).events

    assert (landing.utm_source, landing.utm_medium, landing.channel) == (
        "fb",
        "paid_social",
        Channel.PAID_SOCIAL,
    )
    assert (referred.utm_source, referred.channel) == (None, Channel.ORGANIC_SEARCH)


def test_a_malformed_last_click_record_is_judged_only_when_read() -> None:
    broken = {"session_traffic_source_last_click": {"manual_campaign": "email"}}
    [rejection] = parse(export_row("page_view", [], **broken)).rejections
    tagged = export_row("page_view", [], collected_traffic_source={"manual_source": "x"})

    assert (rejection.reason, rejection.detail) == (
        RejectReason.WRONG_TYPE,
        "session_traffic_source_last_click.manual_campaign: must be an object, got string",
    )
    assert len(parse(tagged | broken).events) == 1


def test_intraday_and_daily_rows_of_one_event_get_one_id() -> None:
    # The intraday row lacks the attribution the daily row has, and writes INT64 columns
    # as numbers where the daily JSON writes strings: the rows differ, the event does not.
    daily = MID_SESSION_PURCHASE | {"event_date": "20261120", "event_server_timestamp_offset": 1}
    intraday = {
        key: value
        for key, value in MID_SESSION_PURCHASE.items()
        if key not in ("session_traffic_source_last_click", "traffic_source")
    } | {
        "event_timestamp": str(TEN_TO_NOON_MICROS),
        "event_bundle_sequence_id": 1794,
        "batch_event_index": 3,
    }
    [daily_order] = parse(daily).events
    [intraday_order] = parse(intraday).events

    assert daily_order.event_id == intraday_order.event_id
    assert daily_order.event_id.startswith("ga4-bq-")
    assert daily_order.channel != intraday_order.channel


def test_export_ids_tell_apart_what_tells_events_apart() -> None:
    def event_id(**changes: Any) -> str:
        return parse(MID_SESSION_PURCHASE | changes).events[0].event_id

    same = event_id()
    assert len({
        same,
        event_id(batch_event_index=4),
        event_id(batch_event_index=None),
        event_id(event_bundle_sequence_id="1795"),
        event_id(event_timestamp=TEN_TO_NOON_MICROS + 1),
        event_id(user_pseudo_id="2233445566.1761000000"),
        event_id(event_name="refund"),
    }) == 7
    assert event_id(user_id="user-1", geo={"country": "Germany"}) == same
    assert event_id(event_params=[{"key": "event_id", "value": {"string_value": "e-1"}}] + [
        {"key": "transaction_id", "value": {"string_value": "T-77"}},
        {"key": "value", "value": {"int_value": 120}},
    ]) == "e-1"


def test_export_rows_without_a_bundle_id_are_keyed_by_their_bytes() -> None:
    row = export_row("page_view", [])
    [first] = parse(row).events
    [retried] = parse(orjson.dumps(row)).events
    [other] = parse(row | {"event_date": "20261120"}).events

    assert first.event_id == retried.event_id
    assert first.event_id != other.event_id
    assert first.event_id.startswith("ga4-") and not first.event_id.startswith("ga4-bq-")


def test_a_bundle_id_that_is_not_an_integer_is_a_wrong_type() -> None:
    [rejection] = parse(MID_SESSION_PURCHASE | {"event_bundle_sequence_id": "17e3"}).rejections

    assert (rejection.reason, rejection.detail) == (
        RejectReason.WRONG_TYPE,
        "event_bundle_sequence_id: must be an integer, got '17e3'",
    )


def test_timestamps_are_ascii_digits_only() -> None:
    # str.isdigit() passes "²", which int() refuses: this was a parser_error.
    [rejection] = parse(export_row("page_view", [], event_timestamp="²")).rejections

    assert rejection.reason is RejectReason.WRONG_TYPE


def test_add_payment_info_carries_the_payment_type() -> None:
    # Shaped as https://developers.google.com/analytics/devguides/collection/ga4/reference/events
    # shows add_payment_info.
    payment_info = {
        "name": "add_payment_info",
        "params": {
            "currency": "USD",
            "value": 30.03,
            "coupon": "SUMMER_FUN",
            "payment_type": "Credit Card",
            "items": [
                {
                    "item_id": "SKU_12345",
                    "item_name": "Stan and Friends Tee",
                    "price": 10.01,
                    "quantity": 3,
                }
            ],
        },
    }
    [step] = parse(measurement_protocol(payment_info)).events
    [without] = parse(measurement_protocol({"name": "add_payment_info"})).events

    assert (step.type, step.step, step.payment_method) == ("checkout_step", "payment", "credit card")
    assert (without.step, without.payment_method) == ("payment", None)


def test_a_refund_without_value_is_a_full_refund() -> None:
    # The refund event requires only transaction_id
    # (https://developers.google.com/analytics/devguides/collection/ga4/reference/events#refund).
    [full] = parse(measurement_protocol({"name": "refund", "params": {"transaction_id": "T_12345"}})).events
    [row] = parse(export_row("refund", [{"key": "transaction_id", "value": {"string_value": "T-9"}}])).events

    assert (full.type, full.order_id, full.amount, full.currency) == (
        "order_refunded",
        "T_12345",
        None,
        None,
    )
    assert (row.order_id, row.amount) == ("T-9", None)


def test_a_purchase_without_currency_keeps_currency_none() -> None:
    purchase = {"name": "purchase", "params": {"transaction_id": "T_12345", "value": 30.03}}
    outcome = parse(measurement_protocol(purchase))

    assert outcome.rejections == []
    [order] = outcome.events
    assert (order.revenue, order.currency) == (Decimal("30.03"), None)


def test_a_full_measurement_protocol_request_fits_the_default_limits() -> None:
    # "Requests can have a maximum of 25 events", "The post body must be smaller than
    # 130kB" (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events).
    page = {"name": "page_view", "params": {"page_location": "https://shop.example.com/" + "p" * 4800}}
    batch = measurement_protocol(*[page] * 25)
    raw = orjson.dumps(batch)

    assert 120_000 < len(raw) < 130_000
    assert len(parse(raw).events) == 25


def test_more_than_25_events_are_all_mapped() -> None:
    batch = measurement_protocol(*[{"name": "page_view"}] * 30)

    assert len(parse(batch).events) == 30
