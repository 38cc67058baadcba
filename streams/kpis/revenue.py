"""Revenue: orders, revenue, units, cancellations, adjustments and refunds by channel and payment
method; customers.

Orders arrive here deduplicated by ``order_id`` (streams/kpis/engine.py). Revenue excludes
shipping and tax and is summed in the base currency only: an order in a currency without a
configured rate (or with none at all) counts as an order, and its amount goes to
``unconverted_revenue|<currency>`` in its own currency, never into revenue. The payment method
is the order's own, else the one chosen at a payment step of its cart or session
(``EventContext.payment_method``), mapped to the configured names (``KpiSettings``).

An order is remembered for ``dedup_horizon`` under its user key (its ``order`` entity:
base-currency revenue, channel and method), so that later events about it are counted under
its dimensions, in the window of the later event (settled windows never change):
- ``order_cancelled``: ``cancelled_orders|<channel>|<method>`` and ``cancelled_revenue|...``;
  a second cancellation of the same order is not counted again;
- ``order_updated`` with a new revenue: ``revenue_adjustment|...`` += new - old (may be < 0);
- ``order_refunded`` without an amount (a full refund): the order's revenue is refunded.
An order not remembered (older than the horizon, or whose events went to another user key)
still counts its cancellation or refund, under the event's channel, without an amount
(``refunds_unvalued``, ``cancelled_orders`` with method ``other``).

State: per customer (``user_id`` of an order) the order count and first-order channel.
Aggregates, per window: ``orders|<channel>|<payment method>``, ``revenue|...`` (Decimal),
``units|...``, ``unconverted_orders|<currency>``, ``unconverted_revenue|<currency>``,
``cancelled_orders|...``, ``cancelled_revenue|...``, ``revenue_adjustment|...``,
``refunds|<channel>``, ``refunded|<channel>``, ``refunds_unvalued|<channel>``; since tracking
began (window ``all``): ``customers|<first channel>``, ``repeat_customers|<first channel>``,
``customer_revenue|<first channel>``.
"""

from __future__ import annotations

from decimal import Decimal

from streams.kpis.context import ALL_TIME, EventContext

NO_CURRENCY = "none"  # the currency label of an amount sent without one


def apply(ctx: EventContext) -> None:
    event = ctx.event
    if event.type == "order_completed":
        _order(ctx)
    elif event.type == "order_refunded":
        _refund(ctx)
    elif event.type == "order_cancelled":
        _cancel(ctx)
    elif event.type == "order_updated":
        _update(ctx)


def in_base(ctx: EventContext, amount: Decimal | None, currency: str | None) -> Decimal | None:
    if amount is None or currency is None:
        return None
    return ctx.settings.to_base(amount, currency)


def _order(ctx: EventContext) -> None:
    event = ctx.event
    method = ctx.settings.payment_method(ctx.payment_method)
    amount = in_base(ctx, event.revenue, event.currency)
    dims = f"{ctx.channel}|{method}"
    ctx.ws.add_all(f"orders|{dims}")
    ctx.ws.add_all(f"units|{dims}", sum(item.quantity for item in event.items))
    if amount is None:
        currency = event.currency or NO_CURRENCY
        ctx.ws.add_all(f"unconverted_orders|{currency}")
        ctx.ws.add_all(f"unconverted_revenue|{currency}", event.revenue)
    else:
        ctx.ws.add_all(f"revenue|{dims}", amount)
    order = ctx.ws.alive("order", order_ident(event))
    if order is not None:  # (the engine's dedup entity: made for this order just before)
        order.update(revenue=None if amount is None else str(amount), channel=ctx.channel,
                     method=method)
    if event.user_id is None:
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
    if amount is not None:
        ctx.ws.add(ALL_TIME, f"customer_revenue|{first_channel}", amount)


def order_ident(event) -> str:
    """An order's entity: its order_id under its user key. Orders are deduplicated, and
    remembered for their cancellation, update and refund, per user key: whatever the number
    of KPI partitions, the user key decides which one holds it (a server-side event counts
    as its device's: streams/kpis/identity.py)."""
    key = event.user_key
    return f"{len(key)}:{key}|{event.order_id}"


def _remembered(ctx: EventContext) -> dict | None:
    return ctx.ws.alive("order", order_ident(ctx.event))


def _revenue_of(order: dict | None) -> Decimal | None:
    return None if order is None or order.get("revenue") is None else Decimal(order["revenue"])


def _refund(ctx: EventContext) -> None:
    event = ctx.event
    if event.amount is not None:
        amount = in_base(ctx, event.amount, event.currency)
    else:  # a full refund: Segment's spec needs only the order_id
        amount = _revenue_of(_remembered(ctx))
    ctx.ws.add_all(f"refunds|{ctx.channel}")
    if amount is None:
        ctx.ws.add_all(f"refunds_unvalued|{ctx.channel}")
    else:
        ctx.ws.add_all(f"refunded|{ctx.channel}", amount)


def _cancel(ctx: EventContext) -> None:
    order = _remembered(ctx)
    if order is not None and order.get("cancelled"):
        return
    dims = (f"{ctx.channel}|other" if order is None or "channel" not in order
            else f"{order['channel']}|{order['method']}")
    ctx.ws.add_all(f"cancelled_orders|{dims}")
    revenue = _revenue_of(order)
    if revenue is not None:
        ctx.ws.add_all(f"cancelled_revenue|{dims}", revenue)
    if order is not None:
        order["cancelled"] = True


def _update(ctx: EventContext) -> None:
    event = ctx.event
    order = _remembered(ctx)
    old = _revenue_of(order)
    new = in_base(ctx, event.revenue, event.currency)
    if old is None or new is None or new == old or order.get("cancelled"):
        return
    ctx.ws.add_all(f"revenue_adjustment|{order['channel']}|{order['method']}", new - old)
    order["revenue"] = str(new)
