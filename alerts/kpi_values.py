"""One KPI of one window, for one dimension value, from the window's raw aggregate values.

The raw values are the engine's ``prefix|dimension|...`` counts (streams/kpis/), summed over
partitions. This is the only place the evaluator knows how a rule's KPI is made of them, so
the shop-wide, per-channel and per-payment-method readings stay consistent.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from streams.kpis.readout import derived, histogram_quantile, ratio, total

Dimension = dict[str, str]


def dimension_key(dimension: Dimension) -> str:
    """``channel=paid_search``; ``all`` for the whole shop (readable in incident ids)."""
    return ",".join(f"{k}={v}" for k, v in sorted(dimension.items())) or "all"


def parse_dimension_key(key: str) -> Dimension:
    return {} if key == "all" else dict(part.split("=", 1) for part in key.split(","))


def _by_method(values: Counter, prefix: str, method: str) -> Decimal | int:
    # orders|<channel>|<payment method>: the method is the last dimension.
    return sum((v for k, v in values.items()
                if k.startswith(prefix + "|") and k.rsplit("|", 1)[-1] == method), 0)


def responses_of(kpi: str) -> str:
    """The survey answers ``min_volume.responses`` counts for a KPI (nps or csat)."""
    return "csat_responses" if kpi == "csat" else "nps_responses"


def volume(values: Counter, dimension: Dimension) -> dict[str, int]:
    """Sessions and orders behind the reading: what ``min_volume`` is compared with."""
    channel = dimension.get("channel")
    method = dimension.get("payment_method")
    dims = (channel,) if channel else ()
    orders = (_by_method(values, "orders", method) + values.get(f"payment_failures|{method}", 0)
              if method else total(values, "orders", *dims))
    return {"sessions": int(total(values, "sessions", *dims)), "orders": int(orders),
            "nps_responses": int(total(values, "nps_responses")),
            "csat_responses": int(total(values, "csat_responses"))}


def kpi_value(values: Counter, kpi: str, dimension: Dimension) -> float | None:
    """The KPI's value, or None when the window has nothing to compute it from."""
    method = dimension.get("payment_method")
    if kpi == "payment_failure_rate" and method:
        failures = values.get(f"payment_failures|{method}", 0)
        return ratio(failures, failures + _by_method(values, "orders", method))
    if kpi == "users":
        return float(values["users"]) if values.get("users") else None
    if kpi == "checkout_p95_seconds":
        return histogram_quantile(values, 0.95)
    value = derived(values, dimension.get("channel")).get(kpi)
    if kpi in ("sessions", "orders", "revenue"):
        return float(value)
    return value


def format_kpi(kpi: str, value: float | None) -> str:
    """A KPI value as people read it: 3.14%, 312 s, 1,234, 1,234.50 (n/a when unknown)."""
    from alerts.rules import KPIS

    if value is None:
        return "n/a"
    kind = KPIS.get(kpi, {}).get("kind")
    if kind == "ratio":
        return f"{value:.2%}"
    if kind == "seconds":
        return f"{value:.0f} s"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "multiple":
        return f"{value:.2f}x"
    if kind == "score":
        return f"{value:+.0f}"
    return f"{value:,.2f}"
