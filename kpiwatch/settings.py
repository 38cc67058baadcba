"""kpiwatch configuration: one validated model, read from ``KPIWATCH_*`` environment variables.

Every field has a working default for the local stack, so ``kpiwatch worker`` runs with no
configuration at all. A wrong value stops startup with a message that names the variable and
says how to fix it (see :func:`load_settings`).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from models.currencies import ISO_4217_CODES

ENV_PREFIX = "KPIWATCH_"

DURATION_FORMS = "expected seconds (300), a duration such as 300s, 5m, 2h, 1d, or ISO 8601 (PT5M)"
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_UNIT_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_CHAIN = re.compile(rf"(?:{_UNIT_PART.pattern})+\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PYDANTIC_TIMEDELTA = TypeAdapter(timedelta)


def _parse_duration(value: object) -> object:
    """A duration from the environment: ``300`` (seconds), ``300s``, ``5m``, ``2h``, ``1d``,
    ``500ms``, combinations such as ``1h30m``, or ISO 8601 (``PT5M``, ``P7D``)."""
    if not isinstance(value, str):
        return value  # a timedelta or number given in code: pydantic's own rules apply
    text = value.strip().lower()
    try:
        if _SECONDS.fullmatch(text):
            return timedelta(seconds=float(text))
        if _UNIT_CHAIN.fullmatch(text):
            return timedelta(seconds=sum(
                float(number) * _UNIT_SECONDS[unit] for number, unit in _UNIT_PART.findall(text)
            ))
        duration = _PYDANTIC_TIMEDELTA.validate_python(value.strip())  # ISO 8601 and the like
    except (ValidationError, OverflowError):
        raise PydanticCustomError("duration", DURATION_FORMS) from None
    if duration < timedelta(0):
        raise PydanticCustomError("duration", "must not be negative; " + DURATION_FORMS)
    return duration


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]
"""A ``timedelta`` setting; every duration field uses it, so all accept the same forms."""


def payment_method_key(raw: str) -> str:
    """How a raw payment method name is matched: lowercased, trimmed, spaces and hyphens
    turned into underscores ("Credit Card" and "credit-card" are both credit_card)."""
    return re.sub(r"[ -]", "_", raw.strip().lower())


# What Segment and GA4 shops send as payment_method / payment_type, by the method it is.
# Keys are already matched form (see payment_method_key): "credit card" is credit_card, and names
# that match a payment method themselves ("apple pay" is apple_pay) need no entry.
DEFAULT_PAYMENT_METHOD_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        ["credit_card", "debit_card", "visa", "mastercard", "amex", "american_express",
         "discover", "maestro", "cb"],
        "card",
    ),
    "pay_pal": "paypal",
    "applepay": "apple_pay",
    **dict.fromkeys(["googlepay", "gpay"], "google_pay"),
    **dict.fromkeys(["sofort", "klarna_pay_later", "pay_later"], "klarna"),
    **dict.fromkeys(["sepa", "bank", "wire", "wire_transfer", "ideal"], "bank_transfer"),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    # Kafka
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        description="Kafka bootstrap servers, comma separated host:port.",
        examples=["127.0.0.1:9092", "kafka-1:9092,kafka-2:9092"],
    )
    app_id: str = Field(
        "kpiwatch",
        min_length=1,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Faust application id: consumer group and prefix of state topics.",
        examples=["kpiwatch"],
    )
    topic_partitions: int = Field(
        4,
        ge=1,
        le=256,
        description="Partitions of the topics kpiwatch creates; the most workers that share work.",
        examples=[4],
    )
    topic_clickstream: str = Field("clickstream", min_length=1, description="Input topic.")
    topic_cart: str = Field("cart", min_length=1, description="Input topic.")
    topic_purchase: str = Field("purchase", min_length=1, description="Input topic.")
    topic_canonical: str = Field(
        "kpiwatch-events", min_length=1, description="Validated events, keyed by user key."
    )
    topic_dead_letter: str = Field(
        "kpiwatch-dead-letter", min_length=1, description="Rejected input, with the reason."
    )
    topic_ad_spend: str = Field(
        "kpiwatch-ad-spend",
        min_length=1,
        description="Ad spend rows, keyed by spend id (compacted: a row replaces the earlier "
        "one with its id); written by kpiwatch import-spend or a pipeline.",
    )

    # Worker web server: /metrics, /kpis
    web_host: str = Field("127.0.0.1", description="Address the worker's web server binds.")
    web_port: int = Field(
        6066, ge=1, le=65535, description="Port of the worker's /metrics and /kpis.", examples=[6066]
    )

    # Shared alert state
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        pattern=r"^rediss?://",
        description="Redis holding alert state, shared by all workers.",
        examples=["redis://127.0.0.1:6379/0"],
    )

    # Alerts
    rules_file: Path | None = Field(
        None,
        description="Alert rules YAML (alerts/rules.py has the schema); empty = the shipped "
        "alerts/rules.yaml. Checked at worker startup: a bad file stops it, naming rule and field.",
        examples=["/etc/kpiwatch/rules.yaml"],
    )
    grafana_url: str = Field(
        "http://localhost:3000",
        pattern=r"^https?://",
        description="Grafana base URL: notifications link its dashboards at the incident's "
        "time range.",
        examples=["https://grafana.example.com"],
    )
    alert_evaluation_interval: Duration = Field(
        timedelta(seconds=1),
        gt=timedelta(0),
        description="How often each worker publishes its newly settled windows to Redis and "
        "judges the complete ones (cheap when nothing settled).",
        examples=["1s", "500ms", "PT1S"],
    )

    # Event time
    business_timezone: str = Field(
        "UTC",
        description="IANA time zone that defines a business day (DAU, daily windows).",
        examples=["Europe/Berlin", "America/New_York"],
    )
    allowed_lateness: Duration = Field(
        timedelta(minutes=5),
        description="How long after a window ends late events still change it (then settled).",
        examples=["5m", "300", "PT5M"],
    )
    future_skew: Duration = Field(
        timedelta(minutes=5),
        description="Events stamped further in the future than this are rejected.",
        examples=["5m", "PT5M"],
    )
    replay_horizon: Duration = Field(
        timedelta(days=7),
        description="Events older than this (vs. the wall clock) are rejected as too old.",
        examples=["7d", "P7D"],
    )
    source_idle_timeout: Duration = Field(
        timedelta(seconds=60),
        description="An input partition silent this long (wall clock) stops holding back the "
        "event-time watermark; until then the slowest input partition sets it.",
        examples=["60s", "PT60S"],
    )
    checkpoint_interval: Duration = Field(
        timedelta(seconds=2),
        description="The KPI engine applies events as soon as the watermark passes them and "
        "shows them in /metrics and /kpis at once; what it applied is written to its table "
        "(and the events acknowledged) this often, and, when it keeps up with live input, "
        "as soon as a minute settles (alerts judge written minutes). Longer writes a busy "
        "entity once for more events (less CPU) and replays more after a crash.",
        examples=["2s", "10s", "PT10S"],
    )
    dedup_horizon: Duration = Field(
        timedelta(hours=24),
        description="How long an event_id is remembered to drop duplicates exactly.",
        examples=["24h", "1d", "PT24H"],
    )
    consumer_max_fetch_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Most bytes fetched per partition at once. Small fetches interleave the "
        "input partitions finely while catching up, which keeps event-time skew between them "
        "(and so spurious late events) small.",
        examples=[65536],
    )
    max_event_bytes: int = Field(
        130 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Larger messages go to the dead letters. The default admits a full GA4 "
        "Measurement Protocol request (25 events, 130 kB).",
        examples=[133120],
    )

    # KPI definitions
    session_timeout: Duration = Field(
        timedelta(minutes=30),
        description="A session without session_id ends after this much inactivity (GA4).",
        examples=["30m", "PT30M"],
    )
    abandon_after: Duration = Field(
        timedelta(minutes=30),
        description="A cart or checkout with no activity and no order for this long is abandoned.",
        examples=["30m", "1h30m", "PT30M"],
    )
    base_currency: str = Field(
        "USD",
        description="ISO 4217 currency revenue is reported in; Segment and GA4 assume USD when "
        "an event has none.",
        examples=["USD", "EUR"],
    )
    currency_rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Base-currency value of one unit of another currency, as JSON; orders in "
        "currencies without a rate are counted as unconverted, never summed.",
        examples=['{"EUR": "1.08", "GBP": "1.27"}'],
    )
    payment_methods: list[str] = Field(
        ["card", "paypal", "apple_pay", "google_pay", "klarna", "bank_transfer"],
        description="Payment methods reported by name, as JSON; any other is reported as other.",
        examples=['["card", "paypal"]'],
    )
    payment_method_aliases: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_PAYMENT_METHOD_ALIASES),
        validate_default=True,  # narrowed to the configured methods below
        description="Raw payment method names sources send, mapped to names in "
        "KPIWATCH_PAYMENT_METHODS, as JSON. A raw name is matched after lowercasing, trimming "
        "and turning spaces and hyphens into underscores (so \"Credit Card\" matches "
        "credit_card); names already in KPIWATCH_PAYMENT_METHODS need no alias. The default "
        "covers what Segment and GA4 shops commonly send, less aliases of methods not "
        "configured; setting it replaces the default.",
        examples=['{"credit_card": "card", "pay_pal": "paypal", "bancontact": "card"}'],
    )

    campaigns: list[str] = Field(
        default_factory=list,
        description="Campaigns reported by name, as JSON: the utm_campaign of a session's first "
        "event and the campaign of ad spend rows, matched like payment methods (lowercased, "
        "trimmed, spaces and hyphens as underscores); any other campaign is reported as other.",
        examples=['["brand", "black_friday"]'],
    )
    surveys: list[str] = Field(
        default_factory=list,
        description="Surveys reported by name, as JSON: the survey of NPS and CSAT responses, "
        "matched like campaigns; any other survey is reported as other.",
        examples=['["post_purchase", "support"]'],
    )
    features: list[str] = Field(
        default_factory=list,
        description="Product features whose adoption is reported by name, as JSON: the feature "
        "of feature_used events, matched like campaigns; any other is reported as other.",
        examples=['["wishlist", "size_guide"]'],
    )
    activation_event: str = Field(
        "order_completed",
        description="The canonical event type that activates a user who signed up, when it "
        "comes within KPIWATCH_ACTIVATION_WINDOW of the signup.",
        examples=["order_completed", "feature_used", "cart_add"],
    )
    activation_window: Duration = Field(
        timedelta(days=7),
        description="How long after signing up a user may activate; the activation rate of the "
        "signups whose window ended is settled then.",
        examples=["7d", "P7D"],
    )
    product_costs_file: Path | None = Field(
        None,
        description="CSV of product unit costs for gross margin: product_id, unit_cost, and "
        "optionally currency (else the base currency) and valid_from (ISO 8601; the cost from "
        "then on). An order with a product without a cost is counted, never margined at zero.",
        examples=["costs.csv"],
    )

    # Local service stack
    run_dir: Path = Field(
        Path(".run"),
        description="Where the local stack keeps data, logs and PID files.",
        examples=[".run"],
    )
    kafka_home: Path | None = Field(
        None,
        description="An Apache Kafka distribution to use instead of resolving jars with Maven.",
        examples=["/opt/kafka_2.13-4.1.1"],
    )
    redis_port: int = Field(6379, ge=1, le=65535, description="Local stack Redis port.")
    kafka_port: int = Field(9092, ge=1, le=65535, description="Local stack Kafka port.")
    kafka_controller_port: int = Field(
        9093, ge=1, le=65535, description="Local stack Kafka KRaft controller port."
    )
    prometheus_port: int = Field(9090, ge=1, le=65535, description="Local stack Prometheus port.")
    scrape_interval_seconds: float = Field(
        5.0, gt=0, le=300, description="How often the local Prometheus scrapes the workers."
    )

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the worker."
    )

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("base_currency", mode="before")
    @classmethod
    def _known_currency(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        code = value.strip().upper()  # as event currencies are read (models/fields.py)
        if code not in ISO_4217_CODES:
            raise PydanticCustomError(
                "unknown_currency",
                f"{value!r} is not an active ISO 4217 currency code; use a three-letter code "
                "such as USD, EUR or GBP",
            )
        return code

    @field_validator("payment_method_aliases")
    @classmethod
    def _aliases_name_configured_methods(
        cls, aliases: dict[str, str], info: ValidationInfo
    ) -> dict[str, str]:
        methods = info.data.get("payment_methods")  # absent when it is wrong itself
        if aliases == DEFAULT_PAYMENT_METHOD_ALIASES:
            # Narrowing KPIWATCH_PAYMENT_METHODS drops the default aliases of the methods left
            # out (those names are then reported as other) instead of failing startup.
            return {a: m for a, m in aliases.items() if methods is None or m in methods}
        matched: dict[str, tuple[str, str]] = {}  # matched form -> (alias as given, target)
        for alias, target in aliases.items():
            key = payment_method_key(alias)
            if not key:
                raise PydanticCustomError("payment_method_alias", "an alias is empty; remove it")
            if methods is not None and target not in methods:
                raise PydanticCustomError(
                    "payment_method_alias",
                    f"alias {alias!r} names {target!r}, which is not in KPIWATCH_PAYMENT_METHODS "
                    f"({', '.join(methods)}); add {target!r} there or map {alias!r} to one of "
                    "those",
                )
            first, first_target = matched.setdefault(key, (alias, target))
            if first_target != target:
                raise PydanticCustomError(
                    "payment_method_alias",
                    f"aliases {first!r} and {alias!r} are both matched as {key!r} but name "
                    f"different methods ({first_target!r}, {target!r}); keep one",
                )
        return {key: target for key, (_, target) in matched.items()}

    @field_validator("campaigns", "surveys", "features")
    @classmethod
    def _label_names(cls, names: list[str], info: ValidationInfo) -> list[str]:
        keys = []
        what = info.field_name.removesuffix("s")
        for name in names:
            key = payment_method_key(name)
            if not re.fullmatch(r"[a-z0-9_]{1,64}", key) or key == "other":
                raise PydanticCustomError(
                    f"{what}_name",
                    f"{what} {name!r} is not a usable label: use letters, digits, spaces, "
                    "hyphens or underscores (at most 64), and not 'other' (the rest)",
                )
            keys.append(key)
        return sorted(set(keys))

    @field_validator("activation_window")
    @classmethod
    def _activation_within_memory(cls, window: timedelta) -> timedelta:
        # A user is forgotten after 61 days of inactivity (streams/kpis/kpi_settings.py): a
        # longer window would lose the cohort count of signups that never came back.
        if not timedelta(0) < window <= timedelta(days=60):
            raise PydanticCustomError(
                "activation_window", "must be more than 0 and at most 60 days (users are "
                "remembered for 61 days of inactivity), e.g. 7d or 30d")
        return window

    @field_validator("activation_event")
    @classmethod
    def _activating_type(cls, name: str) -> str:
        from models.events import CANONICAL_TYPES

        if name not in CANONICAL_TYPES or name == "signup":
            raise PydanticCustomError(
                "activation_event",
                f"{name!r} cannot activate a user: use one of "
                f"{', '.join(sorted(CANONICAL_TYPES - {'signup'}))}",
            )
        return name

    @field_validator("product_costs_file")
    @classmethod
    def _readable_costs(cls, path: Path | None) -> Path | None:
        if path is not None:
            from models.product_costs import CostFileError, read_cost_file

            try:
                read_cost_file(path)
            except CostFileError as error:
                raise PydanticCustomError("product_costs", str(error)) from None
        return path

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value

    @property
    def faust_broker(self) -> str:
        """The broker URL for Faust: its scheme names kpiwatch's transport (streams/transport.py)."""
        return ";".join(f"kpiwatch://{s.strip()}" for s in self.kafka_bootstrap_servers.split(","))

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @property
    def input_topics(self) -> tuple[str, str, str]:
        return (self.topic_clickstream, self.topic_cart, self.topic_purchase)


