"""Overview: traffic, funnel, conversion vs benchmark, revenue, AOV, DAU/WAU/MAU."""

from grafana.common import (
    CURRENCY,
    SETTLED,
    Target,
    bargauge,
    benchmark,
    dashboard,
    gauge,
    stat,
    timeseries,
)
from prometheus.kpis import recorded_name
from prometheus.promql import total

UID = "kpiwatch-overview"
KPI = "{" + SETTLED + "}"


def sessions_now():
    return stat("Sessions", "Sessions in the last settled window of the selected size.",
                "short", Target(f"{recorded_name('sessions')}{KPI}"))


def conversion_now():
    steps, line = benchmark("conversion_rate")
    return stat("Conversion rate", "Sessions with an order / sessions, last settled window."
                + line.replace("Dashed line", "Colour"),
                "percentunit", Target(f"{recorded_name('conversion_rate')}{KPI}"),
                thresholds=steps)


def orders_now():
    return stat("Orders", "Orders (deduplicated by order_id), last settled window.", "short",
                Target(f"{recorded_name('orders')}{KPI}"))


def revenue_now():
    return stat("Revenue", "Revenue in the base currency (excluding shipping and tax), "
                "last settled window.", CURRENCY, Target(f"{recorded_name('revenue')}{KPI}"))


def aov_now():
    return stat("Average order value", "Revenue / orders, last settled window.", CURRENCY,
                Target(f"{recorded_name('average_order_value')}{KPI}"))


def active_users_today():
    return stat("Active users today", "Distinct users active so far today (business time "
                "zone): the day window in progress.", "short",
                Target(total("kpiwatch_active_users_1d", (),
                             '{window="1d", window_state="in_progress"}')))


def traffic():
    filters = {"channel": "~$channel", "device": "~$device"}
    return timeseries(
        "Traffic", "Sessions, engaged sessions, page views and product views per settled "
        "window, for the selected channels and devices.", "short",
        Target(gauge("kpiwatch_sessions", **filters), "sessions"),
        Target(gauge("kpiwatch_engaged_sessions", **filters), "engaged sessions"),
        Target(gauge("kpiwatch_page_views", **filters), "page views"),
        Target(gauge("kpiwatch_product_views", **filters), "product views"))


def funnel():
    return bargauge(
        "Funnel", "Sessions that reached each funnel stage in the last settled window, for the "
        "selected channels.", "short",
        Target(gauge("kpiwatch_funnel_sessions", ("stage",), channel="~$channel"), "{{stage}}",
               instant=True))


def conversion():
    steps, line = benchmark("conversion_rate")
    return timeseries(
        "Conversion rate vs benchmark", "Sessions with an order / sessions, and sessions "
        "with a cart_add / sessions, per settled window (whole shop)." + line, "percentunit",
        Target(f"{recorded_name('conversion_rate')}{KPI}", "conversion rate"),
        Target(f"{recorded_name('add_to_cart_rate')}{KPI}", "add-to-cart rate"),
        thresholds=steps, min=0)


def bounce_rate():
    steps, line = benchmark("bounce_rate")
    return timeseries(
        "Bounce rate", "1 - engaged sessions / sessions per settled window (GA4 definition: "
        "engaged = 10 s, 2 page views or an order)." + line, "percentunit",
        Target(f"{recorded_name('bounce_rate')}{KPI}", "bounce rate"),
        thresholds=steps, min=0, max=1)


def revenue():
    return timeseries(
        "Revenue per window", "Revenue in the base currency (excluding shipping and tax) per settled "
        "window.", CURRENCY, Target(f"{recorded_name('revenue')}{KPI}", "revenue"), min=0)


def orders():
    return timeseries(
        "Orders per window", "Orders (deduplicated by order_id) per settled window.", "short",
        Target(f"{recorded_name('orders')}{KPI}", "orders"), min=0)


def aov():
    return timeseries(
        "Average order value per window", "Revenue / orders per settled window, in the base "
        "currency.",
        CURRENCY, Target(f"{recorded_name('average_order_value')}{KPI}", "AOV"), min=0)


def active_users():
    day = '{window="1d", window_state="settled"}'
    return timeseries(
        "DAU / WAU / MAU", "Distinct users active on the last complete day, in the 7 and 30 "
        "days to it (business time zone).", "short",
        Target(total("kpiwatch_active_users_1d", (), day), "DAU"),
        Target(total("kpiwatch_active_users_7d", (), day), "WAU"),
        Target(total("kpiwatch_active_users_30d", (), day), "MAU"), min=0)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Overview",
        "The shop's main KPIs per settled window, against the benchmarks of alerts/rules.yaml.",
        [sessions_now(), conversion_now(), orders_now(), revenue_now(), aov_now(),
         active_users_today(), traffic(), funnel(), conversion(), bounce_rate(), revenue(),
         orders(), aov(), active_users()])
