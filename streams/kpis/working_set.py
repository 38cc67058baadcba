"""The state one slice of event time touches, and how a checkpoint writes it.

A slice is the part of one minute applied in one go (streams/kpis/engine.py): from the minute's
start, or from where the last checkpoint ended, to the minute's end or the watermark. The
engine applies slices in memory, each continuing the states of the one before (``previous``),
and writes them together at a checkpoint (``write_checkpoint``): each record once, with
everything the checkpoint's slices did to it, marked with the checkpoint's start
(``applied_slice``). Checkpoints follow each other without overlap.

Crash safety comes from the order of the writes. All of a partition's state lives in one
table, so its changelog partition holds the writes in order and a crash keeps a prefix of
them. A checkpoint writes window aggregates, then timer buckets, then entity states kind by
kind (``WRITE_ORDER``), then the partition's progress record. Replaying a checkpoint after a
crash (the engine replays exactly the same events in the same slices, see ``applying`` there)
completes exactly the writes that were missing:
- if some aggregates are missing, no bucket or entity was written yet: the replay starts from
  the same entity states as the first run and adds the same increments; an aggregate written
  already (marked with the checkpoint) is not written again;
- if the crash came later, every phase before the last one with a record written already is
  skipped whole, and that phase and the ones after it are computed from states nobody wrote
  yet, as the first run computed them. (A kind's updates read only its own states, fixed
  fields of other kinds, or states of the kinds written after it: a cart reads its session's
  id, which changes when the session ends and the next begins, so carts are written first.)

Timers live in the same table. An entity with timers (a session's end, a cart's abandonment)
keeps them in ``timers`` (name -> instant, ms) and one wake-up instant ``wake`` (never later
than its earliest timer); the timer bucket of a minute lists the entities with a wake-up in
that minute (each slice of the minute reads it and fires those due in the slice). It is kept
in parts, one per checkpoint that added to it (``TimerBuckets``). Buckets are written after
the aggregates and before the entities, so the argument above covers them: a replay adds the
same wake-ups, and a part written already is not written again. A wake-up whose entity has moved
on (a later activity moved its timers) is stale and skipped when it comes due; the entity is
then woken again at its new earliest timer, so each entity sits in one bucket at a time.

An entity that ends (a session timed out, a cart ordered) is not deleted in the slice it ends:
a replay of that slice must still find it. It is written as an end marker (``ended``), which
every reader treats as absent, and listed in the bucket of that minute; once the whole minute
is settled and recorded in the progress record, ``sweep`` deletes the markers and the bucket
(Faust ``del``: a tombstone in the changelog). A settled minute is never replayed, and a
marker is absent to every reader, so a crash before, during or after the sweep changes no KPI;
the next settle sweeps again what is left.

Window aggregates expire the same way, by the same sweep: once the partition has settled a
window's end plus its size's retention (``KpiSettings.window_retention_ms``), ``expire_windows``
deletes it. No settled minute is applied again and an event for one is late (counted, never
applied), so nothing can write to an expired window again, nor count into it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from streams.windows import MINUTE_MS, Window, window_of

APPLIED = "applied_slice"
PARTITION = "partition"

Amount = int | Decimal


def aggregate_key(partition: int, window: Window) -> str:
    return f"agg|{partition}|{window.size}|{window.start_ms}"


def entity_key(partition: int, kind: str, ident: str) -> str:
    return f"{kind}|{partition}|{ident}"


def progress_key(partition: int) -> str:
    return f"progress|{partition}"


def applied_until_ms(progress: Mapping) -> int | None:
    """Where a partition's applied event time ends (exclusive; None before anything applied):
    events before it are late. (A progress record written before provisional slices has the
    settled minutes only.)"""
    until = progress.get("applied_until")
    if until is None and progress.get("settled_through") is not None:
        until = progress["settled_through"] + MINUTE_MS
    return until


def bucket_key(partition: int, minute_ms: int, part_ms: int) -> str:
    return f"timers|{partition}|{minute_ms}|{part_ms}"


ENDED = "ended"


def alive(state: dict | None) -> bool:
    return state is not None and not state.get(ENDED)


class TimerBuckets:
    """Where each minute's timer bucket is: in parts, one per slice that added wake-ups to it
    (``timers|<partition>|<minute>|<slice>``), so a slice writes only the wake-ups it added,
    not the minute's whole list again (at a live shop's pace, ten slices a second rewrote
    lists of thousands of sessions). The parts of each minute are known in memory, found
    again in the table's keys when a partition is taken over."""

    def __init__(self, table: Mapping[str, dict], partition: int) -> None:
        self.table = table
        self.partition = partition
        self._parts: dict[int, set[str]] = defaultdict(set)
        prefix = f"timers|{partition}|"
        for key in list(table.keys()):
            if key.startswith(prefix):
                self._parts[int(key.split("|")[2])].add(key)

    def __contains__(self, minute_ms: int) -> bool:
        return bool(self._parts.get(minute_ms))

    def entities(self, minute_ms: int) -> set[tuple[str, str]]:
        """The entities with a wake-up in the minute (some may have moved on since)."""
        listed: set[tuple[str, str]] = set()
        for key in self._parts.get(minute_ms, ()):
            bucket = self.table.get(key)
            if bucket is not None:
                listed.update(tuple(entry) for entry in bucket["entities"])
        return listed

    def note(self, minute_ms: int, key: str) -> None:
        """A part of a minute's bucket, written (``write_checkpoint``) or about to be."""
        self._parts[minute_ms].add(key)

    def sweep(self, minute_ms: int) -> bool:
        """Deletes the ended entities listed in a settled minute's bucket, then the bucket."""
        parts = sorted(self._parts.get(minute_ms, ()))
        if not parts:
            return False
        for kind, ident in sorted(self.entities(minute_ms)):
            entity = entity_key(self.partition, kind, ident)
            state = self.table.get(entity)
            if state is not None and state.get(ENDED):
                del self.table[entity]
        for key in parts:
            if key in self.table:
                del self.table[key]
        del self._parts[minute_ms]
        return True


