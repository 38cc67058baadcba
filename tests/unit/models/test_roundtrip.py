"""Properties that must hold for every input: parse_message never raises (nor hits its
own safety net), and canonical events survive encode/decode exactly."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import (
    CANONICAL_TYPES,
    ParseLimits,
    RejectReason,
    decode_canonical,
    encode_canonical,
    parse_message,
)
from tests.unit.models.factories import NOW, fixture_lines, make_canonical, parse

pytestmark = pytest.mark.unit

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
interesting_keys = st.sampled_from(
    [
        "type",
        "event",
        "event_id",
        "messageId",
        "timestamp",
        "anonymousId",
        "userId",
        "anonymous_id",
        "user_id",
        "properties",
        "context",
        "event_name",
        "event_timestamp",
        "event_params",
        "user_pseudo_id",
        "events",
        "client_id",
        "timestamp_micros",
        "items",
        "revenue",
        "currency",
        "quantity",
        "price",
        "order_id",
        "url",
    ]
)
json_messages = st.dictionaries(interesting_keys | st.text(max_size=10), json_values, max_size=8)

FIXTURE_MESSAGES = [
    orjson.loads(line)
    for name in ("segment.jsonl", "ga4.jsonl", "canonical.jsonl")
    for line in fixture_lines(name)
]


def assert_well_formed(raw: bytes) -> None:
    outcome = parse_message(raw, now=NOW, limits=ParseLimits())
    assert outcome.events or outcome.rejections or outcome.ignored
    assert all(
        rejection.reason is not RejectReason.PARSER_ERROR for rejection in outcome.rejections
    ), outcome.rejections
    assert all(
        isinstance(rejection.detail, str) and rejection.detail for rejection in outcome.rejections
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2_000))
def test_any_bytes_give_events_or_rejections(raw: bytes) -> None:
    assert_well_formed(raw)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_gives_events_or_rejections(value: Any) -> None:
    assert_well_formed(orjson.dumps(value))


@settings(max_examples=300, deadline=None)
@given(json_messages)
def test_any_json_object_with_familiar_keys_gives_events_or_rejections(
    message: dict[str, Any],
) -> None:
    assert_well_formed(orjson.dumps(message))


def replace_at(message: Any, path: list[int], value: Any) -> Any:
    """`message` with the node picked by `path` (indices into each level's keys or items)
    replaced by `value`."""
    if not path or not isinstance(message, (dict, list)) or not message:
        return value
    if isinstance(message, dict):
        key = list(message)[path[0] % len(message)]
        return message | {key: replace_at(message[key], path[1:], value)}
    index = path[0] % len(message)
    return message[:index] + [replace_at(message[index], path[1:], value)] + message[index + 1 :]


fixture_mutations = st.builds(
    replace_at,
    st.sampled_from(FIXTURE_MESSAGES),
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5),
    json_values,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixture_mutations)
def test_real_messages_with_one_field_broken_give_events_or_rejections(message: Any) -> None:
    assert_well_formed(orjson.dumps(message))


money = (
    st.decimals(min_value=0, max_value=10**9, places=2).map(str)
    | st.integers(0, 10**6)
    | st.floats(0, 10**6)
)
canonical_events = st.sampled_from(sorted(CANONICAL_TYPES)).flatmap(
    lambda event_type: st.builds(
        make_canonical,
        st.just(event_type),
        timestamp=st.datetimes(
            min_value=(NOW - timedelta(days=6)).replace(tzinfo=None),
            max_value=NOW.replace(tzinfo=None),
        ).map(lambda moment: moment.isoformat() + "+00:00"),
        url=st.text(max_size=3000),
        user_agent=st.text(max_size=600),
        utm_campaign=st.none() | st.text(max_size=300),
        **(
            {"price": money, "quantity": st.integers(1, 10_000)}
            if event_type in ("cart_add", "cart_remove")
            else {"revenue": money, "shipping": money | st.none()}
            if event_type == "order_completed"
            else {"amount": money}
            if event_type == "order_refunded"
            else {}
        ),
    )
)


@settings(max_examples=300, deadline=None)
@given(canonical_events)
def test_canonical_events_round_trip_exactly(message: dict[str, Any]) -> None:
    outcome = parse(message)
    assert outcome.rejections == []
    [event] = outcome.events

    encoded = encode_canonical(event)
    decoded = decode_canonical(encoded)

    assert decoded == event
    assert type(decoded) is type(event)
    assert encode_canonical(decoded) == encoded


@pytest.mark.parametrize("message", FIXTURE_MESSAGES[:8] + FIXTURE_MESSAGES[-12:])
def test_fixture_events_round_trip_exactly(message: dict[str, Any]) -> None:
    for event in parse(message).events:
        assert decode_canonical(encode_canonical(event)) == event


def test_encoding_is_compact_with_amounts_as_strings() -> None:
    [order] = parse(make_canonical("order_completed", revenue="179.80")).events
    encoded = encode_canonical(order)

    assert (
        b" "
        not in encoded.replace(b"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", b"").split(
            b'"user_agent"'
        )[0]
    )
    assert b'"revenue":"179.80"' in encoded
    assert b'"timestamp":"2026-11-20T11:59:00Z"' in encoded
    assert decode_canonical(encoded).revenue == Decimal("179.80")
