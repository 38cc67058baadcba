"""What a KPI family sees of one event: the event, its session and user, its windows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from models import CanonicalEvent
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.working_set import WorkingSet
from streams.windows import Window

ALL_TIME = Window("all", 0, 0)  # "since tracking began" totals
# Cart events: without a cart_id, they change their session's own cart.
SESSION_CART_TYPES = frozenset({"cart_add", "cart_remove"})
# Carts a session or user remembers (the latest changed): a shopper keeps one or two.
REMEMBERED_CARTS = 8


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

    def __post_init__(self) -> None:
        if getattr(self.event, "type", None) == "order_completed":
            self.order_carts  # noqa: B018 -- resolved before the carts family ends them

    @property
    def channel(self) -> str:
        return self.session["channel"]

    @property
    def campaign(self) -> str:
        # (Sessions started before campaigns were tracked have none.)
        return self.session.get("campaign", "other")

    @property
    def device(self) -> str:
        return self.session["device"]

    def cart_ident(self) -> str:
        """The event's cart: its ``cart_id``; else, for a checkout event, the cart its session
        last added to or removed from, else its user (Segment puts ``cart_id`` on cart events
        only); else the session's own cart."""
        if self.event.cart_id is not None:
            return self.event.cart_id
        if self.event.type in SESSION_CART_TYPES:
            return self.session_cart()
        listed = self.listed_carts
        return listed[-1] if listed else self.session_cart()

    def session_cart(self) -> str:
        return f"session:{self.session['id']}"

    @property
    def listed_carts(self) -> tuple[str, ...]:
        """The carts the event's session changed, else its user, oldest first, not closed by an
        order since (an event without ``cart_id`` belongs to them: docs/KPIS.md "Carts and
        checkout"). Only the session's and user's own lists decide, never the state of the
        carts: on a replay after a crash, a cart may read as it was left after the
        checkpoint (streams/kpis/working_set.py)."""
        return tuple(self.session.get("carts") or self.user.get("carts") or ())

    @cached_property
    def order_carts(self) -> tuple[tuple[str, dict], ...]:
        """The live carts an order closes: its ``cart_id``'s, else those listed for its
        session or user (``listed_carts``), else its session's own. Resolved when the context
        is made, before a family ends them (``__post_init__``)."""
        if self.event.cart_id is not None:
            idents: tuple[str, ...] = (self.event.cart_id,)
        else:
            idents = self.listed_carts or (self.session_cart(),)
        found = ((ident, self.ws.alive("cart", ident)) for ident in idents)
        return tuple((ident, cart) for ident, cart in found if cart is not None)

    @cached_property
    def payment_method(self) -> str | None:
        """The raw payment method of an order or a failed payment: the event's own, else the
        one chosen at the last payment step of its cart(s), else of its session (both specs
        carry it on checkout steps, not on the order). Read by aggregates and the order's
        entity only, both written before carts."""
        own = getattr(self.event, "payment_method", None)
        if own is not None:
            return own
        if self.event.type == "order_completed":
            carts = [cart for _, cart in self.order_carts]
        else:
            carts = [self.ws.alive("cart", ident) for ident in self.listed_carts]
        for cart in reversed(carts):
            if cart is not None and cart.get("payment_method") is not None:
                return cart["payment_method"]
        return self.session.get("payment_method")

    def remember_cart(self, ident: str) -> None:
        """Lists the cart as the latest one its session and user changed."""
        for state in (self.session, self.user):
            carts = [known for known in state.get("carts", ()) if known != ident]
            carts.append(ident)
            state["carts"] = carts[-REMEMBERED_CARTS:]

    def forget_carts(self, idents: tuple[str, ...]) -> None:
        """An order closed these: its session and user no longer list them."""
        for state in (self.session, self.user):
            if state.get("carts"):
                state["carts"] = [known for known in state["carts"] if known not in idents]

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
        if type(seen) is dict:  # the older form, still read: the latest start per size
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
