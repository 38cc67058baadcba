"""The part of the settings KPI families read, in the units they compute in."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from kpiwatch.settings import Settings


@dataclass(frozen=True)
class KpiSettings:
    timezone: ZoneInfo = ZoneInfo("UTC")
    allowed_lateness_ms: int = 5 * 60_000
    session_timeout_ms: int = 30 * 60_000
    abandon_after_ms: int = 30 * 60_000
    # An abandoned cart stays recoverable this long (recovery e-mails run for about a week),
    # then it is forgotten: memory stays bounded.
    cart_recovery_ms: int = 7 * 24 * 3_600_000
    # A user inactive this long is forgotten. Over 30 days, so MAU never misses one; a user key
    # seen again after that counts as a new user.
    user_ttl_ms: int = 31 * 24 * 3_600_000
    source_idle_seconds: float = 60.0
    base_currency: str = "EUR"
    currency_rates: dict[str, Decimal] = field(default_factory=dict)
    payment_methods: frozenset[str] = frozenset(
        {"card", "paypal", "apple_pay", "google_pay", "klarna", "bank_transfer"})

    @classmethod
    def from_settings(cls, settings: Settings) -> KpiSettings:
        return cls(
            timezone=settings.timezone,
            allowed_lateness_ms=int(settings.allowed_lateness.total_seconds() * 1000),
            session_timeout_ms=int(settings.session_timeout.total_seconds() * 1000),
            abandon_after_ms=int(settings.abandon_after.total_seconds() * 1000),
            source_idle_seconds=settings.source_idle_timeout.total_seconds(),
            base_currency=settings.base_currency,
            currency_rates=dict(settings.currency_rates),
            payment_methods=frozenset(settings.payment_methods),
        )

    def payment_method(self, raw: str | None) -> str:
        return raw if raw in self.payment_methods else "other"

    def to_base(self, amount: Decimal, currency: str) -> Decimal | None:
        """The amount in the base currency, or None when there is no rate for it."""
        if currency == self.base_currency:
            return amount
        rate = self.currency_rates.get(currency)
        return None if rate is None else amount * rate
