"""Channels: sessions, orders, revenue, conversion and AOV per marketing channel."""

from alerts.rules import load_rules
from grafana.common import CURRENCY, SETTLED, Target, benchmark, dashboard, timeseries
from prometheus.kpis import recorded_name

UID = "kpiwatch-channels"
BY_CHANNEL = "{" + SETTLED + ', channel=~"$channel"}'


def per_channel(kpi: str) -> str:
    return f"{recorded_name(kpi, ('channel',))}{BY_CHANNEL}"


def sessions():
    return timeseries("Sessions by channel", "Sessions per settled window by the channel of "
                      "their first event.", "short", Target(per_channel("sessions"), "{{channel}}"),
                      min=0)


def orders():
    return timeseries("Orders by channel", "Orders per settled window by the channel of the "
                      "session they were placed in.", "short",
                      Target(per_channel("orders"), "{{channel}}"), min=0)


def revenue():
    return timeseries("Revenue by channel", "Revenue in the base currency per settled window "
                      "by channel.", CURRENCY, Target(per_channel("revenue"), "{{channel}}"),
                      min=0)


def week_ago_benchmarks() -> list[Target]:
    """Each channel's own benchmark, from the rules judging conversion per channel against
    the same window a week earlier."""
    out = []
    for rule in load_rules().rules:
        if rule.kpi == "conversion_rate" and rule.per == "channel" \
                and rule.benchmark.type == "week_ago":
            factor = round(1 + rule.benchmark.change, 6)
            out.append(Target(f"{factor:g} * ({per_channel('conversion_rate')} offset 1w)",
                              f"{{{{channel}}}} benchmark ({rule.name})"))
    return out


def conversion():
    steps, line = benchmark("conversion_rate")
    return timeseries(
        "Conversion rate by channel vs benchmarks", "Sessions with an order / sessions per "
        "settled window by channel. Per-channel benchmark series: the rule's share of the same "
        "window one week earlier." + line, "percentunit",
        Target(per_channel("conversion_rate"), "{{channel}}"), *week_ago_benchmarks(),
        thresholds=steps, min=0, width=24, height=10)


def aov():
    return timeseries("Average order value by channel", "Revenue / orders per settled window "
                      "by channel, in the base currency.", CURRENCY,
                      Target(per_channel("average_order_value"), "{{channel}}"), min=0)


def cart_abandonment():
    steps, line = benchmark("cart_abandonment_rate")
    return timeseries("Cart abandonment rate by channel", "Abandoned / (abandoned + ordered) "
                      "carts resolved per settled window, by channel." + line, "percentunit",
                      Target(per_channel("cart_abandonment_rate"), "{{channel}}"),
                      thresholds=steps, min=0, max=1)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Channels",
        "Sessions, orders, revenue, conversion and AOV per marketing channel (GA4 default "
        "channel grouping), with each channel's benchmark.",
        [conversion(), sessions(), orders(), revenue(), aov(), cart_abandonment()])
