"""Incidents the simulator stages on demand, and the parser for their command-line
spelling, ``KIND@START+DURATION[:key=value,...]``: START is the offset from the run's
start and DURATION how long it lasts, both as ``90``, ``90s``, ``5m``, ``1h30m`` or ``2d``.

- ``checkout-slowdown``: checkout step timings x ``factor`` (10). Checkout time p95 rises.
- ``payment-outage``: ``method`` (card) fails ``failure_rate`` (0.9) of payments; shoppers
  retry, some with another method. Payment failure rate of that method rises.
- ``conversion-drop``: the order probability of ``channel`` (paid_search) falls by
  ``drop`` (0.8). That channel's conversion rate falls; checkouts end at payment.
- ``traffic-spike``: session rate x ``factor`` (5).
- ``bad-events``: ``share`` (0.2) of messages malformed (`simulator.defects`). Invalid
  events by reason rise.
- ``campaign-waste``: the ads of ``channel`` (paid_search), one ``campaign`` or ``all``, cost
  ``factor`` (4) times as much per click (a bid war, a broken bid cap), and buy
  ``extra_clicks`` (0.2) more clicks that never buy (broad-match junk): the channel's ad spend
  and sessions rise, its orders do not, so its ROAS and CAC go the wrong way. Spend rows come
  with ``--spend`` (`simulator.ad_spend`).
- ``nps-drop``: ``detractors`` (0.7) of the NPS answers are detractors (0-6), the rest
  passives and promoters as usual: the NPS (normally about +30) goes clearly negative.

Example: ``conversion-drop@120s+300s:channel=paid_search,drop=0.8``.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from models.channels import Channel
from simulator.catalog import PAYMENT_METHODS
from simulator.sources import SIMULATED_CHANNELS, campaign_sources


class IncidentKind(StrEnum):
    CHECKOUT_SLOWDOWN = "checkout-slowdown"
    PAYMENT_OUTAGE = "payment-outage"
    CONVERSION_DROP = "conversion-drop"
    TRAFFIC_SPIKE = "traffic-spike"
    BAD_EVENTS = "bad-events"
    CAMPAIGN_WASTE = "campaign-waste"
    NPS_DROP = "nps-drop"


@dataclass(frozen=True, slots=True)
class Incident:
    """One staged incident. `magnitude` is the kind's strength: the factor of a
    slowdown or spike, the failure rate of an outage, the fall of a conversion drop
    (0.8: 80 % fewer orders), the share of bad events, the cost-per-click factor of campaign
    waste, the share of detractors of an NPS drop. `extra` is campaign waste's share of extra
    clicks; `campaign` its campaign (None: every campaign of `channel`)."""

    kind: IncidentKind
    start: timedelta
    duration: timedelta
    magnitude: float
    channel: Channel | None = None
    payment_method: str | None = None
    campaign: str | None = None
    extra: float = 0.0

    def is_active(self, offset_seconds: float) -> bool:
        start = self.start.total_seconds()
        return start <= offset_seconds < start + self.duration.total_seconds()


class IncidentSpecError(ValueError):
    """A malformed incident spec; the message says what is wrong and what is allowed."""


@dataclass(frozen=True, slots=True)
class _Option:
    name: str
    default: str
    check: str  # "positive", "fraction", "channel", "method" or "campaign"


_OPTIONS: dict[IncidentKind, tuple[_Option, ...]] = {
    IncidentKind.CHECKOUT_SLOWDOWN: (_Option("factor", "10", "positive"),),
    IncidentKind.PAYMENT_OUTAGE: (
        _Option("method", "card", "method"),
        _Option("failure_rate", "0.9", "fraction"),
    ),
    IncidentKind.CONVERSION_DROP: (
        _Option("channel", "paid_search", "channel"),
        _Option("drop", "0.8", "fraction"),
    ),
    IncidentKind.TRAFFIC_SPIKE: (_Option("factor", "5", "positive"),),
    IncidentKind.BAD_EVENTS: (_Option("share", "0.2", "fraction"),),
    IncidentKind.CAMPAIGN_WASTE: (
        _Option("channel", "paid_search", "channel"),
        _Option("campaign", "all", "campaign"),
        _Option("factor", "4", "positive"),
        _Option("extra_clicks", "0.2", "fraction"),
    ),
    IncidentKind.NPS_DROP: (_Option("detractors", "0.7", "fraction"),),
}
"""Each kind's options, in the order of the table above; the first numeric one is the
magnitude, a second one the `extra`."""

_SPEC = re.compile(r"(?P<kind>[a-z-]+)@(?P<start>[^+:]+)\+(?P<duration>[^:]+)(?::(?P<options>.*))?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90``, ``90s``, ``5m``, ``1h30m``, ``2d`` (a bare number is seconds)."""
    text = text.strip()
    position, seconds = 0, 0.0
    while position < len(text):
        part = _DURATION_PART.match(text, position)
        if part is None or (part.group(2) == "" and part.end() != len(text)):
            raise ValueError(f"{text!r} is not a duration: use e.g. 90, 90s, 5m, 1h30m or 2d")
        seconds += float(part.group(1)) * _SECONDS_PER_UNIT[part.group(2)]
        position = part.end()
    if not text:
        raise ValueError("empty duration: use e.g. 90, 90s, 5m, 1h30m or 2d")
    return timedelta(seconds=seconds)


