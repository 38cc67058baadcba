"""Checkout: time from a cart's first checkout_started to its order, and payment failures.

A cart is its ``cart_id``, else its session. State: per cart, when checkout started, the last
step reached, whether it was ordered.
Aggregates, per window: ``checkout_seconds_bucket|<le>`` (cumulative, Prometheus style),
``checkout_seconds_count``, ``checkout_seconds_sum`` (Decimal); ``payment_failures|<method>``
(payment failure rate = failures / (failures + orders), orders from revenue.py).
"""

from __future__ import annotations

from decimal import Decimal

from streams.kpis.context import EventContext

# 5 s to 2 h: a p95 of "under 5 minutes" and a stuck payment page both resolve.
CHECKOUT_BUCKETS_SECONDS = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


def cart_ident(ctx: EventContext) -> str:
    return ctx.event.cart_id or f"session:{ctx.session['id']}"


def apply(ctx: EventContext) -> None:
    event = ctx.event
    if event.type == "payment_failed":
        method = ctx.settings.payment_method(event.payment_method)
        for window in ctx.windows:
            ctx.ws.add(window, f"payment_failures|{method}")
        return
    if event.type not in ("checkout_started", "checkout_step", "order_completed"):
        return
    ident = cart_ident(ctx)
    cart = ctx.ws.entity("cart", ident)
    if cart is None:
        if event.type == "order_completed":
            return  # an order without a checkout: nothing to time
        cart = ctx.ws.create("cart", ident, {})
    if event.type == "checkout_started":
        cart.setdefault("checkout_ms", ctx.event_ms)
    elif event.type == "checkout_step":
        cart["last_step"] = event.step
    elif "checkout_ms" in cart and not cart.get("ordered"):
        cart["ordered"] = True
        _observe(ctx, Decimal(ctx.event_ms - cart["checkout_ms"]) / 1000)


def _observe(ctx: EventContext, seconds: Decimal) -> None:
    for window in ctx.windows:
        ctx.ws.add(window, "checkout_seconds_count")
        ctx.ws.add(window, "checkout_seconds_sum", seconds)
        for bound in CHECKOUT_BUCKETS_SECONDS:
            if seconds <= bound:
                ctx.ws.add(window, f"checkout_seconds_bucket|{bound}")
