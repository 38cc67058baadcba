"""Ad spend: what marketing paid a channel for a campaign over a span of time, with the
impressions and clicks bought (docs/KPIS.md "Acquisition and economics").

Ad platforms export cost per campaign per day or hour (Google Ads "Day", "Campaign",
"Currency code", "Cost", "Impr.", "Clicks"; Meta Ads "Reporting starts", "Reporting ends",
"Campaign name", "Amount spent", "Impressions", "Link clicks"): ``kpiwatch import-spend``
turns such a file into these rows, and a pipeline may produce them as JSON to the spend topic
itself. A row is keyed by ``spend_id``: a row with the id of an earlier one replaces it, so a
re-import of the same export corrects the figures instead of adding them twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.channels import Channel
from models.fields import CurrencyCode, Identifier, Money, Text, UtcTimestamp

MINUTE_S = 60
# Longer spans are rare in cost exports (a monthly invoice line at most) and would spread one
# amount over more minutes than any window kpiwatch keeps.
MAX_SPAN_DAYS = 31


class AdSpend(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    spend_id: Identifier
    channel: Channel
    campaign: Text | None = None
    start: UtcTimestamp
    end: UtcTimestamp
    amount: Money
    currency: CurrencyCode
    impressions: int = Field(0, ge=0)
    clicks: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _whole_minutes(self) -> AdSpend:
        # Spend is spread over the span's minutes: a span must hold whole ones.
        for name in ("start", "end"):
            moment: datetime = getattr(self, name)
            if moment.second or moment.microsecond:
                raise ValueError(f"{name} {moment.isoformat()} is not on a whole minute")
        minutes = self.minutes
        if minutes < 1:
            raise ValueError("end must be after start")
        if minutes > MAX_SPAN_DAYS * 1440:
            raise ValueError(f"a span is at most {MAX_SPAN_DAYS} days; split the row")
        return self

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp()) * 1000

    @property
    def end_ms(self) -> int:
        return int(self.end.timestamp()) * 1000

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds()) // MINUTE_S

    def encode(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))


def spend_id_of(channel: str, campaign: str | None, start: datetime, end: datetime,
                account: str = "") -> str:
    """The id of a row that has none: the same channel, campaign and span (and account) is the
    same row, so importing an export again replaces its figures."""
    text = "\x1f".join((account, channel, campaign or "", start.isoformat(), end.isoformat()))
    return "sp-" + hashlib.sha256(text.encode()).hexdigest()[:24]


class SpendError(ValueError):
    """A spend message that is not a valid row: ``reason`` is a short code, the message says
    which field and why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_spend(raw: bytes) -> AdSpend:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise SpendError("invalid_json", f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise SpendError("not_an_object", "a spend row is a JSON object")
    try:
        return AdSpend.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "row"
        raise SpendError("invalid_field", f"{where}: {first['msg']}") from None


__all__ = ["AdSpend", "SpendError", "parse_spend", "spend_id_of"]