def expire_windows(table: MutableMapping[str, dict], partition: int, settled_from: int,
                   settled_until: int, retention_ms: Mapping[str, int], tz: ZoneInfo) -> bool:
    """Deletes the window aggregates whose retention ran out as the partition settled from
    ``settled_from`` to ``settled_until`` (ends of settled minutes): of each size, those
    ending in that span minus the size's retention. Deleting again deletes nothing."""
    deleted = False
    for size, keep_ms in retention_ms.items():
        for window in windows_ending(size, settled_from - keep_ms, settled_until - keep_ms, tz):
            key = aggregate_key(partition, window)
            if key in table:
                del table[key]
                deleted = True
    return deleted


def windows_ending(size: str, after_ms: int, through_ms: int, tz: ZoneInfo) -> Iterator[Window]:
    """The windows of ``size`` whose end is in (after_ms, through_ms]."""
    window = window_of(size, after_ms, tz)
    while window.end_ms <= through_ms:
        yield window
        window = window_of(size, window.end_ms, tz)


def add_amounts(stored: Any, increment: Amount) -> Amount:
    """Sum of a stored value (money is stored as a decimal string: JSON has no decimals)."""
    if isinstance(stored, str):
        stored = Decimal(stored)
    return (stored or 0) + increment


def storable(amount: Amount) -> int | str:
    return str(amount) if isinstance(amount, Decimal) else amount


# Entity kinds are written in this order (see the module docstring): a kind's updates read
# only its own states, the fixed fields of others, or states of the kinds written after it (an
# order reads the payment method its carts chose; a cart reads its session's id, which changes
# when the session ends and another begins, and the carts its session and user changed; every
# kind's updates depend on the device a user-id-only event resolves to, read from its link).
WRITE_ORDER = ("order", "cart", "customer", "user", "session", "link")


