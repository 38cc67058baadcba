"""What the fast lane (models/fast_lane.py ``_trusted``) relies on in the pinned pydantic: a
model instance's whole state is its ``__dict__`` and three slots, as ``model_construct`` fills
them. If pydantic adds state, ``_trusted`` would build instances that are not whole."""

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from models.events import CartAdd, PageView
from models.fast_lane import _trusted

STATE = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def test_a_pydantic_instance_holds_its_state_in_these_slots():
    assert BaseModel.__slots__ == STATE


@pytest.mark.parametrize("model, values", [
    (PageView, {"event_id": "e1", "timestamp": datetime(2026, 11, 20, tzinfo=UTC),
                "anonymous_id": "a1", "url": "https://shop.example/"}),
    (CartAdd, {"event_id": "e2", "timestamp": datetime(2026, 11, 20, tzinfo=UTC),
               "anonymous_id": "a1", "product_id": "p1", "quantity": 2}),
])
def test_trusted_builds_what_model_construct_builds(model, values):
    validated = model.model_validate(values)
    constructed = model.model_construct(**dict(validated))
    trusted = _trusted(model, dict(validated))
    assert trusted == constructed == validated
    for name in STATE:
        assert getattr(trusted, name) == getattr(constructed, name), name
    assert trusted.model_dump() == validated.model_dump()
