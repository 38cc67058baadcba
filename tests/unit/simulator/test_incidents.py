"""Incidents: their spelling, and that each moves the quantity it targets, only while
it lasts and only where it is aimed."""

import re
import statistics
from collections import Counter
from datetime import timedelta

import pytest

from models import Channel
from simulator import (
    EXPECTED_REASON,
    Defect,
    IncidentKind,
    IncidentSpecError,
    parse_duration,
    parse_incident,
)
from tests.unit.simulator.fixtures import START, parse_at_event_time, simulate

pytestmark = pytest.mark.unit


def test_a_spec_names_kind_window_and_options():
    incident = parse_incident("conversion-drop@120s+300s:channel=paid_search")
    assert incident.kind is IncidentKind.CONVERSION_DROP
    assert (incident.start, incident.duration) == (timedelta(seconds=120), timedelta(minutes=5))
    assert (incident.channel, incident.magnitude) == (Channel.PAID_SEARCH, 0.8)
    outage = parse_incident("payment-outage@1h30m+10m:method=paypal,failure_rate=0.95")
    assert (outage.payment_method, outage.magnitude, outage.start) == (
        "paypal",
        0.95,
        timedelta(minutes=90),
    )


@pytest.mark.parametrize(
    ("spec", "kind", "magnitude"),
    [
        ("checkout-slowdown@0+5m", IncidentKind.CHECKOUT_SLOWDOWN, 10),
        ("traffic-spike@60+60", IncidentKind.TRAFFIC_SPIKE, 5),
        ("bad-events@1m+1m", IncidentKind.BAD_EVENTS, 0.2),
        ("payment-outage@1m+1m", IncidentKind.PAYMENT_OUTAGE, 0.9),
    ],
)
def test_options_have_defaults(spec, kind, magnitude):
    incident = parse_incident(spec)
    assert (incident.kind, incident.magnitude) == (kind, magnitude)


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("conversion-drop", "expected KIND@START+DURATION"),
        ("meltdown@0+5m", "unknown kind 'meltdown'; kinds are checkout-slowdown, payment-outage"),
        ("traffic-spike@soon+5m", "'soon' is not a duration"),
        ("traffic-spike@0+0s", "duration must be more than 0"),
        ("conversion-drop@0+5m:channel=tv", "channel must be one of direct, organic_search"),
        (
            "payment-outage@0+5m:method=bitcoin",
            "method must be one of card, paypal, apple_pay, klarna",
        ),
        ("payment-outage@0+5m:failure_rate=2", "failure_rate must be between 0 and 1"),
        ("traffic-spike@0+5m:factor=-1", "factor must be more than 0"),
        ("traffic-spike@0+5m:factor=lots", "factor must be a number"),
        ("traffic-spike@0+5m:share=0.5", "traffic-spike takes factor, not 'share'"),
        ("bad-events@0+5m:share", "option 'share' must be key=value"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, complaint):
    with pytest.raises(IncidentSpecError, match="incident .*" + re.escape(complaint)):
        parse_incident(spec)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


_WINDOW = (START + timedelta(minutes=10), START + timedelta(minutes=35))
_LONG_RUN = {"minutes": 40, "rate": 30}


def _inside(labelled) -> bool:
    return _WINDOW[0] <= labelled.event.event_time < _WINDOW[1]


def _payment_step_to_order(run, channel):
    """Orders / payment steps of a channel inside the incident window."""
    steps = orders = 0
    for labelled in run:
        event = labelled.event
        if event.channel is channel and _inside(labelled):
            steps += event.type == "checkout_step" and event.fields["step"] == "payment"
            orders += event.type == "order_completed"
    return orders / steps


