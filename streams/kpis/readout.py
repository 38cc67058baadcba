"""Reading KPIs back out of the engine's table: window values, settled flags, derived ratios.

Used by the ``/kpis`` endpoint and the Prometheus collector. A window is settled once every
minute of it is applied whole and written; a window still open shows its value so far
(``settled: false``), with what the engines applied in memory up to the watermark (``Shown``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from streams.kpis.context import ALL_TIME
from streams.kpis.working_set import aggregate_key, applied_until_ms, progress_key
from streams.windows import MINUTE_MS, WINDOW_SIZES, Window, window_of

Values = Counter


class TableView(Mapping):
    """The KPI table as a reader sees it: the table's keys, with values a subclass's ``get``
    may change (the values are dicts, never None)."""

    def __init__(self, table: Mapping) -> None:
        self.table = table

    def __getitem__(self, key: str):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default=None):
        return self.table.get(key, default)

    def __iter__(self):
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


class Shown(TableView):
    """The engines' table as /metrics and /kpis read it: with what each partition's engine has
    applied in memory and not written yet (streams/kpis/engine.py, ``settle``), so an event
    shows as soon as it is applied. ``engine_of``: a partition's engine, or None."""

    def __init__(self, table: Mapping, engine_of: Callable[[int], Any]) -> None:
        super().__init__(table)
        self.engine_of = engine_of

    def get(self, key: str, default=None):
        stored = self.table.get(key)
        kind, _, rest = key.partition("|")
        if kind in ("agg", "progress"):
            engine = self.engine_of(int(rest.partition("|")[0]))
            if engine is not None:
                stored = (engine.shown_progress(stored) if kind == "progress"
                          else engine.shown_aggregate(key, stored))
        return default if stored is None else stored


@dataclass(frozen=True)
class WindowReading:
    window: Window
    settled: bool
    values: Values


def decoded(values: Mapping) -> Values:
    """Aggregate values as JSON holds them (amounts as strings) back as counts and Decimals."""
    return Counter({k: Decimal(v) if isinstance(v, str) else v for k, v in values.items()})


def stored_values(state: Mapping | None) -> Values:
    return decoded(state.get("values") or {}) if state else Counter()


def partition_progress(table: Mapping, partition: int) -> dict | None:
    return table.get(progress_key(partition))


def applied_last_ms(progress: Mapping) -> int:
    """The last instant applied (of a settled minute, or of the part of a minute after)."""
    return applied_until_ms(progress) - 1


def windows_for(table: Mapping, partition: int, size: str, tz: ZoneInfo,
                count: int = 2) -> list[WindowReading]:
    """The window in progress and the last ``count - 1`` before it, newest first."""
    progress = partition_progress(table, partition)
    if not progress or progress.get("settled_through") is None:
        return []
    settled_until = progress["settled_through"] + MINUTE_MS
    window = window_of(size, applied_last_ms(progress), tz)
    readings = []
    for _ in range(count):
        state = table.get(aggregate_key(partition, window))
        readings.append(WindowReading(window, window.end_ms <= settled_until,
                                      stored_values(state)))
        window = window_of(size, window.start_ms - 1, tz)
    return readings


def all_time(table: Mapping, partition: int) -> Values:
    return stored_values(table.get(aggregate_key(partition, ALL_TIME)))


def total(values: Values, prefix: str, *match: str) -> Decimal | int:
    """Sum of ``prefix|...`` values whose dimensions start with ``match``."""
    wanted = "|".join((prefix, *match))
    return sum((v for k, v in values.items()
                if k == wanted or k.startswith(wanted + "|")), 0)


def ratio(numerator, denominator) -> float | None:
    return float(Decimal(numerator) / Decimal(denominator)) if denominator else None


