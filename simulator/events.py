"""What the simulator produces: the events it means (with the truth about them), and
the messages those become on the wire."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from models.channels import Channel
from models.devices import Device
from models.streams import STREAM_OF_TYPE
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
    the tags, referrer and user agent.
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

    @property
    def stream(self) -> str:
        return STREAM_OF_TYPE[self.type]

    @property
    def channel(self) -> Channel:
        return self.source.channel

    @property
    def device(self) -> Device:
        return self.agent.device if self.agent is not None else Device.OTHER

    @property
    def is_bot(self) -> bool:
        return self.agent is not None and self.agent.is_bot


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
    defect it was given: what tests and benchmarks check the ingestion against."""

    message: SimulatedMessage
    event: SimulatedEvent
    defect: Defect | None = None
