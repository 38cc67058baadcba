"""Ad spend of the simulated shop: what its campaigns cost, as the ad platforms' cost feeds
report it, one row per ad account (utm_source), campaign and span.

A row's clicks are the sessions the simulator starts from that source in the span (an ad
click is a session that lands with the campaign's tags), its amount those clicks times the
campaign's cost per click (`PRICING`; a campaign-waste incident multiplies it), its
impressions the clicks over the campaign's click-through rate. Money is `Decimal`, exact to
the cent: the spend kpiwatch reports is exactly the sum of the rows.

Each row is sent at the start of its span, before any event of the span, as a budget-pacing
feed announces what a campaign will spend: the worker knows a minute's spend before that
minute settles, so alerts judge windows with their spend. To know a span's clicks that early,
`interleave` generates the span's events first and holds them back (a span of events in
memory). Spans are aligned to the clock (a 5-minute span starts at :00, :05, ...); the part
of a run before its first whole span has no spend row, since a row sent after its span began
would break that promise.

Rows are keyed by `spend_id` (`models.spend.spend_id_of`: account, channel, campaign, span),
as `kpiwatch import-spend` keys an export's rows: a second run over the same minutes
replaces their rows instead of adding to them.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from models.spend import AdSpend, spend_id_of
from simulator.catalog import CURRENCY
from simulator.events import LabelledMessage, SimulatedMessage
from simulator.incidents import IncidentTimeline
from simulator.sources import TrafficSource

AD_SPEND_STREAM = "ad_spend"
"""The stream name of spend rows (`SimulatedMessage.stream`); sinks map it to the spend topic
(`KPIWATCH_TOPIC_AD_SPEND`)."""

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CampaignPricing:
    """What a campaign's clicks cost (`cpc`, in the shop's currency) and how many of its ads
    shown are clicked (`ctr`)."""

    cpc: Decimal
    ctr: Decimal


PRICING: dict[str, CampaignPricing] = {
    # Search: brand terms are cheap and clicked often, generic terms dear and clicked less.
    "brand_search": CampaignPricing(Decimal("0.35"), Decimal("0.08")),
    "generic_outdoor": CampaignPricing(Decimal("0.85"), Decimal("0.035")),
    # Social feeds: cheap clicks, seldom clicked, buyers less decided.
    "winter_sale": CampaignPricing(Decimal("0.30"), Decimal("0.012")),
    "trail_season": CampaignPricing(Decimal("0.40"), Decimal("0.009")),
    # Email: the mailing service's cost per click, a fraction of a cent a mail sent.
    "weekly_picks": CampaignPricing(Decimal("0.02"), Decimal("0.03")),
    "abandoned_cart_reminder": CampaignPricing(Decimal("0.03"), Decimal("0.08")),
    # Affiliates are paid per click here (many programmes pay per sale instead).
    "partner_program": CampaignPricing(Decimal("0.45"), Decimal("0.01")),
    # Display: retargeting is clicked more than prospecting banners.
    "retarget_viewed": CampaignPricing(Decimal("0.20"), Decimal("0.006")),
    "prospecting": CampaignPricing(Decimal("0.15"), Decimal("0.002")),
}
"""Cost per click and click-through rate of every campaign in `simulator.sources`. Chosen so
that each paid channel returns a few times its spend in revenue (paid search about five to
six times, social and display about three), as a shop's healthy campaigns do."""


@dataclass(frozen=True, slots=True)
class LabelledSpend:
    """A spend row, as the message sent (stream `AD_SPEND_STREAM`, keyed by its spend id)
    and as the row it encodes: the truth to check kpiwatch's spend KPIs against."""

    message: SimulatedMessage
    row: AdSpend


def span_starts(start: datetime, span: timedelta) -> datetime:
    """The first span boundary at or after `start`, spans aligned to the clock."""
    seconds = int(span.total_seconds())
    if seconds < 60 or seconds % 60:
        raise ValueError(f"a spend span is whole minutes, at least one, not {span}")
    epoch = int(start.timestamp())
    first = -(-epoch // seconds) * seconds
    return datetime.fromtimestamp(first, UTC)


def interleave(
    messages: Iterable[LabelledMessage],
    start: datetime,
    span: timedelta,
    timeline: IncidentTimeline,
) -> Iterator[LabelledMessage | LabelledSpend]:
    """`messages` (in event-time order) with the spend rows of each span from the first
    boundary at or after `start`, each row before the span's first message."""
    boundary = span_starts(start, span)
    run_start = start.timestamp()
    held: list[LabelledMessage] = []
    source = iter(messages)
    for labelled in source:
        if labelled.message.event_time < boundary:
            yield labelled
            continue
        held.append(labelled)
        break
    else:
        return
    while held:
        span_end = boundary + span
        chunk = held
        held = []
        for labelled in source:
            if labelled.message.event_time >= span_end:
                held.append(labelled)
                break
            chunk.append(labelled)
        yield from spend_rows(chunk, boundary, span_end, timeline, run_start)
        yield from chunk
        boundary = span_end


def spend_rows(
    chunk: list[LabelledMessage],
    start: datetime,
    end: datetime,
    timeline: IncidentTimeline,
    run_start: float,
) -> Iterator[LabelledSpend]:
    """The rows of one span from its messages: per tagged source, one click per session
    opened, each at its campaign's cost per click times the waste factor of its moment."""
    clicks: dict[TrafficSource, int] = {}
    amounts: dict[TrafficSource, Decimal] = {}
    for labelled in chunk:
        for event in labelled.events:
            source = event.source
            if not event.opens_session or source.utm_campaign is None or event.is_bot:
                continue
            pricing = PRICING[source.utm_campaign]
            factor = timeline.spend_factor(
                source.channel, source.utm_campaign, event.event_time.timestamp() - run_start
            )
            cost = pricing.cpc if factor == 1 else (pricing.cpc * Decimal(str(factor)))
            clicks[source] = clicks.get(source, 0) + 1
            amounts[source] = amounts.get(source, Decimal(0)) + cost.quantize(_CENT)
    for source in sorted(clicks, key=_source_order):
        campaign = source.utm_campaign
        assert campaign is not None and source.utm_source is not None
        row = AdSpend(
            spend_id=spend_id_of(source.channel, campaign, start, end, account=source.utm_source),
            channel=source.channel,
            campaign=campaign,
            start=start,
            end=end,
            amount=amounts[source],
            currency=CURRENCY,
            impressions=int(
                (clicks[source] / PRICING[campaign].ctr).to_integral_value(ROUND_HALF_EVEN)
            ),
            clicks=clicks[source],
        )
        message = SimulatedMessage(AD_SPEND_STREAM, row.spend_id.encode(), row.encode(), start)
        yield LabelledSpend(message, row)


def _source_order(source: TrafficSource) -> tuple[str, str, str]:
    return (source.channel, source.utm_campaign or "", source.utm_source or "")
