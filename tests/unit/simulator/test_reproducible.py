"""The generator's contract: reproducible, event-time ordered, well-formed envelopes."""

from datetime import timedelta

import pytest

from models.streams import STREAM_OF_TYPE
from simulator import ShopSimulator
from simulator.catalog import CURRENCY
from tests.unit.simulator.fixtures import START, simulate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("shape", ["kpiwatch", "spec"])
@pytest.mark.parametrize("message_format", ["canonical", "segment", "ga4", "mixed"])
def test_the_same_seed_gives_the_same_messages_byte_for_byte(message_format, shape):
    simulator = ShopSimulator(seed=7, message_format=message_format, shape=shape)
    first = list(simulator.generate(START, timedelta(minutes=5), 20))
    again = list(
        ShopSimulator(seed=7, message_format=message_format, shape=shape).generate(
            START, timedelta(minutes=5), 20
        )
    )
    assert len(first) > 1000
    assert first == again


def test_another_seed_gives_other_traffic():
    one = [
        message.value for message in ShopSimulator(seed=1).generate(START, timedelta(minutes=5), 20)
    ]
    two = [
        message.value for message in ShopSimulator(seed=2).generate(START, timedelta(minutes=5), 20)
    ]
    assert one != two
    assert not set(one) & set(two)


def test_runs_that_differ_share_no_ids_but_the_same_seed_shares_visitors():
    first = simulate(minutes=10)
    later = list(ShopSimulator().labelled(START + timedelta(hours=1), timedelta(minutes=10), 20))
    ids = lambda run, name: {getattr(labelled.event, name) for labelled in run} - {None}  # noqa: E731
    for name in ("event_id", "session_id", "cart_id"):
        assert not ids(first, name) & ids(later, name), name
    first_orders = {m.event.fields["order_id"] for m in first if m.event.type == "order_completed"}
    later_orders = {m.event.fields["order_id"] for m in later if m.event.type == "order_completed"}
    assert first_orders and not first_orders & later_orders
    # Known visitors come from the seed alone: the shop's regulars return in every run.
    assert ids(first, "anonymous_id") & ids(later, "anonymous_id")


def test_messages_come_in_event_time_order_within_the_run():
    run = simulate(minutes=10)
    times = [labelled.message.event_time for labelled in run]
    assert times == sorted(times)
    assert times[0] >= START
    assert times[-1] < START + timedelta(minutes=10)
    assert all(moment.utcoffset() == timedelta(0) for moment in times)


def test_sessions_interleave():
    run = simulate(minutes=10)
    switches = sum(
        a.event.session_id != b.event.session_id for a, b in zip(run, run[1:], strict=False)
    )
    assert switches > len(run) * 0.8


def test_envelope_routes_by_type_and_keys_by_anonymous_id():
    for labelled in simulate(minutes=10, message_format="mixed"):
        event, message = labelled.event, labelled.message
        assert message.stream == STREAM_OF_TYPE[event.type]
        assert message.key == event.anonymous_id.encode()
        assert message.event_time == event.event_time


def test_every_event_carries_the_ids_its_type_needs():
    run = simulate(minutes=10)
    assert len({labelled.event.event_id for labelled in run}) == len(run)
    for labelled in run:
        event = labelled.event
        assert event.anonymous_id
        if event.type != "order_refunded":
            assert event.session_id
        if event.stream != "clickstream" and event.type != "order_refunded":
            assert event.cart_id, event.type
        if event.type == "order_completed":
            fields = event.fields
            assert fields["currency"] == CURRENCY
            assert fields["payment_method"] in ("card", "paypal", "apple_pay", "klarna")
            assert fields["revenue"] == sum(
                item["price"] * item["quantity"] for item in fields["items"]
            )
            assert fields["revenue"] > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"rate_per_second": 0}, "rate_per_second"),
        ({"duration": timedelta(seconds=-1)}, "duration"),
        ({"start": START.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_bad_arguments_are_refused(arguments, message):
    call = {"start": START, "duration": timedelta(minutes=1), "rate_per_second": 20} | arguments
    with pytest.raises(ValueError, match=message):
        next(ShopSimulator().generate(**call))


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="canonical, segment, ga4, mixed"):
        ShopSimulator(message_format="protobuf")


def test_an_unknown_shape_is_refused():
    with pytest.raises(ValueError, match="kpiwatch, spec"):
        ShopSimulator(shape="real")
