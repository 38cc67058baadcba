"""Adapter for messages already in the canonical shape (the canonical model's own JSON),
as sent by producers that speak kpiwatch natively."""

from typing import Any

from models.events import CANONICAL_TYPES
from models.mapped import MappedEvent, Received, without_nulls
from models.rejections import InvalidEvent, Rejection, RejectReason

_SAME_NAMES: dict[str, str] = {}
_DERIVED_AT_THE_EDGE = ("channel", "is_bot")


def matches(message: dict[str, Any]) -> bool:
    """A canonical message has an `event_id` and a string `type`; an unknown `type` is
    then reported as unknown_type, not unknown_format. Segment is tried first, so its
    call types ("track", "page") never land here."""
    return "event_id" in message and isinstance(message.get("type"), str)


def map_message(message: dict[str, Any], received: Received) -> list[MappedEvent | Rejection]:
    """The message itself, minus the fields `parse_message` derives. A `device` field is
    kept as a hint, as a source's device field would be; a null is read as absent."""
    if message["type"] not in CANONICAL_TYPES:
        error = InvalidEvent(
            RejectReason.UNKNOWN_TYPE,
            f"type: {message['type'][:80]!r} is not a canonical event type",
        )
        return [error.rejection]
    fields = without_nulls(message)
    for derived in _DERIVED_AT_THE_EDGE:
        fields.pop(derived, None)
    if isinstance(fields.get("items"), list):
        fields["items"] = [
            without_nulls(item) if isinstance(item, dict) else item for item in fields["items"]
        ]
    return [MappedEvent(fields, _SAME_NAMES)]