def derived(values: Values, channel: str | None = None) -> dict:
    """The ratio KPIs of one window (overall, or for one channel)."""
    dims = (channel,) if channel else ()
    sessions = total(values, "sessions", *dims)
    orders = total(values, "orders", *dims)
    failures = total(values, "payment_failures")
    all_orders = total(values, "orders")
    abandoned = total(values, "abandoned_carts", *dims)
    return {
        "sessions": int(sessions),
        "conversion_rate": ratio(total(values, "funnel", "order_completed", *dims), sessions),
        "add_to_cart_rate": ratio(total(values, "funnel", "cart_add", *dims), sessions),
        "bounce_rate": (None if not sessions else
                        1 - float(Decimal(total(values, "engaged_sessions", *dims)) / sessions)),
        "orders": int(orders),
        "revenue": float(total(values, "revenue", *dims)),
        "average_order_value": ratio(total(values, "revenue", *dims), orders),
        "payment_failure_rate": ratio(failures, failures + all_orders),
        "payment_failure_rate_by_method": _failure_rate_by_method(values),
        "checkout_p95_seconds": histogram_quantile(values, 0.95),
        "stickiness": ratio(values.get("dau", 0), values.get("mau", 0)),
        "abandoned_carts": int(abandoned),
        "abandoned_cart_value": float(total(values, "abandoned_cart_value", *dims)),
        "ordered_carts": int(total(values, "ordered_carts", *dims)),
        "recovered_carts": int(total(values, "recovered_carts", *dims)),
        # Each cart resolves once: abandoned, or ordered before that.
        "cart_abandonment_rate": ratio(abandoned,
                                       abandoned + total(values, "ordered_carts", *dims)),
        "checkout_abandonments": {k.split("|", 1)[1]: int(v) for k, v in sorted(values.items())
                                  if k.startswith("checkout_abandonments|")},
        "session_duration_p50_seconds": histogram_quantile(values, 0.5, "session_seconds"),
        **economics(values, dims),
        **(journey(values) if not dims else {}),
    }


def nps(values: Values, survey: str | None = None) -> float | None:
    """Net Promoter Score, -100 .. 100: % promoters - % detractors (streams/kpis/journey.py)."""
    where = (survey,) if survey else ()
    responses = total(values, "nps_responses", *where)
    net = total(values, "nps_promoters", *where) - total(values, "nps_detractors", *where)
    return None if not responses else float(Decimal(100 * net) / responses)


def journey(values: Values) -> dict:
    """The user journey's ratios of one window (the whole shop's: users have no channel)."""
    surveys = sorted({k.split("|")[1] for k in values
                      if k.startswith(("nps_responses|", "csat_responses|"))})
    features = sorted({k.split("|")[1] for k in values if k.startswith("feature_users|")})
    users = values.get("users", 0)
    return {
        "activations": int(values.get("activations", 0)),
        "referred_signups": int(values.get("referred_signups", 0)),
        "invites_sent": int(values.get("invites_sent", 0)),
        "nps": nps(values),
        "nps_responses": int(total(values, "nps_responses")),
        "csat": ratio(total(values, "csat_satisfied"), total(values, "csat_responses")),
        "csat_responses": int(total(values, "csat_responses")),
        "surveys": {survey: {"nps": nps(values, survey),
                             "nps_responses": int(values.get(f"nps_responses|{survey}", 0)),
                             "csat": ratio(values.get(f"csat_satisfied|{survey}", 0),
                                           values.get(f"csat_responses|{survey}", 0)),
                             "csat_responses": int(values.get(f"csat_responses|{survey}", 0))}
                    for survey in surveys},
        "activation_rate": ratio(values.get("activation_cohort_activated", 0),
                                 values.get("activation_cohort", 0)),
        "virality": ratio(values.get("referred_signups", 0), values.get("inviting_users", 0)),
        "referred_conversion": ratio(values.get("referred_customers", 0),
                                     values.get("referred_signups", 0)),
        "feature_adoption": {feature: ratio(values.get(f"feature_users|{feature}", 0), users)
                             for feature in features},
        "product_page_seconds": ratio(values.get("product_page_seconds", 0),
                                      values.get("timed_product_views", 0)),
        "frequency_days": ratio(values.get("active_days_30d", 0), values.get("mau", 0)),
        "churn_rate": ratio(values.get("churned_users", 0), values.get("previous_mau", 0)),
        "average_lifetime_days": ratio(values.get("lapsed_lifetime_days", 0),
                                       values.get("lapsed_users", 0)),
    }


