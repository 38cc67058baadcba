"""The KPIs as recorded series: one recording rule per KPI and breakdown, computed from the
per-partition gauges of ``metrics/catalog.py`` exactly as ``streams/kpis/readout.derived`` does.

Every recorded KPI keeps the labels ``window`` (5m, 15m, 1h, 1d, ...) and ``window_state``
(``settled``: the last complete window; ``in_progress``: the open one so far), so a panel or an
alert picks e.g. ``window:kpiwatch_conversion_rate:ratio{window="15m", window_state="settled"}``.
Names follow Prometheus' ``level:metric:operation`` convention; ``level`` lists the labels kept.

The KPI names are those of ``alerts.rules.KPIS`` (what an alert rule can judge) plus a few the
dashboards show. ``recorded_name(kpi, dims)`` is how alert rules and dashboards refer to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus.promql import WINDOW_SECONDS, or_zero, total

WINDOW = ("window", "window_state")

Expr = Callable[[tuple[str, ...]], str]


@dataclass(frozen=True)
class RecordedKpi:
    kpi: str
    operation: str  # sum, ratio, p95, ...
    breakdowns: tuple[tuple[str, ...], ...]  # label sets recorded besides the whole shop
    expr: Expr  # grouping labels -> PromQL
    windowed: bool = True  # False: lifetime gauges, no window labels


def _sum(metric: str, selector: str = "") -> Expr:
    return lambda g: total(metric, g, selector)


def _share(numerator: str, numerator_selector: str, denominator: str) -> Expr:
    """numerator / denominator, 0 (not missing) when the numerator has no series."""
    return lambda g: (f"{or_zero(total(numerator, g, numerator_selector), total(denominator, g))}"
                      f" / {total(denominator, g)}")


def _failure_rate(failures: str, successes: str) -> Expr:
    """failures / (failures + successes), where either side may have no series yet."""
    def expr(g: tuple[str, ...]) -> str:
        f = or_zero(total(failures, g), total(successes, g))
        s = or_zero(total(successes, g), total(failures, g))
        return f"{f} / ({f} + {s})"
    return expr


def _bounce_rate(g: tuple[str, ...]) -> str:
    return f"1 - {_share('kpiwatch_engaged_sessions', '', 'kpiwatch_sessions')(g)}"


def _quantile(histogram: str, q: float) -> Expr:
    return lambda g: f"histogram_quantile({q}, {total(histogram + '_bucket', ('le', *g))})"


def _ratio(numerator: str, denominator: str) -> Expr:
    return lambda g: f"{total(numerator, g)} / {total(denominator, g)}"


def _by_campaign(metric: str, campaign_metric: str) -> Callable[[tuple[str, ...]], str]:
    """The metric, or its campaign breakdown's where the grouping has the campaign."""
    return lambda g: campaign_metric if "campaign" in g else metric


def _economics(numerator, denominator) -> Expr:
    """numerator / denominator, each a metric name or a grouping -> metric name."""
    def name(metric, g):
        return metric(g) if callable(metric) else metric
    return lambda g: f"{total(name(numerator, g), g)} / {total(name(denominator, g), g)}"


def _margin(g: tuple[str, ...]) -> str:
    costed = total("kpiwatch_costed_revenue", g)
    return f"({costed} - {or_zero(total('kpiwatch_cost_of_goods', g), costed)}) / {costed}"


def _growth(offset_of: Callable[[str], str]) -> Expr:
    """Revenue against an earlier window's: one rule per window size (the offset differs)."""
    def expr(g: tuple[str, ...]) -> str:
        parts = []
        for size in WINDOW_SECONDS:
            now = total("kpiwatch_revenue", g, f'{{window="{size}"}}')
            before = total("kpiwatch_revenue", g, f'{{window="{size}"}} offset {offset_of(size)}')
            parts.append(f"({now} / {before} - 1)")
        return " or ".join(parts)
    return expr


def _clv_to_cac(g: tuple[str, ...]) -> str:
    # Spend's channel is the acquisition channel customers are counted by (first_channel).
    spend = ('label_replace(kpiwatch_lifetime_ad_spend, "first_channel", "$1", "channel", '
             '"(.*)")')
    return f"{total('kpiwatch_customer_revenue', g)} / {total(spend, g)}"


