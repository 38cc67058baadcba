"""What a KPI family sees of one event: the event, its session and user, its windows."""

from __future__ import annotations

from dataclasses import dataclass

from models import CanonicalEvent
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.working_set import WorkingSet
from streams.windows import Window

ALL_TIME = Window("all", 0, 0)  # "since tracking began" totals


@dataclass
class EventContext:
    ws: WorkingSet
    event: CanonicalEvent
    event_ms: int
    day: str  # the business day of the event (ISO date)
    windows: tuple[Window, ...]  # the minute's, one of each size (WorkingSet.windows)
    session: dict
    user: dict
    user_is_new: bool
    settings: KpiSettings

    @property
    def channel(self) -> str:
        return self.session["channel"]

    @property
    def device(self) -> str:
        return self.session["device"]

    def cart_ident(self) -> str:
        """A cart is its ``cart_id``, else its session."""
        return self.event.cart_id or f"session:{self.session['id']}"

    def open_cart(self) -> dict:
        """The event's cart, started if it has none (its life: streams/kpis/carts.py)."""
        ident = self.cart_ident()
        return self.ws.alive("cart", ident) or self.ws.create("cart", ident, {
            "channel": self.channel, "first_ms": self.event_ms, "status": "open", "items": 0,
            "value": "0", "timers": {}})

    def first_in(self, state: dict, field: str) -> tuple[Window, ...]:
        """The event's windows in which ``state`` is seen for the first time under ``field``
        (then remembered): where a distinct count (sessions, users, funnel stages) counts it.

        Events reach families in event-time order, so remembering the start of the last
        minute the state was seen in (``state[field]``) is enough: every window holds whole
        minutes, so a window of the event holds that minute, and the state was counted in it
        then, exactly when the window starts at or before it. Windows need not nest (an hour
        can begin on one business day and end on the next, in a zone half an hour off UTC):
        each is compared on its own.
        """
        seen = state.get(field)
        if type(seen) is dict:  # as written before session 10: the latest start per size
            seen = seen.get("1m")
        windows = self.windows
        minute = windows[0].start_ms  # (the event's minute)
        if seen == minute:
            return ()
        state[field] = minute
        if seen is None:
            return windows
        new = 0
        for bit, window in enumerate(windows):
            if window.start_ms > seen:
                new |= 1 << bit
        return self.ws.some_windows(new)


@dataclass
class TimerContext:
    """What a timer handler sees: the entity whose timer is due, and its instant (what it adds
    goes to the windows of that instant's minute: ``ws.add_all``)."""

    ws: WorkingSet
    kind: str
    ident: str
    state: dict
    at_ms: int
    settings: KpiSettings