def economics(values: Values, dims: tuple[str, ...] = ()) -> dict:
    """Acquisition cost and return (streams/kpis/spend.py, acquisition.py) of one window,
    overall or for one channel (``dims``: (channel,)) or channel and campaign."""
    spend = total(values, "ad_spend", *dims)
    new_customers = total(values, "new_customers", *dims)
    clicks = total(values, "ad_clicks", *dims)
    impressions = total(values, "ad_impressions", *dims)
    revenue = total(values, "revenue" if len(dims) < 2 else "campaign_revenue", *dims)
    orders = total(values, "orders" if len(dims) < 2 else "campaign_orders", *dims)
    sessions = total(values, "sessions" if len(dims) < 2 else "campaign_sessions", *dims)
    shop = {
        # Users have no channel: revenue per user is the whole shop's.
        "revenue_per_user": ratio(total(values, "revenue"), values.get("users", 0)),
        "revenue_per_paying_user": ratio(total(values, "revenue"),
                                         values.get("paying_users", 0)),
    } if not dims else {}
    return {
        "ad_spend": float(spend),
        "ad_impressions": int(impressions),
        "ad_clicks": int(clicks),
        "new_customers": int(new_customers),
        "roas": ratio(revenue, spend),
        "cac": ratio(spend, new_customers),
        "cpa": ratio(spend, orders),
        "ctr": ratio(clicks, impressions),
        "cost_per_session": ratio(spend, sessions),
        **shop,
        **(margin(values, dims) if len(dims) < 2 else {}),
    }


def margin(values: Values, dims: tuple[str, ...] = ()) -> dict:
    """Gross margin of the orders with known costs, overall or for one channel."""
    costed = total(values, "costed_revenue", *dims)
    return {"gross_margin": ratio(costed - total(values, "cogs", *dims), costed),
            "uncosted_orders": int(total(values, "uncosted_orders", *dims))}


def campaign_economics(values: Values) -> dict[str, dict]:
    """``economics`` of every channel and campaign with spend or orders in the window, keyed
    ``<channel>|<campaign>``."""
    pairs = {k.split("|", 1)[1] for k in values
             if k.startswith(("ad_spend|", "campaign_orders|", "campaign_sessions|"))}
    return {pair: economics(values, tuple(pair.split("|"))) for pair in sorted(pairs)}


def revenue_growth(now: Values, before: Values | None) -> float | None:
    """This window's revenue against an earlier one's: 0.1 is 10 % more; None without one."""
    if before is None:
        return None
    earlier = total(before, "revenue")
    return None if not earlier else float(Decimal(total(now, "revenue")) / earlier - 1)


def _failure_rate_by_method(values: Values) -> dict[str, float | None]:
    """payment_failed / (payment_failed + orders) per payment method seen in the window."""
    methods = {k.split("|")[1] for k in values if k.startswith("payment_failures|")}
    methods |= {k.split("|")[2] for k in values if k.startswith("orders|")}
    out = {}
    for method in sorted(methods):
        failed = total(values, "payment_failures", method)
        ordered = sum((v for k, v in values.items()
                       if k.startswith("orders|") and k.split("|")[2] == method), 0)
        out[method] = ratio(failed, failed + ordered)
    return out


def histogram_quantile(values: Values, q: float, name: str = "checkout_seconds") -> float | None:
    """Upper-bound estimate from cumulative buckets, interpolated like PromQL's."""
    count = values.get(f"{name}_count", 0)
    if not count:
        return None
    buckets = sorted((float(k.split("|")[1]), v) for k, v in values.items()
                     if k.startswith(f"{name}_bucket|"))
    rank = q * count
    lower_bound, lower_count = 0.0, 0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            span = cumulative - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / span)
        lower_bound, lower_count = bound, cumulative
    return buckets[-1][0] if buckets else None


