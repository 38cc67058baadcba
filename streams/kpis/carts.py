"""Carts: abandoned, ordered and recovered carts, and the time from cart to order.

A cart is its ``cart_id``, else its session. A checkout event or an order without ``cart_id``
belongs to the carts its session changed, else its user, that no order closed since
(Segment's spec puts ``cart_id`` on Product Added and Removed only), else to its session's own
cart (``EventContext.cart_ident``, ``order_carts``); a checkout for a cart that has ended
since (abandoned past recovery, or emptied and idle) starts it again. Cart activity is cart_add, cart_remove,
checkout_started and checkout_step; the cart's channel is its session's when the cart is first
seen. A cart's life:
- open: it holds adds minus removes items (quantities) worth their value in the base currency
  (converted as revenue is; a line without a price or a convertible currency leaves the cart
  unvalued). Its ``idle`` timer is due at the last activity + ``abandon_after``.
- an order on an open cart holding >= 1 item counts it as ordered; on an abandoned cart, as
  recovered. Either way the cart is then closed: a later event for the same ident starts a new
  cart. An order without ``cart_id`` closes every listed cart of its session (else its user).
- when ``idle`` comes due, a cart holding >= 1 item is abandoned (counted in the windows of that
  instant, with its value then); an empty one is forgotten. An abandoned cart's activity still
  changes its items but it is not abandoned twice; it is forgotten ``cart_recovery`` after
  its abandonment (``expire`` timer) unless an order recovers it first.
State: per cart, the above. Aggregates, per window: ``abandoned_carts|<channel>``,
``abandoned_cart_value|<channel>`` (Decimal), ``abandoned_carts_unvalued|<channel>``,
``ordered_carts|<channel>``, ``recovered_carts|<channel>``; ``cart_to_order_seconds_*``, a
histogram of the time from a cart's first activity to its order (ordered or recovered carts).
Cart abandonment rate = abandoned / (abandoned + ordered): each cart resolves once.
"""

from __future__ import annotations

from decimal import Decimal

from streams.kpis.checkout import CHECKOUT_BUCKETS_SECONDS, observe
from streams.kpis.context import SESSION_CART_TYPES, EventContext, TimerContext

ACTIVITY = ("cart_add", "cart_remove", "checkout_started", "checkout_step")


def apply(ctx: EventContext) -> None:
    event = ctx.event
    if event.type == "order_completed":
        _order(ctx)
        return
    if event.type not in ACTIVITY:
        return
    ident = ctx.cart_ident()
    cart = ctx.open_cart()
    if event.cart_id is not None or event.type in SESSION_CART_TYPES:
        # (A cart found through the session's or user's list is in it already.)
        ctx.remember_cart(ident)
    if event.type in ("cart_add", "cart_remove"):
        sign = 1 if event.type == "cart_add" else -1
        cart["items"] += sign * event.quantity
        line = (None if event.price is None or event.currency is None else
                ctx.settings.to_base(event.price * event.quantity, event.currency))
        if line is None:
            cart["unvalued"] = True
        else:
            cart["value"] = str(Decimal(cart["value"]) + sign * line)
    if cart["status"] == "open":
        cart["timers"]["idle"] = ctx.event_ms + ctx.settings.abandon_after_ms
    ctx.ws.arm("cart", ident, cart, ctx.event_ms)


def _order(ctx: EventContext) -> None:
    # All the carts the order resolves to leave the lists, whether live or not: what the
    # lists hold never depends on the state of carts.
    if ctx.event.cart_id is not None:
        ctx.forget_carts((ctx.event.cart_id,))
    else:
        ctx.forget_carts(ctx.listed_carts)
    for ident, cart in ctx.order_carts:
        if cart["items"] >= 1:
            resolved = "recovered_carts" if cart["status"] == "abandoned" else "ordered_carts"
            seconds = Decimal(ctx.event_ms - cart["first_ms"]) / 1000
            ctx.ws.add_all(f"{resolved}|{cart['channel']}")
            observe(ctx.ws, "cart_to_order_seconds", seconds, CHECKOUT_BUCKETS_SECONDS)
        ctx.ws.end("cart", ident)


def idle(ctx: TimerContext) -> None:
    cart = ctx.state
    if cart["items"] < 1:
        ctx.ws.end("cart", ctx.ident)
        return
    cart["status"] = "abandoned"
    cart["timers"]["expire"] = ctx.at_ms + ctx.settings.cart_recovery_ms
    channel = cart["channel"]
    ctx.ws.add_all(f"abandoned_carts|{channel}")
    if cart.get("unvalued"):
        ctx.ws.add_all(f"abandoned_carts_unvalued|{channel}")
    else:
        ctx.ws.add_all(f"abandoned_cart_value|{channel}", Decimal(cart["value"]))


def expired(ctx: TimerContext) -> None:
    ctx.ws.end("cart", ctx.ident)
