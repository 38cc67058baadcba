"""``--shape spec``: Segment and GA4 messages as real sources send them
(simulator/formats/spec_shape.py). Every message parses without a rejection; the events
parsed are those of the kpiwatch shape of the same seed, less what the specs leave out;
and the shapes the specs allow do occur."""

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from typing import Any

import orjson
import pytest

from kpiwatch.settings import DEFAULT_PAYMENT_METHOD_ALIASES, payment_method_key
from models.segment import track_event
from models.streams import STREAM_OF_TYPE
from simulator import (
    EXPECTED_REASON,
    LabelledMessage,
    MessageFormat,
    ShopProfile,
    ShopSimulator,
    Timing,
    parse_incident,
)
from simulator.formats import spec_shape
from tests.unit.simulator.fixtures import START, parse_at_event_time

pytestmark = pytest.mark.unit

# Refunds within the run, and a card outage for payment failures: every event type occurs.
_PROFILE = replace(
    ShopProfile(), cart_add_rate=0.5, refund_rate=0.3, refund_delay=Timing(median=120.0)
)
_INCIDENTS = ("payment-outage@2m+15m:method=card,failure_rate=0.9",)
_IGNORED_KINDS = {"identify", "product_list_viewed", "cart_viewed", "session_start",
                  "user_engagement"}


@lru_cache(maxsize=4)
def _run(shape: str, incidents: tuple[str, ...] = _INCIDENTS) -> tuple[LabelledMessage, ...]:
    simulator = ShopSimulator(
        seed=3,
        message_format="mixed",
        incidents=tuple(parse_incident(spec) for spec in incidents),
        profile=_PROFILE,
        diurnal=False,
        shape=shape,
    )
    return tuple(simulator.labelled(START, timedelta(minutes=20), 30))


def test_every_spec_message_parses_without_rejections_into_the_events_it_carries():
    run = _run("spec")
    assert len(run) > 30_000
    ignored: Counter[str] = Counter()
    for labelled in run:
        outcome = parse_at_event_time(labelled)
        assert outcome.rejections == [], (outcome.rejections, labelled.message.value)
        assert [event.event_id for event in outcome.events] == [
            event.event_id for event in labelled.events
        ]
        if labelled.carries == ():
            assert len(outcome.ignored) == 1, labelled.message.value
        ignored.update(item.kind for item in outcome.ignored)
    assert set(ignored) == _IGNORED_KINDS


def _parsed(run):
    """event id -> (the event meant, the canonical event parsed), for a whole run."""
    parsed = {}
    for labelled in run:
        outcome = parse_at_event_time(labelled)
        for meant, event in zip(labelled.events, outcome.events, strict=True):
            parsed[event.event_id] = (meant, event)
    return parsed


def _method(raw: str) -> str:
    key = payment_method_key(raw)
    return DEFAULT_PAYMENT_METHOD_ALIASES.get(key, key)


def test_spec_events_are_the_kpiwatch_events_less_what_the_specs_leave_out():
    spec, kpiwatch = _parsed(_run("spec")), _parsed(_run("kpiwatch"))
    assert spec.keys() == kpiwatch.keys()
    differences: Counter[tuple[str, str]] = Counter()
    for event_id, (meant, event) in spec.items():
        got, want = event.model_dump(), kpiwatch[event_id][1].model_dump()
        if meant.message_format is MessageFormat.SEGMENT and meant.type not in (
            "cart_add",
            "cart_remove",
        ):
            if want["cart_id"] is not None:
                differences["cart_id dropped", meant.type] += 1
            want["cart_id"] = None
        if meant.message_format is not MessageFormat.CANONICAL and "payment_method" in want:
            method, raw = want["payment_method"], got["payment_method"]
            if raw is None:
                if method is not None:
                    differences["payment_method dropped", meant.type] += 1
            else:
                # The raw name a shop sends, which kpiwatch's default aliases map back.
                assert raw in {name.lower() for name in spec_shape.PAYMENT_NAMES[method]}
                assert _method(raw) == method
                differences["payment_method raw", meant.type] += 1
            want["payment_method"] = raw
        assert got == want, event_id
    # What differs is what the specs leave out, and nothing else.
    assert {what for what, _ in differences} == {
        "cart_id dropped",
        "payment_method dropped",
        "payment_method raw",
    }
    assert {kind for what, kind in differences if what == "cart_id dropped"} == {
        "checkout_started",
        "checkout_step",
        "payment_failed",
        "order_completed",
    }
    assert {kind for what, kind in differences if what == "payment_method dropped"} == {
        "payment_failed",
        "order_completed",
    }
    assert {kind for what, kind in differences if what == "payment_method raw"} == {
        "checkout_step",
        "payment_failed",
    }


