"""The part of the settings KPI families read, in the units they compute in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from kpiwatch.settings import DEFAULT_PAYMENT_METHOD_ALIASES, Settings, payment_method_key
from models.product_costs import CostTable, cost_at, read_cost_file

DAY_MS = 24 * 3_600_000

# How long a window aggregate is kept after its end (in event time: once the partition has
# settled that far past it, streams/kpis/working_set.py ``expire_windows``); a size not listed,
# such as "all" (since tracking began), is kept forever. About 1,850 windows a day otherwise.
# What reads them from the table: /kpis and the gauges, the latest two windows of each size;
# the alert publisher, up to 2,000 windows back when Redis was away; the fail-open evaluator
# (Redis down), the same window a week earlier and trailing windows. Redis keeps 8 days.
WINDOW_RETENTION_MS: dict[str, int] = {
    # 1,440 a day, the bulk: two days cover the publisher's 2,000-minute catch-up. A 1m rule
    # with a week-ago benchmark has none in fail-open mode (1m is too noisy for one anyway).
    "1m": 2 * DAY_MS,
    # A week-ago benchmark plus a day to judge it in, as Redis keeps them.
    "5m": 8 * DAY_MS,
    "15m": 8 * DAY_MS,
    # 24 and 1 a day: cheap enough to keep a month of hours and a year of days.
    "1h": 35 * DAY_MS,
    "1d": 400 * DAY_MS,
}


@dataclass(frozen=True)
class KpiSettings:
    timezone: ZoneInfo = ZoneInfo("UTC")
    allowed_lateness_ms: int = 5 * 60_000
    session_timeout_ms: int = 30 * 60_000
    abandon_after_ms: int = 30 * 60_000
    # An abandoned cart stays recoverable this long (recovery e-mails run for about a week),
    # then it is forgotten: memory stays bounded.
    cart_recovery_ms: int = 7 * 24 * 3_600_000
    # A user inactive this long is forgotten. Over 60 days, so that MAU and churn (active in
    # the 30 days before the last 30) never miss one; a user key seen again after that counts
    # as a new user.
    user_ttl_ms: int = 61 * 24 * 3_600_000
    # A user id's links to its devices (streams/kpis/identity.py): a device not linked again
    # this long is no longer the user's.
    link_ttl_ms: int = 31 * 24 * 3_600_000
    # An order_id is remembered this long after its order: a repeat within it is dropped.
    dedup_horizon_ms: int = 24 * 3_600_000
    source_idle_seconds: float = 60.0
    # KPI partitions (the canonical topic's): a user-id-only event is applied by the partition
    # of the device it resolves to (streams/kpis/identity.py).
    partitions: int = 1
    # What the engine applied in memory is written this often (0: with every batch), or once
    # this many events wait for it (streams/kpis/engine.py, ``settle``).
    checkpoint_every_s: float = 0.0
    checkpoint_events: int = 20_000
    window_retention_ms: Mapping[str, int] = field(
        default_factory=lambda: dict(WINDOW_RETENTION_MS))
    base_currency: str = "USD"
    currency_rates: dict[str, Decimal] = field(default_factory=dict)
    payment_methods: frozenset[str] = frozenset(
        {"card", "paypal", "apple_pay", "google_pay", "klarna", "bank_transfer"})
    payment_method_aliases: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_PAYMENT_METHOD_ALIASES))
    campaigns: frozenset[str] = frozenset()
    surveys: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()
    activation_event: str = "order_completed"
    activation_ms: int = 7 * 24 * 3_600_000
    product_costs: CostTable = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> KpiSettings:
        return cls(
            timezone=settings.timezone,
            allowed_lateness_ms=int(settings.allowed_lateness.total_seconds() * 1000),
            session_timeout_ms=int(settings.session_timeout.total_seconds() * 1000),
            abandon_after_ms=int(settings.abandon_after.total_seconds() * 1000),
            source_idle_seconds=settings.source_idle_timeout.total_seconds(),
            checkpoint_every_s=settings.checkpoint_interval.total_seconds(),
            dedup_horizon_ms=int(settings.dedup_horizon.total_seconds() * 1000),
            partitions=settings.topic_partitions,
            base_currency=settings.base_currency,
            currency_rates=dict(settings.currency_rates),
            payment_methods=frozenset(settings.payment_methods),
            payment_method_aliases=dict(settings.payment_method_aliases),
            campaigns=frozenset(settings.campaigns),
            surveys=frozenset(settings.surveys),
            features=frozenset(settings.features),
            activation_event=settings.activation_event,
            activation_ms=int(settings.activation_window.total_seconds() * 1000),
            product_costs=(read_cost_file(settings.product_costs_file)
                           if settings.product_costs_file is not None else {}),
        )

    def campaign(self, raw: str | None) -> str:
        """The configured name of a raw campaign (utm_campaign, a spend row's), else "other":
        campaign names are free text, the label is bounded."""
        return _configured(raw, self.campaigns)

    def survey(self, raw: str | None) -> str:
        """The configured name of a survey (KPIWATCH_SURVEYS), else "other"."""
        return _configured(raw, self.surveys)

    def feature(self, raw: str | None) -> str:
        """The configured name of a feature (KPIWATCH_FEATURES), else "other"."""
        return _configured(raw, self.features)

    def unit_cost(self, product_id: str, at_ms: int) -> Decimal | None:
        """A product's unit cost at an instant, in the base currency; None when unknown (no
        cost listed, or in a currency without a rate)."""
        found = cost_at(self.product_costs, product_id, at_ms)
        if found is None:
            return None
        cost, currency = found
        return self.to_base(cost, currency or self.base_currency)

    def payment_method(self, raw: str | None) -> str:
        """The configured name of a raw payment method ("Credit Card", "visa" -> card), else
        "other": a bounded label."""
        if raw in self.payment_methods:
            return raw
        if raw is None:
            return "other"
        key = payment_method_key(raw)
        method = self.payment_method_aliases.get(key, key)
        return method if method in self.payment_methods else "other"

    def to_base(self, amount: Decimal, currency: str) -> Decimal | None:
        """The amount in the base currency, or None when there is no rate for it."""
        if currency == self.base_currency:
            return amount
        rate = self.currency_rates.get(currency)
        return None if rate is None else amount * rate


def _configured(raw: str | None, names: frozenset[str]) -> str:
    if raw is None:
        return "other"
    key = payment_method_key(raw)
    return key if key in names else "other"
