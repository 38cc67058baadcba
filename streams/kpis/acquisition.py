"""Acquisition and economics: what the events say of campaigns, customers won and margin.

What ads cost is not an event: it comes from the spend ledger (streams/kpis/spend.py), read
beside these aggregates. The ratios (CAC, CPA, ROAS, CTR, cost per session, ARPU, gross
margin) are made of both in streams/kpis/readout.py and prometheus/kpis.py.

A session's campaign is the ``utm_campaign`` of its first event, as its channel is that
event's channel; a name outside ``KPIWATCH_CAMPAIGNS`` is ``other``. An order counts under its
session's channel and campaign.

Aggregates, per window:
- ``campaign_sessions|<channel>|<campaign>`` (counted with the sessions, streams/kpis/
  traffic.py), ``campaign_orders|...``, ``campaign_revenue|...`` (base currency; an
  unconverted order counts as an order only, as in revenue.py);
- ``new_customers|<channel>|<campaign>``: orders that are their customer's first (by
  ``user_id``; a guest order without one is never a new customer);
- ``paying_users``: distinct user keys with an order in the window;
- ``cogs|<channel>`` and ``costed_revenue|<channel>``: cost of goods and revenue of the orders
  whose every line has a known unit cost (``KPIWATCH_PRODUCT_COSTS_FILE``, valid at the order's
  time); ``uncosted_orders|<channel>`` and ``uncosted_revenue|<channel>``: the others, left out
  of the margin (never costed at zero).
"""

from __future__ import annotations

from decimal import Decimal

from streams.kpis.context import EventContext
from streams.kpis.revenue import in_base


def apply(ctx: EventContext) -> None:
    if ctx.event.type == "order_completed":
        _order(ctx)


def _order(ctx: EventContext) -> None:
    event, ws = ctx.event, ctx.ws
    dims = f"{ctx.channel}|{ctx.campaign}"
    amount = in_base(ctx, event.revenue, event.currency)
    ws.add_all(f"campaign_orders|{dims}")
    if amount is not None:
        ws.add_all(f"campaign_revenue|{dims}", amount)
    if event.user_id is not None:
        customer = ws.entity("customer", event.user_id)  # (revenue.py counted this order)
        if customer is not None and customer["orders"] == 1:
            ws.add_all(f"new_customers|{dims}")
    if windows := ctx.first_in(ctx.user, "paid"):
        ws.add_across(windows, "paying_users")
    cogs = _cost_of_goods(ctx)
    if cogs is None or amount is None:
        ws.add_all(f"uncosted_orders|{ctx.channel}")
        if amount is not None:
            ws.add_all(f"uncosted_revenue|{ctx.channel}", amount)
    else:
        ws.add_all(f"cogs|{ctx.channel}", cogs)
        ws.add_all(f"costed_revenue|{ctx.channel}", amount)


def _cost_of_goods(ctx: EventContext) -> Decimal | None:
    """The order's cost of goods, or None when it has no lines or a line's cost is unknown."""
    items = ctx.event.items
    if not items:
        return None
    total = Decimal(0)
    for item in items:
        unit = ctx.settings.unit_cost(item.product_id, ctx.event_ms)
        if unit is None:
            return None
        total += unit * item.quantity
    return total
