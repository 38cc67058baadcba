"""The KPI engine of one partition: buffers events until the watermark passes them, then
applies them to every KPI family in event-time order.

Why wait for the watermark: with out-of-order events, sessions, "first event of a session" and
distinct counts depend on the order events are applied in. Applying events sorted by (event
time, event_id) once nothing earlier can come makes every settled KPI a pure function of the
set of events in it, equal to a batch recomputation, whatever order they arrived in and however
often replayed.

Event time is applied up to the watermark less the allowed lateness (``settle``), with every
batch, in memory: an event shows in /metrics and /kpis as soon as the watermark has passed it
(``shown_progress``, ``shown_aggregate``), about the allowed lateness after its time. What was
applied is written at checkpoints (every ``KPIWATCH_CHECKPOINT_INTERVAL``), each record once
however many batches changed it, and only then are its events acknowledged. A minute is
settled once applied whole and written. An event before the point applied is late: counted,
sent to the dead letters by the caller, and not applied (what was applied is written first,
so that a replay after a crash judges it late too).

The watermark is the latest event time of the slowest input partition, as the ingesters report
it with every batch (``observe_sources``; an input partition whose latest event time has not
moved for ``source_idle_timeout`` of wall time stops holding it back, one not reported yet
holds it back from the start, one read to its end counts as going on at the wall clock's pace
from its latest event): when one input partition stalls, say while its worker is replaced,
the others cannot rush the watermark ahead and make its backlog late. When all input
stops, the watermark goes on at the wall clock's pace (``observe_sources``). The input
partitions heard of are kept in the progress record, for whoever takes the partition over.

Events stay unacknowledged (Faust ``noack``) until they are applied and written, so the
committed offset never passes an event whose effect could be lost in a crash. After a crash the
uncommitted events come back; those applied already are recognised through the progress record
(``max_origin``: the highest origin offset received at its last checkpoint) and skipped; a late
event is counted once (``late_through``: the origin of the last late event counted; late events
are counted in arrival order). Writes are ordered as
streams/kpis/working_set.py explains.

Duplicates are dropped here, exactly: a copy of an event (same ``event_id``) has the same
timestamp, so it arrives while the first copy waits in ``pending`` (a copy arriving after the
first was applied is late, like any event that old): it is dropped and counted when the first
is applied (``duplicate_events`` in the progress record). The first copy holds the
committed offset back, so a crash replays the copies with it and nothing needs remembering. A
copy from the same input message is ingestion's own replay (streams/ingest.py), dropped
uncounted. An ``order_completed`` whose ``order_id`` was completed before (within
``dedup_horizon``, an ``order`` entity with an expiry timer) is dropped whole when applied
(``duplicate_orders``).

Timers (a session's end, a cart's or a checkout's abandonment, a user's expiry) run on event
time, in the same order: a slice's events and the timers due in it are applied together,
sorted by instant, and **a timer due at instant D fires after every event at D or earlier and
before any event after D** (an event exactly ``session_timeout`` after the last one continues
the session; one exactly ``abandon_after`` after the last cart activity keeps the cart open).
Timers of one entity due at the same instant fire in the order listed in ``TIMERS``. A timer
fires when the watermark passes it (less the allowed lateness), whether or not any event falls
near it: the watermark moving on is enough. Its effect is counted in the windows of D.

Window aggregates are kept for their size's retention (``KpiSettings.window_retention_ms``)
after their end, then deleted by the same sweep that deletes ended entities.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from models import CanonicalEvent
from streams.batches import EMPTY, partition_of
from streams.kpis import (
    acquisition,
    carts,
    checkout,
    funnel,
    identity,
    journey,
    retention,
    revenue,
    traffic,
)
from streams.kpis.context import EventContext, TimerContext
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.working_set import (
    PARTITION,
    TimerBuckets,
    WorkingSet,
    applied_until_ms,
    expire_windows,
    progress_key,
    shown_aggregate,
    write_checkpoint,
)
from streams.windows import MINUTE_MS, business_day, windows_of

FAMILIES: tuple[Callable[[EventContext], None], ...] = (
    traffic.apply, funnel.apply, checkout.apply, carts.apply, revenue.apply, acquisition.apply,
    retention.apply, journey.apply,
)


def _order_expired(ctx: TimerContext) -> None:
    # An order is remembered for dedup_horizon after its first order_completed.
    ctx.ws.end("order", ctx.ident)


def _user_expired(ctx: TimerContext) -> None:
    # Forgotten after user_ttl of inactivity (> 60 days, so MAU and churn are unaffected): a user key
    # seen again after that counts as a new user.
    ctx.ws.end("user", ctx.ident)


# Per entity kind, its timers in the order they fire when due at the same instant.
TIMERS: dict[str, tuple[tuple[str, Callable[[TimerContext], None]], ...]] = {
    "session": (("end", traffic.session_ended),),
    "cart": (("checkout", checkout.checkout_abandoned), ("idle", carts.idle),
             ("expire", carts.expired)),
    "user": (("activation", journey.activation_ended), ("expire", _user_expired)),
    "order": (("expire", _order_expired),),
    "link": (("expire", identity.expired),),
}


@dataclass(order=True)
class Pending:
    event_ms: int
    event_id: str
    origin: int = field(compare=False)
    event: CanonicalEvent = field(compare=False)
    handle: Any = field(compare=False, default=None)  # what the caller acks once applied
    position: str = field(compare=False, default="")  # the input message it came from
    duplicates: int = field(compare=False, default=0)  # later copies dropped (same event_id)


@dataclass
class Applied:
    """What one ``settle`` did: the events it applied (in memory, shown at once) and those it
    wrote at a checkpoint (which may be acknowledged now)."""

    shown: list[Pending] = field(default_factory=list)
    written: list[Pending] = field(default_factory=list)


class SliceRun:
    """A slice being applied in memory: the part of one minute from ``ws.start_ms`` to the
    engine's point, continued batch by batch, written at the engine's next checkpoint. Applied
    in pieces, its events and timers go in the same order as if applied at once: a piece ends
    at the watermark (less the allowed lateness), and an event before it that comes later is
    late (``PartitionEngine.receive`` writes what was applied first, so that a replay after a
    crash finds it late too)."""

    def __init__(self, engine: PartitionEngine, start_ms: int, previous: SliceRun | None,
                 checkpoint_ms: int):
        minute = start_ms - start_ms % MINUTE_MS
        tz = engine.settings.timezone
        # Every instant of a minute has the minute's windows (``ws.windows``) and business day
        # (time zone offsets are whole minutes).
        self.day = business_day(minute, tz)
        self.ws = WorkingSet(engine.table, engine.buckets, start_ms, minute + MINUTE_MS,
                             previous.ws if previous is not None else None, checkpoint_ms,
                             windows_of(minute, tz))
        self.applied: list[Pending] = []
        self.orders: set[str] = set()  # orders completed in this slice (revenue.order_ident)
        self.repeated = 0  # order_completed dropped: their order_id was completed before
        # Wake-ups due in the minute from the start on: (instant, kind, ident), a heap.
        self.timers: list[tuple[int, str, str]] = []
        for kind, ident in self.ws.wakeups(minute):  # (in any order: the heap orders them)
            wake = self.ws.wake_of(kind, ident)
            if wake is not None and start_ms <= wake < minute + MINUTE_MS:
                self.timers.append((wake, kind, ident))
        heapq.heapify(self.timers)


@dataclass
class Outcome:
    """What became of one received event, and which handles may be acknowledged now."""

    late: bool = False
    replayed: bool = False
    duplicate: bool = False  # a copy of a pending event (same event_id): dropped
    elsewhere: bool = False  # late, and another partition's to count (streams/kpis/identity.py)
    settled: list[Pending] = field(default_factory=list)
    superseded: Any = None  # the handle of an earlier delivery of the same origin


class PartitionEngine:
    def __init__(self, table: MutableMapping[str, dict], partition: int,
                 settings: KpiSettings) -> None:
        self.table = table
        self.partition = partition
        self.settings = settings
        self.pending: dict[int, Pending] = {}  # by origin offset: a replay overwrites itself
        self.by_id: dict[str, Pending] = {}  # the same, by event_id: copies are duplicates
        self.watermark_ms: int | None = None
        self.max_origin = -1
        # input partition -> (latest event ms or None, wall s it last moved)
        # A partition taken over (a restart, a rebalance) remembers the input partitions it
        # heard of: one whose ingester died keeps holding the watermark back until it is polled
        # again or the idle timeout passes, so its backlog is not made late meanwhile.
        now = time.monotonic()
        self.sources: dict[str, tuple[int | None, float]] = {
            name: (latest, now) for name, latest in (self.progress().get("sources") or {}).items()}
        self.buckets = TimerBuckets(table, partition)
        self.caught_up: set[str] = set()  # input partitions read to their end, as last reported
        self._minute: tuple[tuple, str] = ((), "")  # the applied slice's windows and day
        # Applied in memory, not written yet: event time up to ``point``, in these slices.
        self.point: int | None = applied_until_ms(self.progress())
        self.runs: list[SliceRun] = []
        # Pending, not applied yet: a heap of (event_ms, event_id, origin, pending).
        self.waiting: list[tuple[int, str, int, Pending]] = []
        self.dirty = False  # an event applied in memory came again: apply them all again
        self.checkpoint_every_s = settings.checkpoint_every_s
        self.checkpoint_events = settings.checkpoint_events
        # Partitions taken over together checkpoint at staggered moments, not all in the same
        # few batches: each checkpoint holds the agent (and every partition's events) up.
        self._checkpointed_at = now - (partition * 0.382) % 1 * self.checkpoint_every_s

    def progress(self) -> dict:
        return dict(self.table.get(progress_key(self.partition)) or {
            "settled_through": None, "watermark": None, "max_origin": -1,
            "late": 0, "late_through": -1})

    def receive(self, origin: int, event: CanonicalEvent, handle: Any = None,
                source: str | None = "", wall_s: float | None = None, position: str = "",
                settle: bool = True, progress: dict | None = None) -> Outcome:
        """Takes one event: late, a replay of one applied already, a duplicate of a pending
        one, or pending until the watermark passes it. ``source`` names the input partition it came
        from, which moves the watermark (None: the caller reports the sources' progress with
        ``observe_sources``); ``position`` the input message (a copy from the same message is
        ingestion's replay, not a duplicate in the input). ``settle=False`` leaves settling
        to the caller (``settle``), once per batch, who then passes one ``progress`` (read
        once: late events update it) to every ``receive`` of the batch and to ``settle``."""
        event_ms = int(event.timestamp.timestamp() * 1000)
        progress = self.progress() if progress is None else progress
        applied_until = applied_until_ms(progress)
        intent = progress.get("applying")
        written: list[Pending] = []
        if intent is not None and origin > intent["through"]:
            # A crashed checkpoint being replayed: this event came after it, when what it
            # covers was written already.
            applied_until = intent["until"]
        elif self._ahead_of(applied_until) and event_ms < self.point:
            # Late: before what is applied in memory. Written first, so that a replay after
            # a crash finds it late too.
            written = self._checkpoint(progress)
            applied_until = self.point
        self.max_origin = max(self.max_origin, origin)
        if applied_until is not None and event_ms < applied_until:
            if origin <= progress["max_origin"] or origin <= progress["late_through"]:
                return Outcome(replayed=True, settled=written)
            if not self._counts_late(event):
                return Outcome(elsewhere=True, settled=written)
            progress["late"] += 1
            progress["late_through"] = origin
            self._write_progress(progress)
            return Outcome(late=True, settled=written)
        self.watermark_ms = max(self.watermark_ms or 0, progress["watermark"] or 0)
        if source is not None:
            self.observe_sources({source: event_ms}, wall_s)
        outcome = Outcome()
        first = self.by_id.get(event.event_id)
        if first is not None and first.origin != origin:
            # Exact dedup: every copy of an event has its timestamp, so all copies arrive
            # while its minute is pending (a copy after that is late). The first copy holds
            # the committed offset back, so a crash replays the copies with it.
            outcome.duplicate = True
            if not position or position != first.position:
                first.duplicates += 1
        else:
            if first is not None:  # the same event delivered again: this copy replaces it
                outcome.superseded = first.handle
                self.dirty = True
            pending = Pending(event_ms, event.event_id, origin, event, handle, position)
            self.pending[origin] = self.by_id[event.event_id] = pending
            heapq.heappush(self.waiting, (event_ms, event.event_id, origin, pending))
        if settle:
            outcome.settled = self.settle(progress).written
        return outcome

    def _counts_late(self, event: CanonicalEvent) -> bool:
        """Whether this partition counts the event if it is late. Every partition receives the
        links and the user-id-only events (streams/kpis/identity.py): a late link is counted
        nowhere (it is no event of the shop), a late user-id-only event by its user id's
        partition only."""
        if event.type == "identity_link":
            return False
        if event.anonymous_id is None:
            return partition_of(event.user_id, self.settings.partitions) == self.partition
        return True

    def observe_sources(self, reported: dict[str, int | None], wall_s: float | None = None,
                        inputs: dict[str, int] | None = None,
                        caught_up: Iterable[str] = ()) -> None:
        """Moves the watermark to the slowest active input partition's event time.

        ``reported``: input partition -> its latest event time (ms), None if it has none yet,
        EMPTY if it never had a message (it holds nothing back);
        ``inputs``: input topic -> its partition count, so that a partition nobody reported
        yet (its ingester dead, its reassignment not through) is known and holds back too;
        ``caught_up``: the reported partitions read to their end: their next event is not
        written yet, so event time is taken to go on for them at the wall clock's pace from
        their latest event (a partition with one order a minute would otherwise hold every
        event back until its next order: seconds of latency at a live shop's pace).
        A partition is active until its latest event time has not moved for
        ``source_idle_seconds`` of wall time; an active one without events holds the
        watermark where it is.

        When none is active, all input stopped (the ingesters go on reporting their progress
        without events, streams/ingest.py): event time is taken to go on at the wall clock's
        pace from where each input partition fell silent, the watermark moves to the latest
        of these, and the minutes after the last event settle empty, as a live shop's
        would. A monitor whose input stopped shows the traffic falling to zero and the
        last minutes received, instead of nothing new until traffic resumes. Events arriving
        after that, stamped before the watermark less the allowed lateness, are late.
        """
        wall_s = time.monotonic() if wall_s is None else wall_s
        sources = self.sources
        for topic, count in (inputs or {}).items():
            for partition in range(count):
                sources.setdefault(f"{topic}:{partition}", (None, wall_s))
        for name, latest in reported.items():
            known = sources.get(name)
            if known is None or (latest is not None and (known[0] is None or latest > known[0])):
                sources[name] = (latest, wall_s)
        self.caught_up.difference_update(reported)
        self.caught_up.update(caught_up)
        idle_after = self.settings.source_idle_seconds
        active = []
        for name, (ms, seen) in sources.items():
            if wall_s - seen > idle_after or ms == EMPTY:
                continue
            if name not in self.caught_up:
                active.append(ms)
            elif ms is not None:  # (one read to its end without events holds nothing back)
                active.append(ms + int((wall_s - seen) * 1000))
        if active and None not in active:
            self.watermark_ms = max(self.watermark_ms or 0, min(active))
        elif not active:
            silent = [ms + int((wall_s - seen) * 1000) for ms, seen in sources.values()
                      if ms is not None and ms != EMPTY]
            if silent:
                self.watermark_ms = max(self.watermark_ms or 0, max(silent))

    def slowest_sources(self, count: int = 3) -> list[tuple[str, int | None]]:
        """The input partitions furthest behind (for logs)."""
        return sorted(((name, latest) for name, (latest, _) in self.sources.items()),
                      key=lambda item: -1 if item[1] is None else item[1])[:count]

    def settle(self, progress: dict) -> Applied:
        """Applies the events and timers the watermark has passed, in memory; writes them at
        a checkpoint when one is due. Returns the events applied and those written.

        Event time is applied up to the watermark less the allowed lateness, continuing the
        slices applied before (``SliceRun``): what they add shows in /metrics and /kpis at
        once (``shown_progress``, ``shown_aggregate``). They are written at the next
        checkpoint: after ``checkpoint_every_s`` of wall time, once ``checkpoint_events``
        events wait for one, or, when every input partition is read to its end, as soon as
        a minute settles (``_checkpoint_due``). A checkpoint writes each slice's state once,
        however many batches added to it, and only then may its events be acknowledged.

        A checkpoint is recorded in the progress record before its writes (``applying``: the
        event time it covers and the last origin received): after a crash its replay waits
        until that origin is received again, then applies exactly the same events in the same
        slices, whatever the watermark and the wall clock say then.
        """
        if progress.get("swept_through", progress["settled_through"]) != progress["settled_through"]:
            self._sweep(progress["swept_through"], progress["settled_through"], progress)
        intent = progress.get("applying")
        if intent is not None:
            if self.max_origin < intent["through"]:
                return Applied()  # the replay of a crashed checkpoint: not all its events are back
            self._rebuild(intent["from"])
            shown = self._advance(intent["until"], intent["from"], through=intent["through"])
            return Applied(shown, self._checkpoint(progress, intent))
        if not self.watermark_ms:
            return Applied()
        if self.dirty:
            self._rebuild(applied_until_ms(progress))
        shown = self._advance(self.watermark_ms - self.settings.allowed_lateness_ms,
                              applied_until_ms(progress))
        written = self._checkpoint(progress) if self._checkpoint_due(progress) else []
        return Applied(shown, written)

    def _rebuild(self, point: int | None) -> None:
        """Forgets what was applied in memory since the last checkpoint: it is applied again
        from the events still pending (an event came for event time applied already)."""
        self.runs = []
        self.point = point
        self.waiting = sorted((p.event_ms, p.event_id, p.origin, p) for p in self.pending.values())
        self.dirty = False

    def _advance(self, until: int, written: int | None, through: int | None = None
                 ) -> list[Pending]:
        """Applies, in memory, the waiting events before ``until`` (those received up to
        origin ``through``, if given) and the timers due before it; returns the events.
        ``written``: where the last checkpoint ended (None: nothing written yet)."""
        start = self.point
        if start is None:  # nothing applied yet: from the minute of the first event
            first = self.waiting[0][0] if self.waiting else until
            start = first - first % MINUTE_MS
        if until <= start:
            return []
        due: list[Pending] = []
        held: list[tuple[int, str, int, Pending]] = []  # due, but received after ``through``
        waiting = self.waiting
        while waiting and waiting[0][0] < until:
            entry = heapq.heappop(waiting)
            if through is None or entry[2] <= through:
                due.append(entry[3])
            else:
                held.append(entry)
        for entry in held:
            heapq.heappush(waiting, entry)
        # Slices start at minutes and where the last checkpoint ended, wherever the batches
        # ended: a replay of a checkpoint gives the same ones.
        written = start if written is None else written
        by_minute: dict[int, list[Pending]] = {}
        for pending in due:
            by_minute.setdefault(pending.event_ms - pending.event_ms % MINUTE_MS, []).append(pending)
        for minute in range(start - start % MINUTE_MS, until, MINUTE_MS):
            events = by_minute.get(minute)
            run = self.runs[-1] if self.runs else None
            if run is None or run.ws.minute_ms != minute:
                # (A slice before may have added wake-ups to this minute.)
                if not events and not self._has_wakeups(minute):
                    continue
                run = SliceRun(self, max(written, minute), run, written)
                self.runs.append(run)
            self._apply(run, min(minute + MINUTE_MS, until), events or [])  # (sorted: heap order)
        self.point = until
        return due

    def _has_wakeups(self, minute: int) -> bool:
        return self.runs[-1].ws.has_wakeups(minute) if self.runs else minute in self.buckets

    def _ahead_of(self, written: int | None) -> bool:
        """Whether what is applied in memory goes past ``written`` (the progress record's
        ``applied_until``)."""
        return self.point is not None and (written is None or self.point > written)

    def _checkpoint_due(self, progress: dict) -> bool:
        """Whether to checkpoint now. When it is the interval's (or the event count's) turn,
        the interval restarts."""
        durable = applied_until_ms(progress)
        if not self._ahead_of(durable):
            return False
        settles_a_minute = durable is None or self.point // MINUTE_MS > durable // MINUTE_MS
        if not self.runs:  # nothing applied: only the progress record would be written
            return settles_a_minute
        now = time.monotonic()
        if (now - self._checkpointed_at >= self.checkpoint_every_s
                or sum(len(run.applied) for run in self.runs) >= self.checkpoint_events):
            self._checkpointed_at = now
            return True
        # Live, a minute settled is written at once, not at the next interval: alerts judge
        # written, settled windows only (alerts/runner.py), and a Slack message for a window
        # waits for every partition's checkpoint. The interval keeps its phase, so partitions
        # stay staggered. A backlog crosses minutes in every batch: there the interval decides.
        return settles_a_minute and self._live()

    def _live(self) -> bool:
        """Whether every input partition heard of was read to its end, as last reported."""
        return bool(self.sources) and self.caught_up.issuperset(self.sources)

    def _checkpoint(self, progress: dict, intent: dict | None = None) -> list[Pending]:
        """Writes the slices applied in memory, then the progress record; returns their
        events (which may be acknowledged now)."""
        until = self.point
        start = intent["from"] if intent is not None else applied_until_ms(progress)
        if start is None:
            start = self.runs[0].ws.start_ms if self.runs else until - until % MINUTE_MS
        if intent is None and self.runs:
            progress["applying"] = {"from": start, "until": until, "through": self.max_origin}
            self._write_progress(progress)
        for run in self.runs:
            if run.timers:  # due after the cut: the slice continuing the minute fires them
                run.ws.wake_later((kind, ident) for _, kind, ident in run.timers)
        if self.runs:
            write_checkpoint([run.ws for run in self.runs])
        written = [pending for run in self.runs for pending in run.applied]
        for pending in written:
            del self.pending[pending.origin]
            del self.by_id[pending.event_id]
        # Counted with the progress record: a crash before it is written replays the slices,
        # and counts them again from scratch.
        progress.pop("applying", None)
        progress["duplicate_events"] = (progress.get("duplicate_events", 0)
                                        + sum(p.duplicates for p in written))
        progress["duplicate_orders"] = (progress.get("duplicate_orders", 0)
                                        + sum(run.repeated for run in self.runs))
        settled_before = start - start % MINUTE_MS - MINUTE_MS
        progress["applied_until"] = until
        progress["settled_through"] = until - until % MINUTE_MS - MINUTE_MS
        progress["watermark"] = self.watermark_ms
        progress["sources"] = {name: latest for name, (latest, _) in self.sources.items()}
        progress["max_origin"] = max(progress["max_origin"], self.max_origin)
        progress["swept_through"] = settled_before
        self._write_progress(progress)
        self.runs = []
        if progress["settled_through"] > settled_before:
            self._sweep(settled_before, progress["settled_through"], progress)
        return written

    def checkpoint(self) -> list[Pending]:
        """Writes what was applied in memory now, if anything (tests use it to compare two
        runs at the same point)."""
        progress = self.progress()
        if progress.get("applying") or not self._ahead_of(applied_until_ms(progress)):
            return []
        return self._checkpoint(progress)

    def shown_progress(self, stored: dict | None) -> dict | None:
        """The progress record as /metrics and /kpis show it: applied up to the point applied
        in memory."""
        if stored is None or not self._ahead_of(applied_until_ms(stored)):
            return stored
        return {**stored, "applied_until": self.point}

    def shown_aggregate(self, key: str, stored: dict | None) -> dict | None:
        """A window aggregate as /metrics and /kpis show it: with what the slices applied in
        memory add to it."""
        return shown_aggregate([run.ws for run in self.runs], key, stored) if self.runs else stored

    def _sweep(self, swept_through: int, settled_through: int, progress: dict) -> None:
        """Deletes what ended in the settled minutes after ``swept_through``, and the window
        aggregates whose retention ran out in them."""
        deleted = False
        for minute in range(swept_through + MINUTE_MS, settled_through + MINUTE_MS, MINUTE_MS):
            deleted |= self.buckets.sweep(minute)
        deleted |= expire_windows(self.table, self.partition, swept_through + MINUTE_MS,
                                  settled_through + MINUTE_MS, self.settings.window_retention_ms,
                                  self.settings.timezone)
        progress["swept_through"] = settled_through
        if deleted:
            self._write_progress(progress)

    def _apply(self, run: SliceRun, until: int, events: list[Pending]) -> None:
        """Continues a slice up to ``until``: its events (sorted, all before ``until``) and
        the timers due before it, in instant order."""
        ws, timers = run.ws, run.timers
        self._minute = (run.ws.windows, run.day)
        index = 0
        while True:
            while ws.due_now:
                heapq.heappush(timers, ws.due_now.pop())
            if index < len(events) and (not timers or events[index].event_ms <= timers[0][0]):
                pending = events[index]
                index += 1
                event = pending.event
                if event.type == "identity_link":
                    identity.link(ws, event, pending.event_ms, self.settings)
                    pending.duplicates = 0  # (links are no events of the shop)
                    continue
                if event.anonymous_id is None:
                    key = identity.resolved_key(ws, event)
                    if partition_of(key, self.settings.partitions) != self.partition:
                        pending.duplicates = 0  # its device's partition applies and counts it
                        continue
                    if key != event.user_id:
                        event = identity.as_device(event, key)
                if self._repeated_order(ws, event, pending.event_ms, run.orders):
                    run.repeated += 1
                    continue
                ctx = self._context(ws, event, pending.event_ms)
                for apply in FAMILIES:
                    apply(ctx)
            elif timers and timers[0][0] < until:
                self._fire(ws, *heapq.heappop(timers))
            else:
                break
        run.applied.extend(events)

    def _fire(self, ws: WorkingSet, at_ms: int, kind: str, ident: str) -> None:
        state = ws.alive(kind, ident)
        if state is None or state.get("wake") != at_ms:
            return  # stale: the entity ended or moved its timers since
        del state["wake"]
        ctx = TimerContext(ws, kind, ident, state, at_ms, self.settings)
        for name, handler in TIMERS[kind]:
            if ws.alive(kind, ident) is state and state["timers"].get(name) == at_ms:
                del state["timers"][name]
                handler(ctx)
        if ws.alive(kind, ident) is state:
            ws.arm(kind, ident, state, at_ms)

    def _repeated_order(self, ws: WorkingSet, event: CanonicalEvent, event_ms: int,
                        seen: set[str]) -> bool:
        """An order_completed whose order_id was completed before under the same user key
        (within dedup_horizon): dropped whole. ``seen`` holds this slice's orders: a replay of
        the slice after a crash finds its own earlier write (``first_ms`` in this slice), which
        is no repeat."""
        if event.type != "order_completed":
            return False
        ident = revenue.order_ident(event)
        known = ws.alive("order", ident)
        if ident in seen or (known is not None and known["first_ms"] < ws.start_ms):
            return True
        seen.add(ident)
        state = ws.create("order", ident, {
            "first_ms": event_ms, "timers": {"expire": event_ms + self.settings.dedup_horizon_ms}})
        ws.arm("order", ident, state, event_ms)
        return False

    def _context(self, ws: WorkingSet, event: CanonicalEvent, event_ms: int) -> EventContext:
        settings = self.settings
        windows, day = self._minute
        user = ws.alive("user", event.user_key)
        user_is_new = user is None
        if user is None:
            user = ws.create("user", event.user_key, {"first_ms": event_ms, "first_day": day})
        user.setdefault("timers", {})["expire"] = event_ms + settings.user_ttl_ms
        ws.arm("user", event.user_key, user, event_ms)
        session = self._session(ws, event, event_ms)
        return EventContext(ws, event, event_ms, day, windows, session, user, user_is_new,
                            settings)

    def _session(self, ws: WorkingSet, event: CanonicalEvent, event_ms: int) -> dict:
        # A session ends after session_timeout of inactivity, with or without a session_id
        # (its "end" timer). A session belongs to one device: the same session_id from two
        # user keys is two sessions. The length prefix keeps the two kinds of ident apart.
        user = event.user_key
        ident = f"{len(user)}:{user}" + ("" if event.session_id is None else f"~{event.session_id}")
        session = ws.alive("session", ident)
        if session is None:
            campaign = self.settings.campaign(getattr(event, "utm_campaign", None))
            session = ws.create("session", ident, _new_session(f"{ident}@{event_ms}", event,
                                                                event_ms, campaign))
        session["last_ms"] = event_ms
        session["timers"] = {"end": event_ms + self.settings.session_timeout_ms}
        ws.arm("session", ident, session, event_ms)
        return session

    def _write_progress(self, progress: dict) -> None:
        progress[PARTITION] = self.partition
        self.table[progress_key(self.partition)] = dict(progress)  # a value, not a live dict


def _new_session(ident: str, event: CanonicalEvent, event_ms: int, campaign: str) -> dict:
    # Channel, campaign and device are those of the session's first event, and never change.
    return {"id": ident, "channel": str(event.channel), "device": str(event.device),
            "campaign": campaign, "first_ms": event_ms, "last_ms": event_ms}
