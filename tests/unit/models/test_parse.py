"""parse_message on good input: formats recognised, fields mapped, edge fields derived."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from models import (
    CANONICAL_TYPES,
    Channel,
    Device,
    OrderCompleted,
    PageView,
    ParseLimits,
    RejectReason,
    parse_message,
)
from models.currencies import ISO_4217_CODES
from models.fields import LABEL_CAP, URL_CAP, USER_AGENT_CAP
from tests.unit.models.factories import NOW, fixture_lines, make_canonical, parse

pytestmark = pytest.mark.unit

ALL_FIXTURE_LINES = [
    pytest.param(line, id=f"{name}:{number}")
    for name in ("segment.jsonl", "ga4.jsonl", "canonical.jsonl")
    for number, line in enumerate(fixture_lines(name), start=1)
]


@pytest.mark.parametrize("line", ALL_FIXTURE_LINES)
def test_every_fixture_line_parses_without_rejections(line: bytes) -> None:
    outcome = parse_message(line, now=NOW, limits=ParseLimits())

    assert outcome.rejections == []
    assert outcome.events


def test_fixtures_cover_every_canonical_type_in_every_shape() -> None:
    # GA4 has no event for a cancelled or updated order.
    without_in_ga4 = {"order_cancelled", "order_updated"}
    for name in ("segment.jsonl", "ga4.jsonl", "canonical.jsonl"):
        types = {event.type for line in fixture_lines(name) for event in parse(line).events}
        expected = CANONICAL_TYPES - without_in_ga4 if name == "ga4.jsonl" else CANONICAL_TYPES
        assert types == expected, name


@pytest.mark.parametrize("event_type", sorted(CANONICAL_TYPES))
def test_canonical_message_of_each_type_parses_to_its_model(event_type: str) -> None:
    outcome = parse(make_canonical(event_type))

    assert outcome.rejections == []
    [event] = outcome.events
    assert event.type == event_type
    assert event.event_id == f"evt-{event_type}-0001"


def test_timestamp_with_an_offset_is_stored_in_utc() -> None:
    [event] = parse(make_canonical("page_view", timestamp="2026-11-20T12:30:00+01:00")).events

    assert event.timestamp == datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
    assert event.timestamp.utcoffset() == timedelta(0)


def test_user_key_is_the_anonymous_id_when_present_else_the_user_id() -> None:
    [both] = parse(make_canonical("page_view", anonymous_id="anon-1", user_id="user-1")).events
    [user_only] = parse(make_canonical("page_view", anonymous_id=None, user_id="user-1")).events

    assert both.user_key == "anon-1"
    assert user_only.user_key == "user-1"


def test_order_amounts_are_decimals_and_currency_is_uppercased() -> None:
    message = make_canonical("order_completed", revenue=179.8, currency="eur")
    [order] = parse(message).events

    assert isinstance(order, OrderCompleted)
    assert order.revenue == Decimal("179.8")
    assert order.currency == "EUR"
    assert order.items[0].price == Decimal("89.90")


def test_payment_method_is_kept_raw_but_lowercased_and_capped() -> None:
    [failure] = parse(
        make_canonical("payment_failed", payment_method="  Apple Pay " + "x" * 100)
    ).events

    assert failure.payment_method.startswith("apple pay x")
    assert len(failure.payment_method) == LABEL_CAP


def test_long_url_and_user_agent_are_truncated_not_rejected() -> None:
    long_url = "https://shop.example.com/search?q=" + "a" * 5000
    [event] = parse(
        make_canonical("page_view", url=long_url, user_agent="Mozilla/5.0 " + "b" * 2000)
    ).events

    assert event.url == long_url[:URL_CAP]
    assert len(event.user_agent) == USER_AGENT_CAP


def test_campaign_tags_left_in_the_landing_url_are_read() -> None:
    url = "https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand"
    [event] = parse(make_canonical("page_view", url=url, referrer=None)).events

    assert (event.utm_source, event.utm_medium, event.utm_campaign) == ("google", "cpc", "brand")
    assert event.channel is Channel.PAID_SEARCH


def test_channel_device_and_bot_flag_sent_by_the_producer_are_rederived() -> None:
    message = make_canonical(
        "page_view", channel="paid_search", is_bot=True, device="tablet", referrer=None
    )
    [event] = parse(message).events

    assert event.channel is Channel.DIRECT
    assert event.is_bot is False
    assert event.device is Device.TABLET


def test_bots_are_tagged_not_rejected() -> None:
    user_agent = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
    outcome = parse(make_canonical("page_view", user_agent=user_agent))

    assert outcome.rejections == []
    assert outcome.events[0].is_bot is True


def test_events_at_the_edges_of_the_allowed_window_are_accepted() -> None:
    limits = ParseLimits()
    newest = NOW + limits.future_skew
    oldest = NOW - limits.replay_horizon

    for moment in (newest, oldest):
        outcome = parse(make_canonical("page_view", timestamp=moment.isoformat()))
        assert outcome.rejections == [], moment


def test_limits_are_configurable() -> None:
    message = make_canonical("cart_add", quantity=20)

    assert parse(message).events
    assert parse(message, max_quantity=10).rejections[0].reason is RejectReason.INVALID_VALUE


def test_naive_now_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_message(b"{}", now=datetime(2026, 11, 20, 12, 0), limits=ParseLimits())


def test_models_are_frozen() -> None:
    [event] = parse(make_canonical("page_view")).events

    assert isinstance(event, PageView)
    with pytest.raises(ValueError):
        event.url = "https://elsewhere.example/"  # type: ignore[misc]


def test_limits_wider_than_the_calendar_accept_any_time() -> None:
    limits = {"future_skew": timedelta.max, "replay_horizon": timedelta.max}

    assert parse(make_canonical("page_view", timestamp="0001-01-01T00:00:00Z"), **limits).events
    assert parse(make_canonical("page_view", timestamp="9999-12-31T23:59:59Z"), **limits).events


def test_currency_codes_are_current_iso_4217() -> None:
    assert {"EUR", "USD", "GBP", "JPY", "CHF", "XCG", "ZWG", "SLE"} <= ISO_4217_CODES
    assert not {"XXX", "XTS", "HRK", "BGN", "ANG", "EURO", "BTC"} & ISO_4217_CODES
    assert all(len(code) == 3 and code.isascii() and code.isupper() for code in ISO_4217_CODES)