class ConfigError(SystemExit):
    """Startup stops here: the message names each wrong variable and how to fix it."""


def describe_errors(error: ValidationError) -> str:
    lines = ["kpiwatch: invalid configuration"]
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        variable = f"{ENV_PREFIX}{field.upper()}"
        info = Settings.model_fields.get(field)
        got = item.get("input")
        if isinstance(got, timedelta):  # already parsed when a bound (gt=...) rejected it
            got = render_default(got)
        lines.append(f"  {variable}={got!r}: {item['msg']}")
        if info is not None:
            lines.append(_fix(field))
    return "\n".join(lines)


def _fix(field: str) -> str:
    info = Settings.model_fields[field]
    variable = f"{ENV_PREFIX}{field.upper()}"
    example = (info.examples or [default_values()[field]])[0]
    return f"    fix: set {variable} to {example!r} or similar. {info.description or ''}"


def describe_settings_error(error: SettingsError) -> str:
    """The message for a value pydantic-settings could not even decode (JSON of a dict or
    list field), which it reports before validation starts."""
    found = re.search(r'field "(\w+)"', str(error))
    field = found.group(1) if found else None
    if field not in Settings.model_fields:
        return f"kpiwatch: invalid configuration\n  {error}"
    variable = f"{ENV_PREFIX}{field.upper()}"
    cause = f" ({error.__cause__})" if error.__cause__ else ""
    return "\n".join([
        "kpiwatch: invalid configuration",
        f"  {variable}: not valid JSON{cause}",
        _fix(field),
    ])


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; on a wrong value raise :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_errors(error)) from None
    except SettingsError as error:
        raise ConfigError(describe_settings_error(error)) from None


def default_values() -> dict[str, Any]:
    """Each field's default as the model makes it, factories included (called in field order,
    so a factory sees the defaults before it, as it does in ``Settings()``)."""
    values: dict[str, Any] = {}
    for name, info in Settings.model_fields.items():
        values[name] = info.get_default(call_default_factory=True, validated_data=values)
    return values


def render_default(value: object) -> str:
    """A default as the README shows it: durations in seconds, dicts and lists as JSON."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return f"{int(seconds) if seconds.is_integer() else seconds} s"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def settings_table_markdown() -> str:
    """The README's configuration table, generated from the model so it cannot drift."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, default in default_values().items():
        description = Settings.model_fields[name].description or ""
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{render_default(default)}` | {description} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(settings_table_markdown() + "\n")