def parse_incident(spec: str) -> Incident:
    """An `Incident` from its ``KIND@START+DURATION[:key=value,...]`` spelling; raises
    `IncidentSpecError` naming the problem."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise IncidentSpecError(
            f"incident {spec!r}: expected KIND@START+DURATION[:key=value,...], "
            "e.g. conversion-drop@120s+300s:channel=paid_search"
        )
    try:
        kind = IncidentKind(match["kind"])
    except ValueError:
        kinds = ", ".join(IncidentKind)
        raise IncidentSpecError(
            f"incident {spec!r}: unknown kind {match['kind']!r}; kinds are {kinds}"
        ) from None
    try:
        start = parse_duration(match["start"])
        duration = parse_duration(match["duration"])
    except ValueError as error:
        raise IncidentSpecError(f"incident {spec!r}: {error}") from None
    if duration <= timedelta(0):
        raise IncidentSpecError(f"incident {spec!r}: duration must be more than 0")
    values = _option_values(spec, kind, match["options"])
    return _build(spec, kind, start, duration, values)


def _option_values(spec: str, kind: IncidentKind, text: str | None) -> dict[str, str]:
    allowed = {option.name: option.default for option in _OPTIONS[kind]}
    values = dict(allowed)
    for pair in filter(None, (text or "").split(",")):
        name, equals, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not value:
            raise IncidentSpecError(f"incident {spec!r}: option {pair!r} must be key=value")
        if name not in allowed:
            raise IncidentSpecError(
                f"incident {spec!r}: {kind} takes {', '.join(allowed)}, not {name!r}"
            )
        values[name] = value
    return values


def _build(
    spec: str, kind: IncidentKind, start: timedelta, duration: timedelta, values: dict[str, str]
) -> Incident:
    numbers: list[float] = []
    channel, method, campaign = None, None, None
    for option in _OPTIONS[kind]:
        value = values[option.name]
        if option.check == "channel":
            if value not in SIMULATED_CHANNELS:
                choices = ", ".join(SIMULATED_CHANNELS)
                raise IncidentSpecError(
                    f"incident {spec!r}: channel must be one of {choices}, not {value!r}"
                )
            channel = Channel(value)
        elif option.check == "method":
            if value not in PAYMENT_METHODS:
                choices = ", ".join(PAYMENT_METHODS)
                raise IncidentSpecError(
                    f"incident {spec!r}: method must be one of {choices}, not {value!r}"
                )
            method = value
        elif option.check == "campaign":
            campaign = None if value == "all" else value
        else:
            numbers.append(_number(spec, option, value))
    if campaign is not None and campaign not in (
        names := [source.utm_campaign for source in campaign_sources(channel)]
    ):
        raise IncidentSpecError(
            f"incident {spec!r}: campaign must be all or one of {channel}'s campaigns "
            f"{', '.join(dict.fromkeys(names))}, not {campaign!r}"
        )
    if kind is IncidentKind.CAMPAIGN_WASTE and not campaign_sources(channel):
        paid = ", ".join(c for c in SIMULATED_CHANNELS if campaign_sources(c))
        raise IncidentSpecError(
            f"incident {spec!r}: {channel} buys no ads; channel must be one of {paid}"
        )
    return Incident(
        kind,
        start,
        duration,
        numbers[0] if numbers else 0.0,
        channel=channel,
        payment_method=method,
        campaign=campaign,
        extra=numbers[1] if len(numbers) > 1 else 0.0,
    )


def _number(spec: str, option: _Option, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise IncidentSpecError(
            f"incident {spec!r}: {option.name} must be a number, not {value!r}"
        ) from None
    if option.check == "fraction" and not 0 <= number <= 1:
        raise IncidentSpecError(
            f"incident {spec!r}: {option.name} must be between 0 and 1, not {value}"
        )
    if option.check == "positive" and not number > 0:
        raise IncidentSpecError(
            f"incident {spec!r}: {option.name} must be more than 0, not {value}"
        )
    return number


class IncidentTimeline:
    """The incidents of one run, asked by offset in seconds from the run's start: what
    each kind changes at that moment. With no incident active every answer is neutral."""

    def __init__(self, incidents: tuple[Incident, ...]) -> None:
        self._by_kind: dict[IncidentKind, tuple[Incident, ...]] = {
            kind: tuple(incident for incident in incidents if incident.kind is kind)
            for kind in IncidentKind
        }

    def stages(self, kind: IncidentKind) -> bool:
        """Whether the run has any incident of `kind`."""
        return bool(self._by_kind[kind])

    def _active(self, kind: IncidentKind, offset: float) -> list[Incident]:
        incidents = self._by_kind[kind]
        return (
            [incident for incident in incidents if incident.is_active(offset)] if incidents else []
        )

    def checkout_slowdown(self, offset: float) -> float:
        """Multiplier on checkout step timings."""
        factor = 1.0
        for incident in self._active(IncidentKind.CHECKOUT_SLOWDOWN, offset):
            factor *= incident.magnitude
        return factor

    def traffic_factor(self, offset: float) -> float:
        """Multiplier on the session rate."""
        factor = 1.0
        for incident in self._active(IncidentKind.TRAFFIC_SPIKE, offset):
            factor *= incident.magnitude
        return factor

    def outage_failure_rate(self, method: str, offset: float) -> float | None:
        """The failure rate of `method` while its provider is down, else None."""
        rates = [
            i.magnitude
            for i in self._active(IncidentKind.PAYMENT_OUTAGE, offset)
            if i.payment_method == method
        ]
        return max(rates) if rates else None

    def order_factor(self, channel: Channel, offset: float) -> float:
        """Multiplier on the order probability of sessions from `channel`."""
        factor = 1.0
        for incident in self._active(IncidentKind.CONVERSION_DROP, offset):
            if incident.channel is channel:
                factor *= 1 - incident.magnitude
        return factor

    def bad_share(self, offset: float) -> float:
        """Share of messages to send malformed."""
        return max(
            (incident.magnitude for incident in self._active(IncidentKind.BAD_EVENTS, offset)),
            default=0.0,
        )

    def spend_factor(self, channel: Channel, campaign: str | None, offset: float) -> float:
        """Multiplier on the cost per click of `channel`'s `campaign`."""
        factor = 1.0
        for incident in self._active(IncidentKind.CAMPAIGN_WASTE, offset):
            if incident.channel is channel and incident.campaign in (None, campaign):
                factor *= incident.magnitude
        return factor

    def nps_detractor_share(self, offset: float) -> float | None:
        """The share of NPS answers that are detractors during an NPS drop, else None."""
        shares = [i.magnitude for i in self._active(IncidentKind.NPS_DROP, offset)]
        return max(shares) if shares else None

    def wasted_clicks(self, offset: float) -> list[Incident]:
        """The campaign-waste incidents buying extra clicks at this moment."""
        return [i for i in self._active(IncidentKind.CAMPAIGN_WASTE, offset) if i.extra > 0]
