"""The KPI engine of one partition: buffers events until their minute settles, then applies
them to every KPI family in event-time order.

Why settle first: with out-of-order events, sessions, "first event of a session" and distinct
counts depend on the order events are applied in. Applying each settled minute's events sorted
by (event time, event_id) makes every settled KPI a pure function of the set of events in it,
equal to a batch recomputation, whatever order they arrived in and however often replayed.

A minute settles when the partition's watermark passes its end plus the allowed lateness. The
watermark is the latest event time of the slowest input partition feeding this one (an input
partition silent for ``source_idle_timeout`` of wall time stops holding it back): when one
input partition stalls, say while its worker is replaced, the others cannot rush the
watermark ahead and make its backlog late. An event whose minute has settled already is late:
counted, sent to the dead letters by the caller, and not applied.

Events stay unacknowledged (Faust ``noack``) until their minute is applied and written, so the
committed offset never passes an event whose effect could be lost in a crash. After a crash the
uncommitted events come back; those whose minute had settled are recognised through the
progress record (``max_origin``: the highest origin offset received when it last settled) and
skipped; a late event is counted once (``late_through``: the origin of the last late event
counted; late events are counted in arrival order). Writes are ordered as
streams/kpis/working_set.py explains.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from models import CanonicalEvent
from streams.kpis import checkout, funnel, retention, revenue, traffic
from streams.kpis.context import EventContext
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.working_set import APPLIED, PARTITION, WorkingSet, progress_key
from streams.windows import MINUTE_MS, business_day, windows_of

FAMILIES: tuple[Callable[[EventContext], None], ...] = (
    traffic.apply, funnel.apply, checkout.apply, revenue.apply, retention.apply,
)


@dataclass(order=True)
class Pending:
    event_ms: int
    event_id: str
    origin: int = field(compare=False)
    event: CanonicalEvent = field(compare=False)
    handle: Any = field(compare=False, default=None)  # what the caller acks once applied


@dataclass
class Outcome:
    """What became of one received event, and which handles may be acknowledged now."""

    late: bool = False
    replayed: bool = False
    settled: list[Pending] = field(default_factory=list)
    superseded: Any = None  # the handle of an earlier delivery of the same origin


class PartitionEngine:
    def __init__(self, table: MutableMapping[str, dict], partition: int,
                 settings: KpiSettings) -> None:
        self.table = table
        self.partition = partition
        self.settings = settings
        self.pending: dict[int, Pending] = {}  # by origin offset: a replay overwrites itself
        self.watermark_ms: int | None = None
        self.max_origin = -1
        self.sources: dict[str, tuple[int, float]] = {}  # source -> (latest event ms, wall s)

    def progress(self) -> dict:
        return dict(self.table.get(progress_key(self.partition)) or {
            "settled_through": None, "watermark": None, "max_origin": -1,
            "late": 0, "late_through": -1})

    def receive(self, origin: int, event: CanonicalEvent, handle: Any = None,
                source: str = "", wall_s: float | None = None) -> Outcome:
        event_ms = int(event.timestamp.timestamp() * 1000)
        progress = self.progress()
        settled_through = progress["settled_through"]
        self.max_origin = max(self.max_origin, origin)
        if settled_through is not None and event_ms < settled_through + MINUTE_MS:
            if origin <= progress["max_origin"] or origin <= progress["late_through"]:
                return Outcome(replayed=True)
            progress["late"] += 1
            progress["late_through"] = origin
            self._write_progress(progress)
            return Outcome(late=True)
        earlier = self.pending.get(origin)
        self.pending[origin] = Pending(event_ms, event.event_id, origin, event, handle)
        self.watermark_ms = max(self.watermark_ms or 0, progress["watermark"] or 0,
                                self._source_watermark(source, event_ms, wall_s))
        return Outcome(settled=self.settle(progress),
                       superseded=earlier.handle if earlier is not None else None)

    def _source_watermark(self, source: str, event_ms: int, wall_s: float | None) -> int:
        wall_s = time.monotonic() if wall_s is None else wall_s
        latest, _ = self.sources.get(source, (event_ms, wall_s))
        self.sources[source] = (max(latest, event_ms), wall_s)
        active = [ms for ms, seen in self.sources.values()
                  if wall_s - seen <= self.settings.source_idle_seconds]
        return min(active)

    def settle(self, progress: dict) -> list[Pending]:
        """Apply every minute the watermark has settled; returns the events applied.

        The last settled minute is the last one whose end plus the allowed lateness the
        watermark has reached, with events or without: an event for it arriving later is late.
        """
        limit = self.watermark_ms - self.settings.allowed_lateness_ms
        last_settled = limit - limit % MINUTE_MS - MINUTE_MS
        if progress["settled_through"] is not None and last_settled <= progress["settled_through"]:
            return []
        due = [p for p in self.pending.values() if p.event_ms < last_settled + MINUTE_MS]
        by_minute: dict[int, list[Pending]] = {}
        for pending in due:
            by_minute.setdefault(pending.event_ms - pending.event_ms % MINUTE_MS, []).append(pending)
        for minute in sorted(by_minute):
            self._apply_minute(minute, sorted(by_minute[minute]))
        for pending in due:
            del self.pending[pending.origin]
        progress["settled_through"] = last_settled
        progress["watermark"] = self.watermark_ms
        progress["max_origin"] = max(progress["max_origin"], self.max_origin)
        self._write_progress(progress)
        return due

    def _apply_minute(self, minute_ms: int, events: list[Pending]) -> None:
        ws = WorkingSet(self.table, self.partition, minute_ms)
        for pending in events:
            ctx = self._context(ws, pending)
            for apply in FAMILIES:
                apply(ctx)
        ws.flush()

    def _context(self, ws: WorkingSet, pending: Pending) -> EventContext:
        event, event_ms = pending.event, pending.event_ms
        day = business_day(event_ms, self.settings.timezone)
        user = ws.entity("user", event.user_key)
        user_is_new = user is None
        if user is None:
            user = ws.create("user", event.user_key, {"first_ms": event_ms, "first_day": day})
        session = self._session(ws, user, event, event_ms)
        return EventContext(ws, event, event_ms, day, windows_of(event_ms, self.settings.timezone),
                            session, user, user_is_new, self.settings)

    def _session(self, ws: WorkingSet, user: dict, event: CanonicalEvent, event_ms: int) -> dict:
        if event.session_id is not None:
            # A session belongs to one device: the same id from two user keys is two sessions.
            ident = f"{event.user_key}~{event.session_id}"
            session = ws.entity("session", ident) or ws.create("session", ident, _new_session(
                ident, event, event_ms))
        else:
            session = user.get("session")
            if session is None or event_ms - session["last_ms"] > self.settings.session_timeout_ms:
                session = _new_session(f"{event.user_key}@{event_ms}", event, event_ms)
                user["session"] = session
        session["last_ms"] = event_ms
        return session

    def _write_progress(self, progress: dict) -> None:
        progress[PARTITION] = self.partition
        progress[APPLIED] = progress["settled_through"]
        self.table[progress_key(self.partition)] = progress


def _new_session(ident: str, event: CanonicalEvent, event_ms: int) -> dict:
    # Channel and device are those of the session's first event, and never change.
    return {"id": ident, "channel": str(event.channel), "device": str(event.device),
            "first_ms": event_ms, "last_ms": event_ms}