def snapshot(table: Mapping, partitions: Iterable[int], tz: ZoneInfo,
             max_windows: int = 4) -> dict:
    """The ``/kpis`` document for the given partitions.

    Partitions settle at their own pace (each follows its own watermark), so a window is
    settled here only once every partition with data has settled past its end, and every
    window shown sums all those partitions: from the newest window any of them has reached
    back to the last window all of them have settled.
    """
    partitions = sorted(partitions)
    progress = {p: partition_progress(table, p) or {} for p in partitions}
    started = [progress[p] for p in partitions
               if progress[p].get("settled_through") is not None]
    windows: dict[str, list[dict]] = {size: [] for size in WINDOW_SIZES}
    if started:
        settled_until = min(p["settled_through"] for p in started) + MINUTE_MS
        newest = max(applied_last_ms(p) for p in started)
        for size in WINDOW_SIZES:
            window = window_of(size, newest, tz)
            while len(windows[size]) < max_windows:
                values = window_values(table, partitions, window)
                settled = window.end_ms <= settled_until
                windows[size].append(
                    {**window.as_dict(), "settled": settled, "kpis": derived(values),
                     "revenue_growth": _growth(table, partitions, window, values, tz),
                     "by_campaign": campaign_economics(values),
                     "values": {k: _json_number(v) for k, v in sorted(values.items())}})
                if settled:
                    break
                window = window_of(size, window.start_ms - 1, tz)
    lifetime: Values = Counter()
    for p in partitions:
        lifetime.update(all_time(table, p))
    return {
        "partitions": {str(p): {k: progress[p].get(k) for k in
                                ("settled_through", "applied_until", "watermark", "late")}
                       for p in partitions},
        "windows": windows,
        "since_tracking_began": {k: _json_number(v) for k, v in sorted(lifetime.items())},
    }


MAX_HISTORY_WINDOWS = 5000  # a month of 15-minute windows, a year of days: one answer's worth


def history(table: Mapping, partitions: Iterable[int], size: str, from_ms: int, to_ms: int,
            tz: ZoneInfo) -> dict:
    """The settled windows of ``size`` from ``from_ms`` to ``to_ms`` (windows starting at or
    after the one, ending at or before the other), oldest first, per partition: a partition's
    window is listed once that partition has settled it. Per partition so that whoever reads
    several workers sums each partition once, even while one moves between them. Windows
    older than the table keeps (``KpiSettings.window_retention_ms``) are not there."""
    progress = {p: partition_progress(table, p) or {} for p in sorted(partitions)}
    settled_until = {p: pr["settled_through"] + MINUTE_MS for p, pr in progress.items()
                     if pr.get("settled_through") is not None}
    windows = []
    window = window_of(size, from_ms, tz)
    if window.start_ms < from_ms:
        window = window_of(size, window.end_ms, tz)
    while window.end_ms <= to_ms and len(windows) < MAX_HISTORY_WINDOWS:
        parts = {str(p): {k: _json_number(v) for k, v in
                          sorted(stored_values(table.get(aggregate_key(p, window))).items())}
                 for p, until in settled_until.items() if window.end_ms <= until}
        if parts:
            windows.append({**window.as_dict(), "partitions": parts})
        window = window_of(size, window.end_ms, tz)
    return {"partitions": {str(p): {"settled_through": pr.get("settled_through")}
                           for p, pr in progress.items()},
            "truncated": window.end_ms <= to_ms, "windows": windows}


def window_values(table: Mapping, partitions: Iterable[int], window: Window) -> Values:
    """A window's aggregates summed over partitions."""
    values: Values = Counter()
    for p in partitions:
        values.update(stored_values(table.get(aggregate_key(p, window))))
    return values


WEEK_MS = 7 * 24 * 3_600_000


def _growth(table: Mapping, partitions: list[int], window: Window, values: Values,
            tz: ZoneInfo) -> dict:
    """Revenue against the window before and the same window a week earlier (None once the
    table no longer keeps it: KpiSettings.window_retention_ms)."""
    middle = (window.start_ms + window.end_ms) // 2  # (a day may last 23 or 25 hours)
    earlier = {"previous": window_of(window.size, window.start_ms - 1, tz),
               "week_ago": window_of(window.size, middle - WEEK_MS, tz)}
    out = {}
    for name, before in earlier.items():
        states = [table.get(aggregate_key(p, before)) for p in partitions]
        kept = any(state is not None for state in states)
        out[name] = revenue_growth(values, sum(map(stored_values, states), Counter())
                                   if kept else None)
    return out


def _json_number(value):
    return str(value) if isinstance(value, Decimal) else value
