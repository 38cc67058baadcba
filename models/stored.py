"""Canonical events read back from the internal topic without validating them again.

The ingester validated every event on the way in (models.parse_message) and wrote it with
models.encode_canonical; the KPI agent reads each one back. `decode_canonical` runs the
pydantic models again, work already done once (benchmarks/bench_engine.py compares the two).
`decode_stored` only converts what JSON cannot hold (the
timestamp, amounts, line items) and serves the fields as attributes, as the models do: for
every field of every event type it reads equal to `decode_canonical`
(tests/unit/models/test_stored.py), and, like the models, an event has no attribute for a
field its type lacks.

Meant for bytes encode_canonical wrote, nothing else: it checks nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from models.events import AMOUNTS_OF


class StoredItem:
    """A line item of a stored order: ``product_id``, ``price`` (Decimal or None),
    ``quantity``."""

    def __init__(self, fields: dict[str, Any]) -> None:
        price = fields.get("price")
        self.product_id = fields["product_id"]
        self.price = None if price is None else Decimal(price)
        self.quantity = fields.get("quantity", 1)


class StoredEvent:
    """One canonical event's fields as attributes (``event_id``, ``type``, ``timestamp``,
    ``user_id`` ... as models.events names them)."""

    @property
    def user_key(self) -> str:
        """As EventBase.user_key: ``anonymous_id`` when present, else ``user_id``."""
        return self.anonymous_id if self.anonymous_id is not None else self.user_id

    def __repr__(self) -> str:
        return f"StoredEvent({self.__dict__!r})"


def decode_stored(raw: bytes) -> Any:
    """An event written by models.encode_canonical, read back without validation."""
    fields = orjson.loads(raw)
    fields["timestamp"] = datetime.fromisoformat(fields["timestamp"])
    for name in AMOUNTS_OF[fields["type"]]:
        amount = fields.get(name)
        if amount is not None:
            fields[name] = Decimal(amount)
    items = fields.get("items")
    if items is not None:
        fields["items"] = tuple(StoredItem(item) for item in items)
    event = StoredEvent()
    event.__dict__ = fields
    return event
