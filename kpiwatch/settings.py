"""kpiwatch configuration: one validated model, read from ``KPIWATCH_*`` environment variables.

Every field has a working default for the local stack, so ``kpiwatch worker`` runs with no
configuration at all. A wrong value stops startup with a message that names the variable and
says how to fix it (see :func:`load_settings`).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "KPIWATCH_"


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
    alert_evaluation_interval: timedelta = Field(
        timedelta(seconds=1),
        gt=timedelta(0),
        description="How often each worker publishes its newly settled windows to Redis and "
        "judges the complete ones (cheap when nothing settled).",
        examples=["PT1S"],
    )

    # Event time
    business_timezone: str = Field(
        "UTC",
        description="IANA time zone that defines a business day (DAU, daily windows).",
        examples=["Europe/Berlin", "America/New_York"],
    )
    allowed_lateness: timedelta = Field(
        timedelta(minutes=5),
        description="How long after a window ends late events still change it (then settled).",
        examples=["PT5M", "300"],
    )
    future_skew: timedelta = Field(
        timedelta(minutes=5),
        description="Events stamped further in the future than this are rejected.",
        examples=["PT5M"],
    )
    replay_horizon: timedelta = Field(
        timedelta(days=7),
        description="Events older than this (vs. the wall clock) are rejected as too old.",
        examples=["P7D"],
    )
    source_idle_timeout: timedelta = Field(
        timedelta(seconds=60),
        description="An input partition silent this long (wall clock) stops holding back the "
        "event-time watermark; until then the slowest input partition sets it.",
        examples=["PT60S"],
    )
    checkpoint_interval: timedelta = Field(
        timedelta(seconds=2),
        description="The KPI engine applies events as soon as the watermark passes them and "
        "shows them in /metrics and /kpis at once; what it applied is written to its table "
        "(and the events acknowledged) this often, and, when it keeps up with live input, "
        "as soon as a minute settles (alerts judge written minutes). Longer writes a busy "
        "entity once for more events (less CPU) and replays more after a crash.",
        examples=["PT2S", "PT10S"],
    )
    dedup_horizon: timedelta = Field(
        timedelta(hours=24),
        description="How long an event_id is remembered to drop duplicates exactly.",
        examples=["PT24H"],
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
        32 * 1024, ge=1024, le=1024 * 1024, description="Larger messages go to the dead letters."
    )

    # KPI definitions
    session_timeout: timedelta = Field(
        timedelta(minutes=30),
        description="A session without session_id ends after this much inactivity (GA4).",
        examples=["PT30M"],
    )
    abandon_after: timedelta = Field(
        timedelta(minutes=30),
        description="A cart or checkout with no activity and no order for this long is abandoned.",
        examples=["PT30M"],
    )
    base_currency: str = Field(
        "EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency revenue is reported in.",
        examples=["EUR", "USD"],
    )
    currency_rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Base-currency value of one unit of another currency, as JSON; orders in "
        "currencies without a rate are counted as unconverted, never summed.",
        examples=['{"USD": "0.92", "GBP": "1.17"}'],
    )
    payment_methods: list[str] = Field(
        ["card", "paypal", "apple_pay", "google_pay", "klarna", "bank_transfer"],
        description="Payment methods reported by name, as JSON; any other is reported as other.",
        examples=['["card", "paypal"]'],
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
        return ";".join(f"kafka://{s.strip()}" for s in self.kafka_bootstrap_servers.split(","))

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
        lines.append(f"  {variable}={got!r}: {item['msg']}")
        if info is not None:
            example = (info.examples or [info.default])[0]
            lines.append(f"    fix: set {variable} to {example!r} or similar. {info.description or ''}")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; on a wrong value raise :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_errors(error)) from None


def settings_table_markdown() -> str:
    """The README's configuration table, generated from the model so it cannot drift."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, timedelta):
            seconds = default.total_seconds()
            default = f"{int(seconds) if seconds.is_integer() else seconds} s"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{default}` | {info.description or ''} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(settings_table_markdown() + "\n")