class WorkingSet:
    def __init__(self, table: MutableMapping[str, dict], buckets: TimerBuckets, start_ms: int,
                 end_ms: int, previous: WorkingSet | None = None,
                 checkpoint_ms: int | None = None, windows: Iterable[Window] = ()) -> None:
        """The slice from start_ms, within the minute that ends at or after end_ms (wake-ups
        before end_ms are due in it). ``previous``: the slice before in the same checkpoint,
        whose states this one continues. ``checkpoint_ms``: where the checkpoint that writes
        the slice starts (by default, the slice's start): what its records are marked with.
        ``windows``: the windows of the slice's minute, one of each size (``add_all``)."""
        self.table = table
        # A table that keeps JSON bytes (streams/changelog_writes.py) gives them: an entity is
        # decoded once, not decoded, encoded and decoded again to copy it.
        self._raw: Callable[[str], bytes | None] | None = getattr(table, "raw", None)
        self.buckets = buckets
        self.partition = buckets.partition
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.previous = previous
        self.checkpoint_ms = start_ms if checkpoint_ms is None else checkpoint_ms
        self.minute_ms = start_ms - start_ms % MINUTE_MS
        self._entities: dict[str, dict] = {}
        self._kinds: dict[str, str] = {}
        self._frozen: set[str] = set()
        self._loaded: dict[str, bytes] = {}  # the entities read, as they were
        self._increments: dict[str, dict[str, Amount]] = defaultdict(dict)
        self._windows: dict[str, Window] = {}
        self._by_window: dict[Window, dict[str, Amount]] = {}  # the hot path's shortcut
        self.windows = tuple(windows)
        self._some: dict[int, tuple[Window, ...]] = {}  # ``some_windows``, kept
        # Added by ``add_across``, not spread yet: (id of the windows, metric) -> [windows, sum]
        self._across: dict[tuple[int, str], list] = {}
        self._buckets: dict[int, set[tuple[str, str]]] = defaultdict(set)
        # Wake-ups due in this very slice: (instant, kind, ident), for the engine to merge.
        self.due_now: list[tuple[int, str, str]] = []

    def entity(self, kind: str, ident: str) -> dict | None:
        """The entity's current state (mutable; written back on flush), or None if unknown."""
        key = entity_key(self.partition, kind, ident)
        if key not in self._entities:
            stored, frozen, raw = self._stored(key)
            if stored is None:
                return None
            if frozen:
                self._frozen.add(key)
            # The bytes tell whether it changed: a state read only, a wake-up not due yet, is
            # not written again. Decoded from the table's bytes, the state is a copy of its own
            # already; else a deep copy is made (a nested dict changed in place would change
            # the table's or the slice before's value without a changelog write).
            if raw is None:
                raw = orjson.dumps(stored)
                stored = orjson.loads(raw)
            self._loaded[key] = raw
            self._entities[key] = stored
            self._kinds[key] = kind
        return self._entities[key]

    def _stored(self, key: str) -> tuple[dict | None, bool, bytes | None]:
        """The state a key has before this slice, whether its checkpoint wrote it already (a
        replay after a crash), and its bytes when decoded from them: from the slice before
        that has it, else from the table."""
        previous = self.previous
        while previous is not None:
            if key in previous._entities:  # noqa: SLF001 - a WorkingSet's own fields
                if key in previous._frozen:  # noqa: SLF001 - a WorkingSet's own fields
                    break  # (its write was not done again: the table's state)
                return previous._entities[key], False, None  # noqa: SLF001 - a WorkingSet's own fields
            previous = previous.previous
        if self._raw is None:
            stored, raw = self.table.get(key), None
        else:
            raw = self._raw(key)
            stored = None if raw is None else orjson.loads(raw)
        return stored, stored is not None and stored.get(APPLIED, -1) >= self.checkpoint_ms, raw

    def wake_of(self, kind: str, ident: str) -> int | None:
        """The entity's pending wake-up (None if it has none, is unknown or ended), read
        without loading the entity into this slice (most wake-ups listed are stale)."""
        key = entity_key(self.partition, kind, ident)
        state = self._entities.get(key)
        if state is None:
            state = self._stored(key)[0]
        return state.get("wake") if alive(state) else None

    def wakeups(self, minute_ms: int) -> set[tuple[str, str]]:
        """The entities with a wake-up in the minute, as its timer bucket will list them once
        this slice and the unwritten ones before it are written."""
        listed = set(self.buckets.entities(minute_ms))
        ws: WorkingSet | None = self
        while ws is not None:
            listed |= ws._buckets.get(minute_ms, set())  # noqa: SLF001 - a WorkingSet's own fields
            ws = ws.previous
        return listed

    def has_wakeups(self, minute_ms: int) -> bool:
        ws: WorkingSet | None = self
        while ws is not None:
            if ws._buckets.get(minute_ms):  # noqa: SLF001 - a WorkingSet's own fields
                return True
            ws = ws.previous
        return minute_ms in self.buckets

    def wake_later(self, entries: Iterable[tuple[str, str]]) -> None:
        """Lists entities in this minute's bucket: the wake-ups due after the point this slice
        is cut at, for the slice that continues the minute."""
        self._buckets[self.minute_ms].update(entries)

    def alive(self, kind: str, ident: str) -> dict | None:
        """The entity's state, or None if unknown or ended."""
        state = self.entity(kind, ident)
        return state if alive(state) else None

    def end(self, kind: str, ident: str) -> None:
        """Ends the entity: absent from now on, deleted once its minute is settled."""
        key = entity_key(self.partition, kind, ident)
        self.entity(kind, ident)
        self._entities[key] = {ENDED: True}
        self._kinds[key] = kind
        self._buckets[self.minute_ms].add((kind, ident))

    def arm(self, kind: str, ident: str, state: dict, now_ms: int) -> None:
        """Schedules a wake-up at the entity's earliest timer, unless one is pending already
        at or before it (that one will re-arm when it comes due)."""
        timers = state.get("timers")
        if not timers:
            state.pop("wake", None)
            return
        earliest = min(timers.values())
        wake = state.get("wake")
        if wake is not None and now_ms <= wake <= earliest:
            return
        state["wake"] = earliest
        if earliest < self.end_ms:
            self.due_now.append((earliest, kind, ident))
        else:
            self._buckets[earliest - earliest % MINUTE_MS].add((kind, ident))

    def create(self, kind: str, ident: str, state: dict) -> dict:
        key = entity_key(self.partition, kind, ident)
        self._entities[key] = state
        self._kinds[key] = kind
        return state

    def add(self, window: Window, metric: str, amount: Amount = 1) -> None:
        increments = self._window_increments(window)
        increments[metric] = increments.get(metric, 0) + amount

    def some_windows(self, selected: int) -> tuple[Window, ...]:
        """The ``windows`` whose bits are set in ``selected`` (bit 0: the first), as the same
        tuple each time: for ``add_across``."""
        some = self._some.get(selected)
        if some is None:
            some = self._some[selected] = tuple(
                window for bit, window in enumerate(self.windows) if selected >> bit & 1)
        return some

    def add_all(self, metric: str, amount: Amount = 1) -> None:
        """Adds to the metric in every window of the slice's minute (``windows``, 1m to 1d)."""
        self.add_across(self.windows, metric, amount)

    def add_across(self, windows: tuple[Window, ...], metric: str, amount: Amount = 1) -> None:
        """Adds to the metric in each of ``windows``: kept once per tuple of windows and spread
        over them when read (``spread``), so a counter is bumped once per event, not once per
        window. The caller passes the same tuple object for the same windows (``windows``,
        ``some_windows``, a cache of its own) and keeps it unchanged."""
        key = (id(windows), metric)
        entry = self._across.get(key)
        if entry is None:
            self._across[key] = [windows, amount]  # (holding the tuple keeps its id unique)
        else:
            entry[1] += amount

    def spread(self) -> None:
        """Adds what ``add_across`` kept to each window's increments."""
        if not self._across:
            return
        for (_, metric), (windows, amount) in self._across.items():
            for window in windows:
                increments = self._window_increments(window)
                increments[metric] = increments.get(metric, 0) + amount
        self._across = {}

    def _window_increments(self, window: Window) -> dict[str, Amount]:
        increments = self._by_window.get(window)
        if increments is None:
            key = aggregate_key(self.partition, window)
            self._windows[key] = window
            increments = self._by_window[window] = self._increments[key]
        return increments

    def increments(self, key: str) -> dict[str, Amount] | None:
        """What this slice adds to a window aggregate (None: nothing)."""
        self.spread()
        return self._increments.get(key)


