"""Acquisition and economics: ad spend, ROAS, CAC, CPA, CTR, cost per session, revenue per
user, gross margin, revenue growth and CLV : CAC, by channel and campaign.

Spend joins the windows of KPI partition 0 (streams/kpis/spend.py), so a sum over partitions
counts it once; a channel without spend in a window has no ROAS, CAC or CPA there.
"""

from alerts.rules import load_rules
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
from prometheus.alert_rules import benchmark_expr
from prometheus.kpis import recorded_name
from prometheus.promql import matchers

UID = "kpiwatch-economics"
KPI = "{" + SETTLED + "}"
BY_CHANNEL = "{" + SETTLED + ', channel=~"$channel"}'
CAMPAIGN = ("channel", "campaign")


def shop(kpi: str) -> str:
    return f"{recorded_name(kpi)}{KPI}"


def per_channel(kpi: str) -> str:
    return f"{recorded_name(kpi, ('channel',))}{BY_CHANNEL}"


def per_campaign(kpi: str) -> str:
    return f"{recorded_name(kpi, CAMPAIGN)}{BY_CHANNEL}"


def spend_now():
    return stat("Ad spend", "Ad spend in the base currency in the last settled window, from "
                "the imported spend rows (spread exactly over their minutes).", CURRENCY,
                Target(shop("ad_spend")))


def roas_now():
    return stat("ROAS", "Revenue / ad spend of the whole shop, last settled window (revenue "
                "of every channel, paid or not).", "none", Target(shop("roas")))


def cac_now():
    return stat("CAC", "Ad spend / new customers (a customer's first order), last settled "
                "window.", CURRENCY, Target(shop("cac")))


def new_customers_now():
    return stat("New customers", "Orders that are their customer's first (by user_id; guest "
                "orders never are), last settled window.", "short",
                Target(shop("new_customers")))


def margin_now():
    return stat("Gross margin", "(Revenue - cost of goods) / revenue of the orders whose every "
                "line has a known unit cost, last settled window.", "percentunit",
                Target(shop("gross_margin")))


def clv_to_cac_now():
    return stat("CLV : CAC", "Revenue from customers / ad spend, both since tracking began.",
                "none", Target(recorded_name("clv_to_cac")))


def spend():
    return timeseries("Ad spend by channel", "Ad spend in the base currency per settled "
                      "window by channel, from the spend rows (kpiwatch import-spend or the "
                      "spend topic).", CURRENCY, Target(per_channel("ad_spend"), "{{channel}}"),
                      min=0)


def roas():
    steps, line = benchmark("roas", per_dimension=True)
    return timeseries(
        "ROAS by channel vs benchmark", "Revenue / ad spend per settled window, by the channel "
        "of the session the orders were placed in; channels without spend have none." + line,
        "none", Target(per_channel("roas"), "{{channel}}"), thresholds=steps, min=0,
        width=24, height=10)


def cac_benchmarks() -> list[Target]:
    """Each channel's trailing benchmark, from the rules judging CAC per channel: drawn on the
    rule's own window size, whatever ``$window`` shows."""
    out = []
    for rule in load_rules().rules:
        if rule.kpi == "cac" and rule.per == "channel" and rule.benchmark.type == "trailing":
            kpi = recorded_name("cac", ("channel",)) + matchers(
                channel="~$channel", window=rule.window, window_state="settled")
            out.append(Target(benchmark_expr(rule, kpi),
                              f"{{{{channel}}}} benchmark ({rule.name}, {rule.window})"))
    return out


def cac_and_cpa():
    return timeseries(
        "CAC and CPA by channel", "CAC: ad spend / new customers; CPA: ad spend / orders; per "
        "settled window by channel. Benchmark series: the CAC the channel's rule pages above "
        "(its share over the mean of the previous windows of the rule's size).", CURRENCY,
        Target(per_channel("cac"), "{{channel}} CAC"),
        Target(per_channel("cpa"), "{{channel}} CPA"), *cac_benchmarks(), min=0)


