"""Funnel: sessions that reached each stage in a window (conversion = orders / sessions).

Aggregates, per window: ``funnel|<stage>|<channel>`` for product_view, cart_add,
checkout_started and order_completed. Stage conversion, conversion rate and add-to-cart rate
are ratios of these and of ``sessions|...`` (streams/kpis/readout.py).
"""

from __future__ import annotations

from streams.kpis.context import EventContext

STAGES = ("product_view", "cart_add", "checkout_started", "order_completed")


def apply(ctx: EventContext) -> None:
    stage = ctx.event.type
    if stage not in STAGES:
        return
    if windows := ctx.first_in(ctx.session, f"stage_{stage}"):
        ctx.ws.add_across(windows, f"funnel|{stage}|{ctx.channel}")
