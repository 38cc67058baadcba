"""Checkout: time from a cart's first checkout_started to its order, checkout abandonment, and
payment failures.

A cart is its ``cart_id``, else its session (its life: streams/kpis/carts.py). State: per
cart, when checkout started and the last step reached. A checkout is abandoned when no order
comes within ``abandon_after`` of the cart's first checkout_started (``checkout`` timer),
counted at that instant under the last step reached by then: one of ``CHECKOUT_STEPS``, else
``other``; ``none`` if no step.
Aggregates, per window: ``checkout_seconds_bucket|<le>`` (cumulative, Prometheus style),
``checkout_seconds_count``, ``checkout_seconds_sum`` (Decimal); ``payment_failures|<method>``
(payment failure rate = failures / (failures + orders), orders from revenue.py; the method is
the failure's own, else the one its cart or session chose at a payment step);
``checkout_abandonments|<step>``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from streams.kpis.context import EventContext, TimerContext
from streams.kpis.working_set import WorkingSet

# 5 s to 2 h: a p95 of "under 5 minutes" and a stuck payment page both resolve.
CHECKOUT_BUCKETS_SECONDS = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
# The steps the input adapters name (GA4 add_shipping_info / add_payment_info, Segment
# Payment Info Entered); a source's own step names or numbers are "other": a bounded label.
CHECKOUT_STEPS = ("shipping", "payment")


def apply(ctx: EventContext) -> None:
    event = ctx.event
    if event.type == "payment_failed":
        method = ctx.settings.payment_method(ctx.payment_method)
        ctx.ws.add_all(f"payment_failures|{method}")
        return
    if event.type == "order_completed":
        for _, cart in ctx.order_carts:
            if "checkout_ms" in cart:
                cart["timers"].pop("checkout", None)
                seconds = Decimal(ctx.event_ms - cart["checkout_ms"]) / 1000
                observe(ctx.ws, "checkout_seconds", seconds, CHECKOUT_BUCKETS_SECONDS)
        return
    if event.type == "checkout_started":
        cart = ctx.open_cart()
        if "checkout_ms" not in cart:
            cart["checkout_ms"] = ctx.event_ms
            cart["timers"]["checkout"] = ctx.event_ms + ctx.settings.abandon_after_ms
    elif event.type == "checkout_step":
        cart = ctx.open_cart()
        cart["last_step"] = event.step if event.step in CHECKOUT_STEPS else "other"
        if event.payment_method is not None:
            # Carried on to the cart's order and its failed payments (``payment_method``).
            cart["payment_method"] = ctx.session["payment_method"] = event.payment_method


def checkout_abandoned(ctx: TimerContext) -> None:
    step = ctx.state.get("last_step", "none")
    ctx.ws.add_all(f"checkout_abandonments|{step}")


def observe(ws: WorkingSet, name: str, seconds: Decimal, buckets: tuple[int, ...]) -> None:
    """One observation of a histogram kept as ``<name>_count``, ``_sum``, ``_bucket|<le>``,
    in every window of the slice's minute."""
    count, total, bucket_names = _histogram_metrics(name, buckets)
    ws.add_all(count)
    ws.add_all(total, seconds)
    for bound, bucket in zip(buckets, bucket_names, strict=True):
        if seconds <= bound:
            ws.add_all(bucket)


@cache
def _histogram_metrics(name: str, buckets: tuple[int, ...]) -> tuple[str, str, tuple[str, ...]]:
    return f"{name}_count", f"{name}_sum", tuple(f"{name}_bucket|{bound}" for bound in buckets)
