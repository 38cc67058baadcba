"""What the simulator produces: the events it means (with the truth about them), and
the messages those become on the wire."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from models.channels import Channel
from models.devices import Device
from models.streams import CLICKSTREAM, STREAM_OF_TYPE
from simulator.agents import UserAgent
from simulator.defects import Defect
from simulator.formats.names import MessageFormat
from simulator.sources import TrafficSource


@dataclass(slots=True)
class SimulatedEvent:
    """One event as the simulator meant it, in canonical field names, before it is
    written in a source format. `fields` holds the type's own canonical fields
    (product_id, price, order_id, revenue, items, ...; money as `Decimal`).

    `channel`, `device` and `is_bot` are the truth the ingestion should derive back from
    the tags, referrer and user agent. `opens_session` marks the first event of a session,
    `signs_in` the first of a session to carry the user id (the visitor was logged in at
    the start, signed up or logged in at checkout): what a spec-shaped source sends a
    GA4 session_start or a Segment identify call for (`simulator.formats.spec_shape`).
    """

    type: str
    event_id: str
    event_time: datetime
    anonymous_id: str
    user_id: str | None
    session_id: str | None
    cart_id: str | None
    url: str | None
    source: TrafficSource
    agent: UserAgent | None
    message_format: MessageFormat
    fields: dict[str, Any]
    opens_session: bool = False
    signs_in: bool = False

    @property
    def stream(self) -> str:
        return stream_of(self.type)

    @property
    def channel(self) -> Channel:
        return self.source.channel

    @property
    def device(self) -> Device:
        return self.agent.device if self.agent is not None else Device.OTHER

    @property
    def is_bot(self) -> bool:
        return self.agent is not None and self.agent.is_bot


def stream_of(event_type: str) -> str:
    """The input stream an event of `event_type` travels on: that of `models.streams`, else
    the clickstream, where the browsing events are (signup, the user journey's)."""
    return STREAM_OF_TYPE.get(event_type, CLICKSTREAM)


class SimulatedMessage(NamedTuple):
    """One message for an input stream: `key` is the user key (anonymous_id) as bytes,
    `value` the JSON a shop's tracker would send, `event_time` its timestamp (UTC)."""

    stream: str
    key: bytes
    value: bytes
    event_time: datetime


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """A message with the event it was made from and, for a bad-events incident, the
    defect it was given: what tests and benchmarks check the ingestion against.

    With the spec shape (`simulator.formats.spec_shape`) a message may carry other than
    one event: `carries` is then set, to () for a call without a KPI input that came with
    `event` (a Segment identify or Cart Viewed), or to the events of a Segment batch in
    their order (`event` is the last). `events` is what the message carries either way;
    count events by it, not by `event`."""

    message: SimulatedMessage
    event: SimulatedEvent
    defect: Defect | None = None
    carries: tuple[SimulatedEvent, ...] | None = None

    @property
    def events(self) -> tuple[SimulatedEvent, ...]:
        return (self.event,) if self.carries is None else self.carries
