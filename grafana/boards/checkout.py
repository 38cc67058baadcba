"""Checkout incidents: what on-call opens from a checkout alert."""

from grafana.common import (
    CURRENCY,
    SETTLED,
    Target,
    bargauge,
    benchmark,
    dashboard,
    gauge,
    timeseries,
)
from prometheus.kpis import recorded_name

UID = "kpiwatch-checkout"
KPI = "{" + SETTLED + "}"


def checkout_time():
    steps, line = benchmark("checkout_p95_seconds")
    name = "checkout_duration_seconds"
    return timeseries(
        "Checkout time p50 / p95 / p99", "From a cart's first checkout_started to its order, "
        "quantiles of the orders in each settled window (histogram buckets 5 s to 2 h)." + line,
        "s",
        *(Target(f"{recorded_name(name, operation=q)}{KPI}", q) for q in ("p50", "p95", "p99")),
        thresholds=steps, min=0)


def payment_failure_rate():
    steps, line = benchmark("payment_failure_rate", per_dimension=True)
    return timeseries(
        "Payment failure rate by method", "Failed payments / (failed payments + orders) per "
        "payment method, per settled window." + line, "percentunit",
        Target(f"{recorded_name('payment_failure_rate', ('payment_method',))}{KPI}",
               "{{payment_method}}"),
        Target(f"{recorded_name('payment_failure_rate')}{KPI}", "all methods"),
        thresholds=steps, min=0)


def payment_failures():
    return timeseries(
        "Payment failures by method", "Failed payment attempts per settled window.", "short",
        Target(gauge("kpiwatch_payment_failures", ("payment_method",)), "{{payment_method}}"),
        min=0)


def cart_abandonment_rate():
    steps, line = benchmark("cart_abandonment_rate")
    return timeseries(
        "Cart abandonment rate", "Abandoned carts / (abandoned + ordered carts), carts resolved "
        "in each settled window (abandoned = no activity and no order for abandon_after)."
        + line, "percentunit",
        Target(f"{recorded_name('cart_abandonment_rate')}{KPI}", "cart abandonment rate"),
        thresholds=steps, min=0, max=1)


def abandoned_carts():
    channel = {"channel": "~$channel"}
    return timeseries(
        "Abandoned, ordered and recovered carts", "Carts resolved per settled window for the "
        "selected channels: abandoned, ordered before abandonment, and abandoned carts that "
        "got an order later (recovered; their abandonment stays counted).", "short",
        Target(gauge("kpiwatch_abandoned_carts", **channel), "abandoned"),
        Target(gauge("kpiwatch_ordered_carts", **channel), "ordered"),
        # Recoveries are rare: show 0 rather than "No data".
        Target(gauge("kpiwatch_recovered_carts", **channel) + " or vector(0)", "recovered"),
        min=0)


def abandoned_cart_value():
    return timeseries(
        "Abandoned cart value", "Value of the carts abandoned per settled window, in the base "
        "currency, by channel (selected channels).", CURRENCY,
        Target(gauge("kpiwatch_abandoned_cart_value", ("channel",), channel="~$channel"),
               "{{channel}}"), min=0)


def checkout_abandonment_by_step():
    return bargauge(
        "Checkout abandonment by step", "Checkouts with no order within abandon_after of "
        "checkout_started in the last settled window, by the last step reached.", "short",
        Target(gauge("kpiwatch_checkout_abandonments", ("step",)), "{{step}}", instant=True))


def orders():
    return timeseries(
        "Orders by payment method", "Orders per settled window by payment method: a method "
        "whose orders fall to zero is failing even without failure events.", "short",
        Target(f"{recorded_name('orders', ('payment_method',))}{KPI}", "{{payment_method}}"),
        min=0)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Checkout incidents",
        "Checkout time, payment failures and abandonment per settled window; firing checkout "
        "alerts are shown as annotations.",
        [checkout_time(), payment_failure_rate(), cart_abandonment_rate(),
         checkout_abandonment_by_step(), abandoned_carts(), abandoned_cart_value(),
         payment_failures(), orders()])
