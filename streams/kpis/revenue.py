"""Revenue: orders, revenue, units and refunds by channel and payment method; customers.

Orders arrive here deduplicated by ``order_id`` (streams/kpis/engine.py). Revenue excludes shipping
and tax and is summed in the base currency only: an order in a currency without a configured
rate is counted under ``unconverted_orders|<currency>`` and never added to revenue.
State: per customer (``user_id`` of an order) the order count and first-order channel.
Aggregates, per window: ``orders|<channel>|<payment method>``, ``revenue|...`` (Decimal),
``units|...``, ``unconverted_orders|<currency>``, ``refunds|<channel>``, ``refunded|<channel>``;
since tracking began (window ``all``): ``customers|<first channel>``,
``repeat_customers|<first channel>``, ``customer_revenue|<first channel>``.
"""

from __future__ import annotations

from streams.kpis.context import ALL_TIME, EventContext


def apply(ctx: EventContext) -> None:
    event = ctx.event
    if event.type == "order_completed":
        _order(ctx)
    elif event.type == "order_refunded":
        amount = ctx.settings.to_base(event.amount, event.currency)
        ctx.ws.add_all(f"refunds|{ctx.channel}")
        if amount is not None:
            ctx.ws.add_all(f"refunded|{ctx.channel}", amount)


def _order(ctx: EventContext) -> None:
    event = ctx.event
    method = ctx.settings.payment_method(event.payment_method)
    amount = ctx.settings.to_base(event.revenue, event.currency)
    units = sum(item.quantity for item in event.items)
    dims = f"{ctx.channel}|{method}"
    if amount is None:
        ctx.ws.add_all(f"unconverted_orders|{event.currency}")
    else:
        ctx.ws.add_all(f"orders|{dims}")
        ctx.ws.add_all(f"revenue|{dims}", amount)
        ctx.ws.add_all(f"units|{dims}", units)
    if event.user_id is None or amount is None:
        return
    customer = ctx.ws.entity("customer", event.user_id)
    if customer is None:
        customer = ctx.ws.create("customer", event.user_id,
                                 {"orders": 0, "first_channel": ctx.channel})
    customer["orders"] += 1
    first_channel = customer["first_channel"]
    if customer["orders"] == 1:
        ctx.ws.add(ALL_TIME, f"customers|{first_channel}")
    elif customer["orders"] == 2:
        ctx.ws.add(ALL_TIME, f"repeat_customers|{first_channel}")
    ctx.ws.add(ALL_TIME, f"customer_revenue|{first_channel}", amount)
