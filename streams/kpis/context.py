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

        Events reach families in event-time order, so remembering the latest window start
        per size is enough to count each entity once per window. A state seen in the event's
        minute was seen in all the event's windows then (each holds the whole minute), so
        most events stop at the first check. (Not so for larger windows: an hour can begin
        on one business day and end on the next, in a zone half an hour off UTC.)
        """
        seen = state.get(field)
        if seen is None:
            seen = state[field] = {}
        windows = self.windows
        if seen.get(windows[0].size) == windows[0].start_ms:
            return ()
        new = 0
        for bit, window in enumerate(windows):
            if seen.get(window.size) != window.start_ms:
                seen[window.size] = window.start_ms
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