def test_a_conversion_drop_hits_only_its_channel():
    calm = simulate(**_LONG_RUN)
    dropped = simulate(**_LONG_RUN, incidents=("conversion-drop@10m+25m:channel=paid_search",))
    assert _payment_step_to_order(dropped, Channel.PAID_SEARCH) < 0.4 * _payment_step_to_order(
        calm, Channel.PAID_SEARCH
    )
    for channel in (Channel.ORGANIC_SEARCH, Channel.DIRECT):
        assert _payment_step_to_order(dropped, channel) == pytest.approx(
            _payment_step_to_order(calm, channel), abs=0.12
        )


def _failure_rate(run, method):
    counts = Counter(
        labelled.event.type
        for labelled in run
        if _inside(labelled)
        and labelled.event.type in ("payment_failed", "order_completed")
        and labelled.event.fields["payment_method"] == method
    )
    return counts["payment_failed"] / (counts["payment_failed"] + counts["order_completed"])


def test_a_payment_outage_fails_only_its_method():
    run = simulate(**_LONG_RUN, incidents=("payment-outage@10m+25m:method=paypal",))
    calm = simulate(**_LONG_RUN)
    assert _failure_rate(run, "paypal") > 0.6
    assert _failure_rate(calm, "paypal") < 0.1
    assert _failure_rate(run, "card") < 0.15
    reasons = {
        m.event.fields["reason"] for m in run if m.event.type == "payment_failed" and _inside(m)
    }
    assert "provider_unavailable" in reasons


def _checkout_seconds(run):
    started, durations = {}, []
    for labelled in run:
        event = labelled.event
        if event.type == "checkout_started" and _inside(labelled):
            started[event.cart_id] = event.event_time
        elif event.type == "order_completed" and event.cart_id in started:
            durations.append((event.event_time - started.pop(event.cart_id)).total_seconds())
    return durations


def test_a_checkout_slowdown_stretches_checkout_times():
    slow = _checkout_seconds(simulate(**_LONG_RUN, incidents=("checkout-slowdown@10m+25m",)))
    calm = _checkout_seconds(simulate(**_LONG_RUN))
    assert statistics.median(slow) > 5 * statistics.median(calm)


def test_a_traffic_spike_multiplies_the_rate_while_it_lasts():
    run = simulate(minutes=30, incidents=("traffic-spike@10m+10m",))
    per_minute = Counter(int((m.event.event_time - START).total_seconds() // 60) for m in run)
    before = statistics.mean(per_minute[minute] for minute in range(2, 10))
    during = statistics.mean(per_minute[minute] for minute in range(12, 20))
    after = statistics.mean(per_minute[minute] for minute in range(24, 30))
    assert during > 3.5 * before
    assert after < 2 * before


def test_bad_events_are_rejected_for_the_expected_reasons_only_during_the_incident():
    defects = Counter()
    begins, ends = START + timedelta(minutes=5), START + timedelta(minutes=15)
    for message_format in ("canonical", "segment", "ga4"):
        run = simulate(
            minutes=20, message_format=message_format, incidents=("bad-events@5m+10m:share=0.3",)
        )
        spoiled = [labelled for labelled in run if labelled.defect is not None]
        window = [labelled for labelled in run if begins <= labelled.event.event_time < ends]
        assert all(begins <= labelled.event.event_time < ends for labelled in spoiled)
        assert len(spoiled) / len(window) == pytest.approx(0.3, abs=0.03)
        for labelled in spoiled:
            outcome = parse_at_event_time(labelled)
            assert outcome.events == []
            assert [rejection.reason for rejection in outcome.rejections] == [
                EXPECTED_REASON[labelled.defect]
            ]
            defects[labelled.defect] += 1
    assert set(defects) == set(Defect)


def test_bad_events_spoil_the_same_traffic_without_changing_it():
    calm = simulate(minutes=15)
    spoiled = simulate(minutes=15, incidents=("bad-events@5m+5m",))
    assert _what_happened(calm) == _what_happened(spoiled)


def _what_happened(run):
    return [(m.event.type, m.event.event_time, m.event.anonymous_id) for m in run]
