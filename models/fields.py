"""Field types shared by the canonical event models: what a valid value looks like.

Free text (URLs, user agents, campaign tags) is truncated to a cap rather than rejected:
an over-long URL still tells us a page was viewed. Identifiers are rejected when too
long instead, because truncating two different ids could merge them.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints
from pydantic_core import PydanticCustomError

from models.currencies import ISO_4217_CODES

URL_CAP = 2048
"""Longest URL or referrer kept; browsers and CDNs cut around 2 KiB too."""

USER_AGENT_CAP = 512
"""Longest user agent kept; real ones are under 300 characters."""

TEXT_CAP = 256
"""Longest campaign tag, search query, coupon or failure reason kept."""

LABEL_CAP = 64
"""Longest payment method or checkout step kept; the KPI stage maps these to a bounded
list from config, so the raw value only needs to be recognisable."""

IDENTIFIER_CAP = 256
"""Longest identifier accepted (event, user, session, cart, order, product)."""


def _truncate(cap: int) -> AfterValidator:
    return AfterValidator(lambda text: text[:cap])


def _known_currency(code: str) -> str:
    if code not in ISO_4217_CODES:
        raise PydanticCustomError("unknown_currency", "not an active ISO 4217 currency code")
    return code


def parse_instant(text: str, name: str) -> datetime:
    """An ISO 8601 time with its zone (Z or an offset), as a query, a CSV or a config file
    gives it; a ValueError naming ``name`` otherwise (a time without a zone could move data
    hours into another window)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not an ISO 8601 time such as "
                         "2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} {text!r} has no time zone: add Z or an offset")
    return moment


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=IDENTIFIER_CAP)]
UrlText = Annotated[str, _truncate(URL_CAP)]
UserAgentText = Annotated[str, _truncate(USER_AGENT_CAP)]
Text = Annotated[str, _truncate(TEXT_CAP)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1), _truncate(LABEL_CAP)
]
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Quantity = Annotated[int, Field(ge=1)]
CurrencyCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True), AfterValidator(_known_currency)
]
UtcTimestamp = Annotated[AwareDatetime, AfterValidator(_as_utc)]
"""A timestamp with an explicit offset, stored in UTC. A naive one is rejected: guessing
its zone could move an event hours into another window."""