def _nps(g: tuple[str, ...]) -> str:
    responses = total("kpiwatch_nps_responses", g)
    promoters = or_zero(total("kpiwatch_nps_promoters", g), responses)
    detractors = or_zero(total("kpiwatch_nps_detractors", g), responses)
    return f"100 * ({promoters} - {detractors}) / {responses}"


def _adoption(g: tuple[str, ...]) -> str:
    # Users have no feature label: each feature's users over all active users.
    users = total("kpiwatch_users", tuple(label for label in g if label != "feature"))
    return f"{total('kpiwatch_feature_users', g)} / on ({', '.join(WINDOW)}) group_left {users}"


CHANNEL = (("channel",),)
CAMPAIGN = (("channel",), ("channel", "campaign"))
SPEND = _by_campaign("kpiwatch_ad_spend", "kpiwatch_ad_spend")
REVENUE = _by_campaign("kpiwatch_revenue", "kpiwatch_campaign_revenue")
ORDERS = _by_campaign("kpiwatch_orders", "kpiwatch_campaign_orders")
SESSIONS = _by_campaign("kpiwatch_sessions", "kpiwatch_campaign_sessions")
RECORDED: tuple[RecordedKpi, ...] = (
    RecordedKpi("sessions", "sum", (("channel",), ("device",)), _sum("kpiwatch_sessions")),
    RecordedKpi("orders", "sum", (("channel",), ("payment_method",)), _sum("kpiwatch_orders")),
    RecordedKpi("revenue", "sum", (("channel",), ("payment_method",)), _sum("kpiwatch_revenue")),
    RecordedKpi("users", "sum", (), _sum("kpiwatch_users")),
    RecordedKpi("conversion_rate", "ratio", CHANNEL,
                _share("kpiwatch_funnel_sessions", '{stage="order_completed"}', "kpiwatch_sessions")),
    RecordedKpi("add_to_cart_rate", "ratio", CHANNEL,
                _share("kpiwatch_funnel_sessions", '{stage="cart_add"}', "kpiwatch_sessions")),
    RecordedKpi("bounce_rate", "ratio", CHANNEL, _bounce_rate),
    RecordedKpi("average_order_value", "ratio", CHANNEL, _ratio("kpiwatch_revenue", "kpiwatch_orders")),
    RecordedKpi("payment_failure_rate", "ratio", (("payment_method",),),
                _failure_rate("kpiwatch_payment_failures", "kpiwatch_orders")),
    # Carts resolved in the window: abandoned / (abandoned + ordered).
    RecordedKpi("cart_abandonment_rate", "ratio", CHANNEL,
                _failure_rate("kpiwatch_abandoned_carts", "kpiwatch_ordered_carts")),
    RecordedKpi("checkout_duration_seconds", "p50", (),
                _quantile("kpiwatch_checkout_duration_seconds", 0.5)),
    RecordedKpi("checkout_duration_seconds", "p95", (),
                _quantile("kpiwatch_checkout_duration_seconds", 0.95)),
    RecordedKpi("checkout_duration_seconds", "p99", (),
                _quantile("kpiwatch_checkout_duration_seconds", 0.99)),
    RecordedKpi("session_duration_seconds", "p50", (),
                _quantile("kpiwatch_session_duration_seconds", 0.5)),
    RecordedKpi("session_duration_seconds", "p90", (),
                _quantile("kpiwatch_session_duration_seconds", 0.9)),
    RecordedKpi("stickiness", "ratio", (),
                _ratio("kpiwatch_active_users_1d", "kpiwatch_active_users_30d")),
    RecordedKpi("repeat_purchase_rate", "ratio", (("first_channel",),),
                _share("kpiwatch_repeat_customers", "", "kpiwatch_customers"), windowed=False),
    RecordedKpi("customer_lifetime_value", "ratio", (("first_channel",),),
                _ratio("kpiwatch_customer_revenue", "kpiwatch_customers"), windowed=False),
    # Acquisition and economics: spend comes from the spend rows (streams/kpis/spend.py).
    RecordedKpi("ad_spend", "sum", CAMPAIGN, _sum("kpiwatch_ad_spend")),
    RecordedKpi("new_customers", "sum", CAMPAIGN, _sum("kpiwatch_new_customers")),
    RecordedKpi("roas", "ratio", CAMPAIGN, _economics(REVENUE, SPEND)),
    RecordedKpi("cac", "ratio", CAMPAIGN, _economics(SPEND, "kpiwatch_new_customers")),
    RecordedKpi("cpa", "ratio", CAMPAIGN, _economics(SPEND, ORDERS)),
    RecordedKpi("ctr", "ratio", CAMPAIGN, _economics("kpiwatch_ad_clicks", "kpiwatch_ad_impressions")),
    RecordedKpi("cost_per_session", "ratio", CAMPAIGN, _economics(SPEND, SESSIONS)),
    RecordedKpi("revenue_per_user", "ratio", (), _ratio("kpiwatch_revenue", "kpiwatch_users")),
    RecordedKpi("revenue_per_paying_user", "ratio", (),
                _ratio("kpiwatch_revenue", "kpiwatch_paying_users")),
    RecordedKpi("gross_margin", "ratio", CHANNEL, _margin),
    # Prometheus keeps scrape time: a window a week (or one window) back in scrape time is the
    # same window in event time only while the input is live (docs/KPIS.md).
    RecordedKpi("revenue_growth_week", "ratio", CHANNEL, _growth(lambda size: "1w")),
    RecordedKpi("revenue_growth_period", "ratio", CHANNEL, _growth(lambda size: size)),
    RecordedKpi("clv_to_cac", "ratio", (("first_channel",),), _clv_to_cac, windowed=False),
    # The user journey (streams/kpis/journey.py, retention.py).
    RecordedKpi("nps", "score", (("survey",),), _nps),
    RecordedKpi("nps_responses", "sum", (("survey",),), _sum("kpiwatch_nps_responses")),
    RecordedKpi("csat", "ratio", (("survey",),),
                _share("kpiwatch_csat_satisfied", "", "kpiwatch_csat_responses")),
    RecordedKpi("csat_responses", "sum", (("survey",),), _sum("kpiwatch_csat_responses")),
    RecordedKpi("activation_rate", "ratio", (),
                _share("kpiwatch_activation_cohort_activated", "", "kpiwatch_activation_cohort")),
    RecordedKpi("virality", "ratio", (),
                _share("kpiwatch_referred_signups", "", "kpiwatch_inviting_users")),
    RecordedKpi("referred_conversion", "ratio", (),
                _share("kpiwatch_referred_customers", "", "kpiwatch_referred_signups")),
    RecordedKpi("feature_adoption", "ratio", (("feature",),), _adoption),
    RecordedKpi("product_page_seconds", "mean", (),
                _ratio("kpiwatch_product_page_seconds", "kpiwatch_timed_product_views")),
    RecordedKpi("frequency_days", "mean", (),
                _ratio("kpiwatch_active_user_days_30d", "kpiwatch_active_users_30d")),
    RecordedKpi("churn_rate", "ratio", (),
                _share("kpiwatch_churned_users", "", "kpiwatch_active_users_previous_30d")),
    RecordedKpi("average_lifetime_days", "mean", (),
                _ratio("kpiwatch_lapsed_user_lifetime_days", "kpiwatch_lapsed_users")),
)

