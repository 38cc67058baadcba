"""How each marketing channel shows up in an event: the campaign tags, referrer and
landing URL a real visitor from that channel brings.

The simulator never writes a channel into an event. It writes what a browser would
(utm tags, a referrer, a click id) and lets the ingestion's classifier
(`models.channels.classify_channel`, GA4's default channel grouping) derive the channel,
so the simulator also exercises the classifier. Every source below is classified as the
channel it is listed under; tests/unit/simulator checks that.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from models.channels import Channel
from simulator.catalog import SHOP_URL


@dataclass(frozen=True, slots=True)
class TrafficSource:
    """Where a session came from. `landing_query` is what the ad or mail link appended to
    the landing URL (campaign tags and click ids)."""

    channel: Channel
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer: str | None = None
    click_id: str | None = None

    @property
    def landing_query(self) -> str:
        tags = {
            "utm_source": self.utm_source,
            "utm_medium": self.utm_medium,
            "utm_campaign": self.utm_campaign,
        }
        query = {name: value for name, value in tags.items() if value is not None}
        if self.click_id is not None:
            query[self.click_id] = "sim"
        return "?" + urlencode(query) if query else ""


def _tagged(
    channel: Channel, source: str, medium: str, campaign: str, click_id: str | None = None
) -> TrafficSource:
    return TrafficSource(
        channel, utm_source=source, utm_medium=medium, utm_campaign=campaign, click_id=click_id
    )


def _referred(channel: Channel, referrer: str) -> TrafficSource:
    return TrafficSource(channel, referrer=referrer)


SOURCES: dict[Channel, tuple[tuple[TrafficSource, float], ...]] = {
    Channel.DIRECT: ((TrafficSource(Channel.DIRECT), 1.0),),
    Channel.ORGANIC_SEARCH: (
        (_referred(Channel.ORGANIC_SEARCH, "https://www.google.com/"), 0.82),
        (_referred(Channel.ORGANIC_SEARCH, "https://www.bing.com/"), 0.08),
        (_referred(Channel.ORGANIC_SEARCH, "https://duckduckgo.com/"), 0.06),
        (_referred(Channel.ORGANIC_SEARCH, "https://www.ecosia.org/"), 0.04),
    ),
    Channel.PAID_SEARCH: (
        (_tagged(Channel.PAID_SEARCH, "google", "cpc", "brand_search", "gclid"), 0.55),
        (_tagged(Channel.PAID_SEARCH, "google", "cpc", "generic_outdoor", "gclid"), 0.35),
        (_tagged(Channel.PAID_SEARCH, "bing", "cpc", "brand_search", "msclkid"), 0.10),
    ),
    Channel.ORGANIC_SOCIAL: (
        (_referred(Channel.ORGANIC_SOCIAL, "https://l.facebook.com/"), 0.35),
        (_referred(Channel.ORGANIC_SOCIAL, "https://www.instagram.com/"), 0.30),
        (_referred(Channel.ORGANIC_SOCIAL, "https://www.pinterest.com/"), 0.15),
        (_referred(Channel.ORGANIC_SOCIAL, "https://www.reddit.com/"), 0.12),
        (_referred(Channel.ORGANIC_SOCIAL, "https://t.co/"), 0.08),
    ),
    Channel.PAID_SOCIAL: (
        (_tagged(Channel.PAID_SOCIAL, "facebook", "paid_social", "winter_sale", "fbclid"), 0.45),
        (_tagged(Channel.PAID_SOCIAL, "instagram", "paid_social", "winter_sale", "fbclid"), 0.35),
        (_tagged(Channel.PAID_SOCIAL, "tiktok", "cpc", "trail_season", "ttclid"), 0.20),
    ),
    Channel.EMAIL: (
        (_tagged(Channel.EMAIL, "newsletter", "email", "weekly_picks"), 0.6),
        (_tagged(Channel.EMAIL, "klaviyo", "email", "abandoned_cart_reminder"), 0.4),
    ),
    Channel.REFERRAL: (
        (_referred(Channel.REFERRAL, "https://www.outdoorgearlab.com/reviews/shoes"), 0.4),
        (_referred(Channel.REFERRAL, "https://blog.trailrunner.net/best-shoes-2026"), 0.35),
        (_referred(Channel.REFERRAL, "https://www.switchbacktravel.com/"), 0.25),
    ),
    Channel.AFFILIATE: (
        (_tagged(Channel.AFFILIATE, "awin", "affiliate", "partner_program"), 0.7),
        (_tagged(Channel.AFFILIATE, "tradedoubler", "affiliate", "partner_program"), 0.3),
    ),
    Channel.DISPLAY: (
        (_tagged(Channel.DISPLAY, "criteo", "display", "retarget_viewed"), 0.7),
        (_tagged(Channel.DISPLAY, "outbrain", "banner", "prospecting"), 0.3),
    ),
}
"""Each channel's sources, with their share of the channel's sessions."""

SIMULATED_CHANNELS: tuple[Channel, ...] = tuple(SOURCES)
"""The channels the simulator produces traffic for (all but `other`)."""

CAMPAIGNS: tuple[str, ...] = tuple(
    dict.fromkeys(
        source.utm_campaign
        for sources in SOURCES.values()
        for source, _ in sources
        if source.utm_campaign is not None
    )
)
"""Every campaign the simulated shop runs: a short, fixed list, as a shop's campaign names
are. `KPIWATCH_CAMPAIGNS` set to it (`python -m simulator campaigns`) reports each by name;
unlisted ones would all be `other`."""


def campaign_sources(channel: Channel, campaign: str | None = None) -> tuple[TrafficSource, ...]:
    """The tagged sources of `channel` (of one campaign, or all): where its ads are bought."""
    return tuple(
        source
        for source, _ in SOURCES[channel]
        if source.utm_campaign is not None and campaign in (None, source.utm_campaign)
    )


def landing_url(source: TrafficSource, path: str) -> str:
    return f"{SHOP_URL}{path}{source.landing_query}"
