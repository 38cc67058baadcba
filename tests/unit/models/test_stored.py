"""models.decode_stored reads what encode_canonical wrote as decode_canonical does: every
field of every event type equal, and no attribute a type lacks."""

from typing import Any

import orjson
import pytest
from hypothesis import given, settings

from models import EVENT_MODELS, decode_canonical, encode_canonical
from models.stored import decode_stored
from tests.unit.models.factories import fixture_lines, make_canonical, parse
from tests.unit.models.test_roundtrip import canonical_events

FIXTURE_EVENTS = [
    event
    for name in ("segment.jsonl", "ga4.jsonl", "canonical.jsonl")
    for line in fixture_lines(name)
    for event in parse(orjson.loads(line)).events
]


def assert_reads_the_same(raw: bytes) -> None:
    model, stored = decode_canonical(raw), decode_stored(raw)
    for name in type(model).model_fields:
        expected = getattr(model, name)
        if name == "items":
            assert [(i.product_id, i.price, i.quantity) for i in stored.items] == \
                [(i.product_id, i.price, i.quantity) for i in expected], name
        else:
            assert getattr(stored, name) == expected, name
            assert type(getattr(stored, name)) in (type(expected), str), name
    assert stored.user_key == model.user_key
    for other in set().union(*(m.model_fields for m in EVENT_MODELS.values())):
        assert hasattr(stored, other) == hasattr(model, other), other


def test_every_fixture_event_reads_the_same() -> None:
    assert {event.type for event in FIXTURE_EVENTS} == set(EVENT_MODELS)
    for event in FIXTURE_EVENTS:
        assert_reads_the_same(encode_canonical(event))


@pytest.mark.parametrize("event_type", sorted(EVENT_MODELS))
def test_each_type_reads_the_same(event_type: str) -> None:
    [event] = parse(make_canonical(event_type)).events
    assert_reads_the_same(encode_canonical(event))


@settings(max_examples=200, deadline=None)
@given(canonical_events)
def test_generated_events_read_the_same(message: dict[str, Any]) -> None:
    [event] = parse(message).events
    assert_reads_the_same(encode_canonical(event))