def ctr():
    return timeseries("CTR by channel", "Ad clicks / ad impressions per settled window by "
                      "channel, as the spend rows report them.", "percentunit",
                      Target(per_channel("ctr"), "{{channel}}"), min=0)


def cost_per_session():
    return timeseries("Cost per session by channel", "Ad spend / sessions per settled window "
                      "by the channel of the session's first event.", CURRENCY,
                      Target(per_channel("cost_per_session"), "{{channel}}"), min=0)


def new_customers():
    return timeseries("New customers by channel", "First orders of their customers per "
                      "settled window, by channel: CAC's denominator.", "short",
                      Target(per_channel("new_customers"), "{{channel}}"), min=0)


def roas_by_campaign():
    steps, line = benchmark("roas", per_dimension=True)
    return bargauge(
        "ROAS by campaign", "Revenue / ad spend of each channel and campaign in the last "
        "settled window (campaigns: KPIWATCH_CAMPAIGNS, any other is other)."
        + line.replace("Dashed line", "Colour"), "none",
        Target(per_campaign("roas"), "{{channel}} / {{campaign}}", instant=True),
        thresholds=steps, min=0)


def cac_by_campaign():
    return bargauge(
        "CAC by campaign", "Ad spend / new customers of each channel and campaign in the last "
        "settled window.", CURRENCY,
        Target(per_campaign("cac"), "{{channel}} / {{campaign}}", instant=True), min=0)


def revenue_per_user():
    return timeseries(
        "Revenue per user and per paying user", "Revenue / distinct users (ARPU) and revenue "
        "/ distinct users with an order, per settled window (whole shop).", CURRENCY,
        Target(shop("revenue_per_user"), "per user"),
        Target(shop("revenue_per_paying_user"), "per paying user"), min=0)


def gross_margin():
    return timeseries(
        "Gross margin by channel", "(Revenue - cost of goods) / revenue per settled window by "
        "channel, over the orders whose every line has a unit cost valid at the order's time "
        "(KPIWATCH_PRODUCT_COSTS_FILE); the others are left out, never costed at zero.",
        "percentunit", Target(per_channel("gross_margin"), "{{channel}}"), max=1)


def uncosted_orders():
    return timeseries(
        "Orders left out of the margin", "Orders per settled window with a line without a "
        "known cost, no lines, or revenue in a currency without a rate, by channel: the "
        "margin beside them covers the other orders only.", "short",
        Target(gauge("kpiwatch_uncosted_orders", ("channel",), channel="~$channel"),
               "{{channel}}"), min=0)


def revenue_growth(kpi: str, title: str, than: str):
    return timeseries(
        title, f"Revenue of each settled window / revenue {than} - 1, whole shop and by "
        "channel. Prometheus compares scrape times, which are the same windows in event time "
        "only while the input is live (a backfill shows no growth; /kpis compares the "
        "windows themselves).", "percentunit",
        Target(shop(kpi), "shop"), Target(per_channel(kpi), "{{channel}}"))


def clv_to_cac():
    return timeseries(
        "CLV : CAC by acquisition channel", "Revenue from the customers won on a channel (their "
        "first order's) / ad spend on that channel, both since tracking began.", "none",
        Target(f'{recorded_name("clv_to_cac", ("first_channel",))}{{first_channel=~"$channel"}}',
               "{{first_channel}}"), min=0, width=24)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Acquisition and economics",
        "What customers cost and earn by channel and campaign: ad spend, ROAS, CAC, CPA, CTR, "
        "cost per session, revenue per user, gross margin, revenue growth and CLV : CAC, "
        "against the benchmarks of alerts/rules.yaml.",
        [spend_now(), roas_now(), cac_now(), new_customers_now(), margin_now(),
         clv_to_cac_now(), roas(), spend(), cac_and_cpa(), ctr(), cost_per_session(),
         roas_by_campaign(), cac_by_campaign(), new_customers(), revenue_per_user(),
         gross_margin(), uncosted_orders(),
         revenue_growth("revenue_growth_week", "Revenue growth vs last week",
                        "of the same window one week earlier"),
         revenue_growth("revenue_growth_period", "Revenue growth vs the previous window",
                        "of the window before it"),
         clv_to_cac()])

