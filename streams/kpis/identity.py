"""Identity: which device an event that carries a user id only belongs to.

A shop sends its orders from its server with ``user_id`` only (as Segment recommends), while
the shopper's session and cart live under the browser's ``anonymous_id``, the user key that
decides the KPI partition. Such an event belongs to the device most recently linked to its
user id: the anonymous id whose first link to it is the latest (the newest device), or the user
id itself while none is linked yet. A link is a user id and an anonymous id seen together in
one event (or an identify call), from that event's time on.

Every KPI partition must tell alike, or an event would count twice or never: ingestion sends
each link (``IdentityLink``) and each user-id-only event to every partition
(streams/ingest.py). Each applies links in event-time order, as it applies events, so at any
instant all partitions hold the same links and resolve the same key (``resolved_key``). Only the
partition of that key applies the event, as an event of that device; the others drop it
uncounted. A link is a fact from its event's time on, whichever ingester sent it first or how
often: applying one again changes nothing.

State: per user id, a ``link`` entity: {"devices": {anonymous id: first link ms}, "latest":
the newest device, "day": the UTC day of the latest link}, at most ``MAX_DEVICES`` devices (the
oldest forgotten first), forgotten ``link_ttl`` after the first link of the last day it was
linked on (then its devices start afresh). Ingestion sends each pair's first link and the
earliest of every day (``Links``), so this is a function of the events, whichever ingester
saw them.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from models import IdentityLink
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.working_set import WorkingSet

MAX_DEVICES = 8  # a user's browsers and apps; more than this are a shared login
DAY_MS = 24 * 3_600_000


def link(ws: WorkingSet, event: Any, event_ms: int, settings: KpiSettings) -> None:
    state = ws.alive("link", event.user_id)
    if state is None:
        state = ws.create("link", event.user_id, {"devices": {}, "timers": {}})
    devices = state["devices"]
    if event.anonymous_id not in devices:
        devices[event.anonymous_id] = event_ms
        state["latest"] = event.anonymous_id
        if len(devices) > MAX_DEVICES:
            del devices[min(devices, key=devices.__getitem__)]
    day = event_ms // DAY_MS
    if state.get("day") is None or day > state["day"]:
        # The day's first link: ingestion sends the earliest of every day (``Links``).
        state["day"] = day
        state["timers"] = {"expire": event_ms + settings.link_ttl_ms}
        ws.arm("link", event.user_id, state, event_ms)


def expired(ctx: Any) -> None:
    ctx.ws.end("link", ctx.ident)


def resolved_key(ws: WorkingSet, event: Any) -> str:
    """The user key a user-id-only event belongs to: the newest linked device, else its user
    id."""
    state = ws.alive("link", event.user_id)
    return event.user_id if state is None else state["latest"]


def as_device(event: Any, anonymous_id: str) -> Any:
    """The event as its device's: with that ``anonymous_id`` (its user key)."""
    if hasattr(event, "model_copy"):  # a pydantic model (tests); the worker's are StoredEvents
        return event.model_copy(update={"anonymous_id": anonymous_id})
    copy = object.__new__(type(event))
    copy.__dict__.update(event.__dict__, anonymous_id=anonymous_id)
    return copy


class Links:
    """The identity links an ingester sent (streams/ingest.py): a user id and an anonymous
    id seen together. A pair's link goes to every KPI partition when it is the earliest this
    ingester saw, and when it is the earliest it saw on the latest UTC day the pair was seen
    on: every pair's first link and every day's earliest reach the engines, whichever
    ingester read them (input comes out of order, and from several ingesters). The most
    recently used ``MAX_LINKS`` pairs are remembered; a pair forgotten is sent again."""

    MAX_LINKS = 200_000

    def __init__(self) -> None:
        # pair -> (first ms sent, latest day sent, the earliest ms sent on that day)
        self.sent: OrderedDict[tuple[str, str], tuple[int, int, int]] = OrderedDict()

    def due(self, user_id: str, anonymous_id: str, event_ms: int) -> bool:
        pair = (user_id, anonymous_id)
        day = event_ms // DAY_MS
        known = self.sent.get(pair)
        if known is None:
            self.sent[pair] = (event_ms, day, event_ms)
            if len(self.sent) > self.MAX_LINKS:
                self.sent.popitem(last=False)
            return True
        self.sent.move_to_end(pair)
        first, last_day, day_first = known
        earlier = event_ms < first
        later_day = day > last_day
        earlier_today = day == last_day and event_ms < day_first
        if not (earlier or later_day or earlier_today):
            return False
        if later_day or earlier_today:
            last_day, day_first = day, event_ms
        self.sent[pair] = (min(first, event_ms), last_day, day_first)
        return True


def identity_link(user_id: str, anonymous_id: str, timestamp: datetime) -> IdentityLink:
    ms = int(timestamp.timestamp() * 1000)
    return IdentityLink(event_id=f"link:{len(user_id)}:{user_id}:{anonymous_id}:{ms}",
                        timestamp=timestamp, user_id=user_id, anonymous_id=anonymous_id)
