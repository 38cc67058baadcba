"""An event as the bytes of a message, in the event's own format."""

from collections.abc import Callable
from typing import Any

import orjson

from simulator.events import SimulatedEvent
from simulator.formats import canonical, ga4, segment
from simulator.formats.names import MessageFormat

ENCODERS: dict[MessageFormat, Callable[[SimulatedEvent], dict[str, Any]]] = {
    MessageFormat.CANONICAL: canonical.encode,
    MessageFormat.SEGMENT: segment.encode,
    MessageFormat.GA4: ga4.encode,
}


def encode_payload(event: SimulatedEvent) -> dict[str, Any]:
    """The event as the JSON object its format sends."""
    return ENCODERS[event.message_format](event)


def encode_message(event: SimulatedEvent) -> bytes:
    return orjson.dumps(encode_payload(event))