def test_canonical_messages_are_the_same_bytes_in_both_shapes():
    def canonical(run):
        return [
            labelled.message
            for labelled in run
            if labelled.event.message_format is MessageFormat.CANONICAL
        ]

    assert canonical(_run("spec")) == canonical(_run("kpiwatch"))


def _calls(run) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
    """The Segment calls (out of their batches), the GA4 events and the batch sizes."""
    segment, ga4, batches = [], [], []
    for labelled in run:
        value = orjson.loads(labelled.message.value)
        if "batch" in value:
            segment.extend(value["batch"])
            batches.append(len(value["batch"]))
        elif "messageId" in value:
            segment.append(value)
        elif "events" in value:
            ga4.extend(value["events"])
    return segment, ga4, batches


def _share(part: int, whole: int) -> float:
    assert whole > 0
    return part / whole


def test_segment_calls_take_the_shapes_the_spec_allows():
    segment, _, batches = _calls(_run("spec"))
    tracks = [call for call in segment if call["type"] == "track"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for call in tracks:
        mapping = track_event(call["event"])
        by_type.setdefault("ignored" if mapping is None else mapping[0], []).append(call)

    # cart_id on the cart events only (and on the cart a Cart Viewed shows).
    for kind, calls in by_type.items():
        for call in calls:
            if call["event"] != "Cart Viewed":
                assert ("cart_id" in call["properties"]) == (kind in ("cart_add", "cart_remove"))
    assert any("cart_id" in call["properties"] for call in by_type["cart_add"])

    # The payment method on the payment step, never on the order, on some failures.
    payment_steps = [c for c in by_type["checkout_step"] if "step" not in c["properties"]]
    assert payment_steps
    assert all(c["event"] in ("Payment Info Entered", "payment_info_entered")
               for c in payment_steps)
    raw_names = {c["properties"]["payment_method"] for c in payment_steps}
    assert {"PayPal", "Apple Pay", "Klarna"} <= raw_names
    assert raw_names & {"Credit Card", "Visa", "Mastercard"}
    assert not any("payment_method" in c["properties"] for c in by_type["order_completed"])
    failures = by_type["payment_failed"]
    with_method = sum("payment_method" in c["properties"] for c in failures)
    assert _share(with_method, len(failures)) == pytest.approx(
        spec_shape.FAILED_METHOD_SHARE, abs=0.1
    )

    # Orders: total instead of revenue, no currency, product lines by other keys.
    orders = by_type["order_completed"]
    totals = [c for c in orders if "total" in c["properties"]]
    assert all("revenue" not in c["properties"] for c in totals)
    assert _share(len(totals), len(orders)) == pytest.approx(spec_shape.TOTAL_SHARE, abs=0.12)
    without_currency = sum("currency" not in c["properties"] for c in orders)
    assert _share(without_currency, len(orders)) == pytest.approx(
        spec_shape.NO_CURRENCY_SHARE, abs=0.12
    )
    keys = Counter(key for c in orders for line in c["properties"]["products"] for key in line
                   if key not in ("price", "quantity"))
    assert set(keys) == {"product_id", "sku", "productId"}
    assert keys.most_common(1)[0][0] == "product_id"

    # Names: v2 mostly, some v1, some snake_case.
    names = Counter(call["event"] for call in tracks)
    assert {"Completed Order", "Added Product", "Viewed Product", "Started Order"} <= set(names)
    assert {"order_completed", "product_added", "product_viewed"} <= set(names)
    with_v1 = [
        call
        for kind in ("product_view", "cart_add", "checkout_started", "order_completed")
        for call in by_type[kind]
    ]
    v1 = sum(call["event"] in spec_shape.V1_NAMES.values() for call in with_v1)
    snake = sum("_" in call["event"] for call in with_v1)
    assert _share(v1, len(with_v1)) == pytest.approx(spec_shape.V1_SHARE, abs=0.015)
    assert _share(snake, len(with_v1)) == pytest.approx(spec_shape.SNAKE_SHARE, abs=0.015)
    assert names["Product Viewed"] > 10 * names["Viewed Product"]

    # Calls without a KPI input.
    identifies = [call for call in segment if call["type"] == "identify"]
    assert identifies
    assert all(call["userId"] and call["anonymousId"] and "@" in call["traits"]["email"]
               for call in identifies)
    assert {"Product List Viewed", "Cart Viewed"} <= set(names)

    # Orders stay browser-side: never a userId without an anonymousId.
    assert all(call.get("anonymousId") for call in segment)

    # Batches of 2 to 5 calls, about 5 % of the calls.
    assert set(batches) <= {2, 3, 4, 5} and len(set(batches)) >= 3
    assert _share(sum(batches), len(segment)) == pytest.approx(0.05, abs=0.025)


def test_ga4_events_take_the_shapes_the_spec_allows():
    _, ga4, _ = _calls(_run("spec"))
    by_name: dict[str, list[dict[str, Any]]] = {}
    for event in ga4:
        by_name.setdefault(event["name"], []).append(event)
    assert by_name["add_payment_info"]
    assert all("payment_type" in event["params"] for event in by_name["add_payment_info"])
    assert {event["params"]["payment_type"] for event in by_name["add_payment_info"]} >= {
        "PayPal"
    }
    assert not any("payment_type" in event["params"] for event in by_name["purchase"])
    assert not any("payment_type" in event["params"] for event in by_name["add_shipping_info"])
    assert len(by_name["session_start"]) > 100
    assert len(by_name["user_engagement"]) > 100


def test_session_start_opens_each_session_and_identify_comes_with_the_sign_in():
    started: set[str] = set()
    identified: set[str] = set()
    for labelled in _run("spec"):
        value = orjson.loads(labelled.message.value)
        event = labelled.event
        if "events" in value:
            names = [item["name"] for item in value["events"]]
            assert (names[0] == "session_start") == event.opens_session
            if event.opens_session:
                assert event.session_id not in started
                started.add(event.session_id)
        elif value.get("type") == "identify":
            assert event.signs_in and value["userId"] == event.user_id
            assert event.session_id not in identified
            identified.add(event.session_id)
    assert started and identified


def test_spec_messages_keep_the_envelope_and_the_event_time_order():
    run = _run("spec")
    times = [labelled.message.event_time for labelled in run]
    assert times == sorted(times)
    assert times[-1] < START + timedelta(minutes=20)
    late = 0
    for labelled in run:
        message, events = labelled.message, labelled.events
        assert message.key == labelled.event.anonymous_id.encode()
        assert {event.anonymous_id for event in events} <= {labelled.event.anonymous_id}
        # A stream per message: a batch goes on its first event's, a call without a KPI
        # input on the clickstream.
        first = events[0].type if events else "page_view"
        assert message.stream == STREAM_OF_TYPE[first]
        # Calls held for a batch are sent late, at most the batch's timeout.
        for event in events or (labelled.event,):
            assert timedelta(0) <= message.event_time - event.event_time
            assert message.event_time - event.event_time <= spec_shape.BATCH_TIMEOUT
            late += message.event_time > event.event_time
    assert late


def test_bad_events_are_still_rejected_for_the_expected_reasons():
    run = _run("spec", ("bad-events@5m+10m:share=0.3",))
    spoiled = [labelled for labelled in run if labelled.defect is not None]
    assert {labelled.event.message_format for labelled in spoiled} == set(MessageFormat)
    assert len({labelled.defect for labelled in spoiled}) == 4
    for labelled in spoiled:
        outcome = parse_at_event_time(labelled)
        assert outcome.events == []
        assert [rejection.reason for rejection in outcome.rejections] == [
            EXPECTED_REASON[labelled.defect]
        ]
