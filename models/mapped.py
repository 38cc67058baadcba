"""What a source adapter hands to the parser, and the small readers adapters share.

An adapter turns one decoded message into canonical field dicts (`MappedEvent`) without
judging the values: validation, enrichment and limits happen once, in `models.parse`.
It does judge the message's shape (is `properties` an object?), and raises
`InvalidEvent` when the shape is wrong.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from models.rejections import InvalidEvent, RejectReason


@dataclass(slots=True)
class MappedEvent:
    """Canonical fields of one event, and where each came from in the source message.

    `field_paths` maps a canonical field ("revenue") to its source spelling
    ("properties.revenue"), so rejections name the field the sender knows. For events
    that came out of a batch, `origin` ("events[2].") prefixes every path except those
    starting with "/", which are message-level ("/client_id"). Nested fields are looked
    up as "items.product_id"; unlisted fields keep their canonical name.
    """

    fields: dict[str, Any]
    field_paths: Mapping[str, str]
    origin: str = ""

    def source_path(self, location: tuple[str | int, ...]) -> str:
        """The source spelling of a canonical field location, e.g. ("items", 0, "price")
        becomes "properties.products[0].price" for Segment."""
        if not location:
            return self.origin.rstrip(".") or "message"
        head = str(location[0])
        path = self.field_paths.get(head, head)
        path = path[1:] if path.startswith("/") else self.origin + path
        for part in location[1:]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += "." + self.field_paths.get(f"{head}.{part}", str(part))
        return path


@dataclass(frozen=True, slots=True)
class Ignored:
    """A valid message (or one event of a batch) that carries no KPI input: an identify
    call, a spec event no KPI reads (Product List Viewed, GA4's session_start). Counted by
    `kind`, a bounded label (the adapters' own list, else "other"), never dead-lettered."""

    kind: str
    user_id: str | None = None
    anonymous_id: str | None = None
    timestamp: str | None = None  # an identify call's, unvalidated: it links the two ids


class Received:
    """What an adapter knows about a message besides its content."""

    __slots__ = ("raw", "now", "_digest")

    def __init__(self, raw: bytes, now: datetime) -> None:
        self.raw = raw
        self.now = now
        """The time the message is judged at (see `parse_message`)."""
        self._digest: str | None = None

    @property
    def digest(self) -> str:
        """A hash of the message's bytes: identical payloads, such as a client's retries,
        get identical digests. Computed on first use: most messages never need it."""
        if self._digest is None:
            self._digest = hashlib.blake2b(self.raw, digest_size=16).hexdigest()
        return self._digest


def object_at(message: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    """`message[key]` when it is an object, {} when absent or null."""
    value = message.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE, f"{path}: must be an object, got {type_name(value)}"
        )
    return value


def list_at(message: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """`message[key]` when it is a list, [] when absent or null."""
    value = message.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidEvent(
            RejectReason.WRONG_TYPE, f"{path}: must be a list, got {type_name(value)}"
        )
    return value


def required(value: Any, path: str) -> Any:
    """`value`, or a missing_field rejection naming `path` when it is absent."""
    if value is None:
        raise InvalidEvent(RejectReason.MISSING_FIELD, f"{path}: required")
    return value


def without_nulls(message: Mapping[str, Any]) -> dict[str, Any]:
    """`message` without its null fields: a JSON null reads as "not sent", so a field
    with a default gets its default and a required one is reported missing."""
    return {key: value for key, value in message.items() if value is not None}


def type_name(value: Any) -> str:
    """The JSON name of a decoded value's type, for rejection details."""
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
    }.get(type(value), "null" if value is None else type(value).__name__)


def preview(value: Any, limit: int = 80) -> str:
    """A short, escaped rendering of a bad value for a rejection detail. Objects and arrays
    are shown to a few levels only: a deeply nested value (up to the JSON decoder's depth
    limit) would make ``repr`` exceed the recursion limit, and how deep it may go depends on
    the caller's stack, not on the message."""
    text = _render(value, _PREVIEW_DEPTH, limit)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PREVIEW_DEPTH = 4


def _render(value: Any, depth: int, limit: int) -> str:
    """``repr(value)`` down to ``depth`` levels of containers (deeper ones as ``{...}`` and
    ``[...]``), and only as many items as can show within ``limit`` characters."""
    if isinstance(value, dict):
        if depth == 0:
            return "{...}"
        items = islice(value.items(), limit)
        return "{" + ", ".join(f"{_render(key, depth, limit)}: {_render(item, depth - 1, limit)}"
                               for key, item in items) + "}"
    if isinstance(value, list):
        if depth == 0:
            return "[...]"
        return "[" + ", ".join(_render(item, depth - 1, limit) for item in value[:limit]) + "]"
    return repr(value)
