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

from prometheus.promql import or_zero, total

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


CHANNEL = (("channel",),)
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
