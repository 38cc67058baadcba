"""Every simulated message is accepted by the ingestion's one edge, `parse_message`, as
exactly the event the simulator meant: type, ids, time, amounts, and the channel and
device the classifier derives from tags, referrer and user agent."""

import pytest

from models import Channel, Device
from simulator.sources import SIMULATED_CHANNELS
from tests.unit.simulator.fixtures import parse_at_event_time, simulate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("message_format", ["canonical", "segment", "ga4"])
def test_every_message_parses_into_the_event_meant(message_format):
    run = simulate(message_format=message_format, minutes=20, rate=30)
    assert len(run) > 20_000
    for labelled in run:
        outcome = parse_at_event_time(labelled)
        meant = labelled.event
        assert outcome.rejections == [], (outcome.rejections, labelled.message.value)
        assert len(outcome.events) == 1
        parsed = outcome.events[0]
        assert (parsed.type, parsed.event_id, parsed.timestamp) == (
            meant.type,
            meant.event_id,
            meant.event_time,
        )
        assert (parsed.channel, parsed.device, parsed.is_bot) == (
            meant.channel,
            meant.device,
            meant.is_bot,
        )
        assert (parsed.anonymous_id, parsed.user_id) == (meant.anonymous_id, meant.user_id)
        assert parsed.session_id == _session_id_as_ingested(meant, message_format)
        assert parsed.cart_id == (None if message_format == "ga4" else meant.cart_id)
        for name, value in meant.fields.items():
            if name == "items":
                assert [(i.product_id, i.price, i.quantity) for i in parsed.items] == [
                    (i["product_id"], i["price"], i["quantity"]) for i in value
                ]
            elif name in type(parsed).model_fields:
                assert getattr(parsed, name) == value, name


def _session_id_as_ingested(event, message_format):
    # GA4 session ids are per client; the GA4 adapter prefixes the client id.
    if message_format == "ga4" and event.session_id is not None:
        return f"{event.anonymous_id}.{event.session_id}"
    return event.session_id


def test_the_mixed_format_sends_all_three_and_each_visitor_keeps_one():
    run = simulate(message_format="mixed", minutes=10)
    formats_by_visitor: dict[str, set[str]] = {}
    for labelled in run:
        formats_by_visitor.setdefault(labelled.event.anonymous_id, set()).add(
            labelled.event.message_format
        )
        assert len(parse_at_event_time(labelled).events) == 1
    assert set().union(*formats_by_visitor.values()) == {"canonical", "segment", "ga4"}
    assert all(len(formats) == 1 for formats in formats_by_visitor.values())


def test_traffic_covers_every_channel_device_and_some_bots():
    # The run of test_rates (cached): long enough that refunds (about 30 min after an
    # order) and support surveys occur whatever the draws.
    events = [labelled.event for labelled in simulate(minutes=40, rate=50)]
    assert {event.channel for event in events} == set(SIMULATED_CHANNELS)
    assert Channel.OTHER not in {event.channel for event in events}
    browsing = [event for event in events if event.type != "order_refunded" and not event.is_bot]
    assert {event.device for event in browsing} == {Device.DESKTOP, Device.MOBILE, Device.TABLET}
    assert any(event.is_bot for event in events)
    assert {event.type for event in events} >= {
        "page_view",
        "product_view",
        "search",
        "signup",
        "newsletter_signup",
        "cart_add",
        "cart_remove",
        "checkout_started",
        "checkout_step",
        "payment_failed",
        "order_completed",
        "order_refunded",
        "invite_sent",
        "survey_response",
        "feature_used",
        "demo_requested",
        "products_compared",
    }
