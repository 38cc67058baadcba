"""kpiwatch's own event shape (`models.events`): flat, canonical names, money as decimal
strings so amounts read back exactly."""

from decimal import Decimal
from typing import Any

from simulator.events import SimulatedEvent
from simulator.formats.timestamps import iso_millis

_COMMON = ("user_id", "session_id", "cart_id", "url")


def encode(event: SimulatedEvent) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": event.type,
        "event_id": event.event_id,
        "timestamp": iso_millis(event.event_time),
        "anonymous_id": event.anonymous_id,
    }
    for name in _COMMON:
        value = getattr(event, name)
        if value is not None:
            message[name] = value
    source = event.source
    for name, value in (
        ("referrer", source.referrer),
        ("utm_source", source.utm_source),
        ("utm_medium", source.utm_medium),
        ("utm_campaign", source.utm_campaign),
    ):
        if value is not None:
            message[name] = value
    if event.agent is not None:
        message["user_agent"] = event.agent.text
    for name, value in event.fields.items():
        message[name] = _plain(value)
    return message


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [{name: _plain(part) for name, part in item.items()} for item in value]
    return value