def with_increments(stored: Mapping | None, increments: list[dict[str, Amount]],
                    window: Window, checkpoint_ms: int, partition: int) -> Mapping | None:
    """A window aggregate's stored value with a checkpoint's increments added (the stored
    value itself when the checkpoint wrote them already, or when it adds nothing)."""
    if not increments or (stored is not None and stored.get(APPLIED, -1) >= checkpoint_ms):
        return stored
    values = dict((stored or {}).get("values") or {})
    for added in increments:
        for metric, amount in added.items():
            values[metric] = storable(add_amounts(values.get(metric), amount))
    return {"values": values, "size": window.size, "start": window.start_ms,
            "end": window.end_ms, APPLIED: checkpoint_ms, PARTITION: partition}


def shown_aggregate(slices: list[WorkingSet], key: str, stored: Mapping | None
                    ) -> Mapping | None:
    """A window aggregate with what the slices of a checkpoint not written yet add to it."""
    increments = [added for ws in slices if (added := ws.increments(key))]
    if not increments:
        return stored
    window = next(ws._windows[key] for ws in slices if key in ws._windows)  # noqa: SLF001 - a WorkingSet's own fields
    return with_increments(stored, increments, window, slices[0].checkpoint_ms,
                           slices[0].partition)


def write_checkpoint(slices: list[WorkingSet]) -> None:
    """Writes the slices of one checkpoint (consecutive, each continuing the one before):
    window aggregates, then timer buckets, then entity states by kind in ``WRITE_ORDER``, each
    record once with everything the slices did to it, marked with the checkpoint's start.

    A replay after a crash (the same slices, from the same events) finds some of these written
    already. Everything before the last phase with a record written already was written (the
    order above), so none of it is written again: the replay may compute some of it from
    states the crashed run wrote later (a cart from its session's next id). From that phase
    on, nothing the replay reads was written yet, so it computes what the first run did, and
    writes the records still missing."""
    first = slices[0]
    table, partition, checkpoint_ms = first.table, first.partition, first.checkpoint_ms
    phases: list[list[tuple[str, Any]]] = []  # per phase, (key, value) with None: written already
    increments: dict[str, list[dict[str, Amount]]] = defaultdict(list)
    windows: dict[str, Window] = {}
    buckets: dict[int, set[tuple[str, str]]] = defaultdict(set)
    entities: dict[str, tuple[str, dict]] = {}
    loaded: dict[str, bytes | None] = {}  # as the checkpoint found them (None: created in it)
    frozen: set[str] = set()
    for ws in slices:
        ws.spread()
        for key, added in ws._increments.items():  # noqa: SLF001 - a WorkingSet's own fields
            increments[key].append(added)
            windows[key] = ws._windows[key]  # noqa: SLF001 - a WorkingSet's own fields
        for minute, entries in ws._buckets.items():  # noqa: SLF001 - a WorkingSet's own fields
            buckets[minute] |= entries
        for key, state in ws._entities.items():  # noqa: SLF001 - a WorkingSet's own fields
            entities[key] = (ws._kinds[key], state)  # noqa: SLF001 - a WorkingSet's own fields
            loaded.setdefault(key, ws._loaded.get(key))  # noqa: SLF001 - a WorkingSet's own fields
        frozen |= ws._frozen  # noqa: SLF001 - a WorkingSet's own fields
    aggregates = []
    for key in sorted(increments):
        stored = table.get(key)
        value = with_increments(stored, increments[key], windows[key], checkpoint_ms, partition)
        aggregates.append((key, None if value is stored else value))
    phases.append(aggregates)
    parts = []
    for minute, entries in sorted(buckets.items()):
        key = bucket_key(partition, minute, checkpoint_ms)
        first.buckets.note(minute, key)
        parts.append((key, None if key in table else {
            "entities": sorted(entries), APPLIED: checkpoint_ms, PARTITION: partition}))
    phases.append(parts)
    of_kind: dict[str, list[str]] = defaultdict(list)
    for key, (kind, _) in entities.items():
        of_kind[kind].append(key)
    for kind in WRITE_ORDER:
        states: list[tuple[str, Any]] = []
        for key in sorted(of_kind[kind]):
            if key in frozen:
                states.append((key, None))
                continue
            state, found = entities[key][1], loaded[key]
            if found is not None and orjson.dumps(state) == found:
                continue  # unchanged
            state[APPLIED] = checkpoint_ms
            state[PARTITION] = partition
            states.append((key, state))
        phases.append(states)
    written = [index for index, phase in enumerate(phases)
               if any(value is None for _, value in phase)]
    for phase in phases[written[-1] if written else 0:]:
        for key, value in phase:
            if value is not None:
                table[key] = value