# alerts.rules.KPIS name -> (recorded kpi, operation), where the two differ.
ALERT_KPI_ALIASES = {"checkout_p95_seconds": ("checkout_duration_seconds", "p95")}


def recorded_name(kpi: str, dims: tuple[str, ...] = (), operation: str | None = None) -> str:
    """The recorded series of ``kpi`` broken down by ``dims`` (the whole shop when empty)."""
    kpi, operation = ALERT_KPI_ALIASES.get(kpi, (kpi, operation))
    spec = _find(kpi, operation)
    if dims and dims not in spec.breakdowns:
        raise KeyError(f"{kpi} is not recorded by {dims}")
    level = "_".join((*dims, "window") if spec.windowed else dims) or "shop"
    return f"{level}:kpiwatch_{kpi}:{spec.operation}"


def _find(kpi: str, operation: str | None) -> RecordedKpi:
    for spec in RECORDED:
        if spec.kpi == kpi and operation in (None, spec.operation):
            return spec
    raise KeyError(kpi)


def recording_groups() -> list[dict]:
    rules = []
    for spec in RECORDED:
        for dims in ((), *spec.breakdowns):
            labels = (*dims, *WINDOW) if spec.windowed else dims
            rules.append({"record": recorded_name(spec.kpi, dims, spec.operation),
                          "expr": spec.expr(labels)})
    return [{"name": "kpiwatch-kpis", "rules": rules}]


__all__ = ["RECORDED", "recorded_name", "recording_groups"]
