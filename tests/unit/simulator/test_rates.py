"""Over many sessions the simulated shop behaves like a real one: funnel, carts,
payments, channels, returning visitors, and the requested event rate."""

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from models import Channel
from simulator import ShopSimulator
from tests.unit.simulator.fixtures import START, simulate

pytestmark = pytest.mark.unit

_MINUTES, _RATE = 40, 50.0


@pytest.fixture(scope="module")
def run():
    return simulate(minutes=_MINUTES, rate=_RATE)


@pytest.fixture(scope="module")
def sessions(run):
    """Human sessions: session id -> the event types it had, with its channel."""
    types: dict[str, set[str]] = defaultdict(set)
    channel: dict[str, Channel] = {}
    for labelled in run:
        event = labelled.event
        if event.session_id is not None and not event.is_bot:
            types[event.session_id].add(event.type)
            channel[event.session_id] = event.channel
    return types, channel


def test_there_are_enough_sessions_to_judge(sessions):
    assert len(sessions[0]) >= 20_000


def test_the_funnel_narrows_at_realistic_rates(sessions):
    types, _ = sessions
    total = len(types)
    share = lambda stage: sum(stage in seen for seen in types.values()) / total  # noqa: E731
    assert 0.45 < share("product_view") < 0.65
    assert 0.05 < share("cart_add") < 0.11
    assert 0.03 < share("checkout_started") < 0.07
    assert 0.025 < share("order_completed") < 0.035


def test_conversion_by_channel_has_the_usual_order(sessions):
    types, channel = sessions
    tally: dict[Channel, list[int]] = defaultdict(lambda: [0, 0])
    for session_id, seen in types.items():
        tally[channel[session_id]][0] += "order_completed" in seen
        tally[channel[session_id]][1] += 1
    conversion = {name: orders / total for name, (orders, total) in tally.items()}
    assert (
        conversion[Channel.EMAIL] > conversion[Channel.ORGANIC_SEARCH] > conversion[Channel.DISPLAY]
    )
    assert conversion[Channel.PAID_SEARCH] > conversion[Channel.PAID_SOCIAL]


def test_most_carts_are_abandoned(run):
    carts_added = {m.event.cart_id for m in run if m.event.type == "cart_add"}
    carts_ordered = {m.event.cart_id for m in run if m.event.type == "order_completed"}
    abandonment = 1 - len(carts_ordered) / len(carts_added)
    assert 0.55 < abandonment < 0.8


def test_payments_fail_now_and_then_and_every_method_is_used(run):
    orders = Counter(
        m.event.fields["payment_method"] for m in run if m.event.type == "order_completed"
    )
    failures = Counter(
        m.event.fields["payment_method"] for m in run if m.event.type == "payment_failed"
    )
    assert set(orders) == {"card", "paypal", "apple_pay", "klarna"}
    failure_rate = sum(failures.values()) / (sum(failures.values()) + sum(orders.values()))
    assert 0.01 < failure_rate < 0.07


def test_checkout_takes_minutes(run):
    started: dict[str, datetime] = {}
    durations = []
    for labelled in run:
        event = labelled.event
        if event.type == "checkout_started":
            started.setdefault(event.cart_id, event.event_time)
        elif event.type == "order_completed" and event.cart_id in started:
            durations.append((event.event_time - started[event.cart_id]).total_seconds())
    assert 60 < statistics.median(durations) < 240
    assert statistics.quantiles(durations, n=20)[-1] < 300


def test_visitors_return_log_in_and_buy_again(run):
    sessions_by_visitor: dict[str, set[str]] = defaultdict(set)
    for labelled in run:
        if labelled.event.session_id is not None:
            sessions_by_visitor[labelled.event.anonymous_id].add(labelled.event.session_id)
    assert sum(len(sessions) > 1 for sessions in sessions_by_visitor.values()) > 500
    orders = [m.event for m in run if m.event.type == "order_completed"]
    # Guest checkout is common: many orders carry no user_id.
    assert 0.2 < sum(order.user_id is not None for order in orders) / len(orders) < 0.9
    assert any(m.event.type == "order_refunded" for m in run)


def test_bots_are_a_small_share_of_sessions(run):
    bot_sessions = {m.event.session_id for m in run if m.event.is_bot}
    all_sessions = {m.event.session_id for m in run} - {None}
    assert 0.015 < len(bot_sessions) / len(all_sessions) < 0.05


def test_the_event_rate_is_the_one_asked_for(run):
    assert len(run) / (_MINUTES * 60) == pytest.approx(_RATE, rel=0.1)


def test_traffic_follows_the_time_of_day():
    def events_in_ten_minutes(hour: int) -> int:
        start = datetime(2026, 11, 20, hour, tzinfo=UTC)
        return sum(1 for _ in ShopSimulator().generate(start, timedelta(minutes=10), 20))

    assert events_in_ten_minutes(20) > 4 * events_in_ten_minutes(3)
    flat = ShopSimulator(diurnal=False)
    assert sum(
        1 for _ in flat.generate(START.replace(hour=3), timedelta(minutes=10), 20)
    ) == pytest.approx(20 * 600, rel=0.15)
