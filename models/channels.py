"""Marketing channel of an event, from its campaign tags, referrer and landing URL.

This is GA4's default channel grouping, simplified to the ten channels kpiwatch reports
(KPIS.md section 2). Everything that decides a channel is data below: which sites are
search engines, social networks or mail clients, which click ids imply a paid click, and
the ordered rules; `classify_channel` only derives a (source, medium) pair and walks the
rules. Free text never becomes a label: the result is always a `Channel`, and anything
not recognised is `Channel.OTHER`.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class Channel(StrEnum):
    DIRECT = "direct"
    ORGANIC_SEARCH = "organic_search"
    PAID_SEARCH = "paid_search"
    ORGANIC_SOCIAL = "organic_social"
    PAID_SOCIAL = "paid_social"
    EMAIL = "email"
    REFERRAL = "referral"
    AFFILIATE = "affiliate"
    DISPLAY = "display"
    OTHER = "other"


class SourceKind(StrEnum):
    """What kind of site a traffic source is."""

    DIRECT = "direct"
    SEARCH = "search"
    SOCIAL = "social"
    EMAIL = "email"
    UNKNOWN = "unknown"


SITE_KINDS: dict[str, SourceKind] = {
    name: kind
    for kind, names in {
        SourceKind.SEARCH: (
            "google baidu bing yahoo duckduckgo yandex ecosia naver seznam qwant ask aol "
            "startpage brave sogou so daum"
        ),
        # Video sites are folded into social: kpiwatch has no video channel.
        SourceKind.SOCIAL: (
            "facebook fb instagram ig twitter x t linkedin lnkd pinterest pin reddit "
            "tiktok youtube youtu snapchat whatsapp wa vk weibo tumblr threads quora "
            "discord messenger vimeo twitch"
        ),
        SourceKind.EMAIL: "email e-mail e_mail gmail outlook",
    }.items()
    for name in names.split()
}
"""Source names (a utm_source, or the site name of a referrer host) by kind of site."""

EXACT_SOURCE_KINDS: dict[str, SourceKind] = {
    "(direct)": SourceKind.DIRECT,
    "e mail": SourceKind.EMAIL,
    "mail.google.com": SourceKind.EMAIL,
    "com.google.android.gm": SourceKind.EMAIL,
    "outlook.live.com": SourceKind.EMAIL,
    "outlook.office.com": SourceKind.EMAIL,
    "outlook.office365.com": SourceKind.EMAIL,
    "com.microsoft.office.outlook": SourceKind.EMAIL,
    "mail.yahoo.com": SourceKind.EMAIL,
    "mail.aol.com": SourceKind.EMAIL,
    "mail.proton.me": SourceKind.EMAIL,
    "com.google.android.googlequicksearchbox": SourceKind.SEARCH,
    "com.facebook.katana": SourceKind.SOCIAL,
    "com.instagram.android": SourceKind.SOCIAL,
    "com.linkedin.android": SourceKind.SOCIAL,
    "com.twitter.android": SourceKind.SOCIAL,
}
"""Exact sources and hosts (Android app referrers included) whose kind is not their site
name's: Gmail lives on google.com but is mail, not search. Checked before `SITE_KINDS`."""

CLICK_IDS: dict[str, tuple[str, str | None]] = {
    "gclid": ("google", "cpc"),
    "gbraid": ("google", "cpc"),
    "wbraid": ("google", "cpc"),
    "msclkid": ("bing", "cpc"),
    "ttclid": ("tiktok", "cpc"),
    # Facebook appends fbclid to every outbound link, paid or not: it names the source only.
    "fbclid": ("facebook", None),
}
"""Ad-platform click ids in a landing URL, as the (source, medium) they stand for."""

_COUNTRY_SECOND_LEVELS = frozenset({"co", "com", "net", "org", "ac", "gov", "ne", "or"})
_CLICK_ID_PATTERN = re.compile(r"[?&#](" + "|".join(CLICK_IDS) + r")=")
_LONGEST_USEFUL_VALUE = 128


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """Traffic whose source kind is one of `source_kinds` (any, if None) and whose medium
    fully matches `medium` (any, if None) belongs to `channel`."""

    channel: Channel
    source_kinds: frozenset[SourceKind] | None = None
    medium: re.Pattern[str] | None = None

    def matches(self, source_kind: SourceKind, medium: str) -> bool:
        if self.source_kinds is not None and source_kind not in self.source_kinds:
            return False
        return self.medium is None or self.medium.fullmatch(medium) is not None


_PAID_MEDIUM = re.compile(r".*cp.*|ppc|retargeting|paid.*")

CHANNEL_RULES: tuple[ChannelRule, ...] = (
    ChannelRule(
        Channel.DIRECT, frozenset({SourceKind.DIRECT}), re.compile(r"\(none\)|\(not set\)")
    ),
    ChannelRule(Channel.PAID_SEARCH, frozenset({SourceKind.SEARCH}), _PAID_MEDIUM),
    ChannelRule(Channel.PAID_SOCIAL, frozenset({SourceKind.SOCIAL}), _PAID_MEDIUM),
    ChannelRule(Channel.DISPLAY, None, re.compile(r"display|banner|expandable|interstitial|cpm")),
    # GA4's "Paid Other": paid traffic from a source we cannot place.
    ChannelRule(Channel.OTHER, None, _PAID_MEDIUM),
    ChannelRule(Channel.ORGANIC_SOCIAL, frozenset({SourceKind.SOCIAL})),
    ChannelRule(
        Channel.ORGANIC_SOCIAL, None, re.compile(r"social|social[- ]network|social[- ]media|sm")
    ),
    ChannelRule(Channel.ORGANIC_SEARCH, frozenset({SourceKind.SEARCH})),
    ChannelRule(Channel.ORGANIC_SEARCH, None, re.compile(r"organic")),
    ChannelRule(Channel.EMAIL, frozenset({SourceKind.EMAIL})),
    ChannelRule(Channel.EMAIL, None, re.compile(r"e[-_ ]?mail|newsletter")),
    ChannelRule(Channel.AFFILIATE, None, re.compile(r"affiliates?")),
    ChannelRule(Channel.REFERRAL, None, re.compile(r"referral|app|link")),
)
"""GA4's default channel rules in GA4's order; the first match wins, no match is OTHER."""


def classify_channel(
    *,
    utm_source: Any = None,
    utm_medium: Any = None,
    referrer: Any = None,
    url: Any = None,
) -> Channel:
    """The channel of one event.

    Campaign tags win over click ids in the URL, which win over the referrer, as in GA4
    without auto-tagging overrides. A referrer from the landing page's own host is
    internal navigation and counts as no referrer. Accepts any values (non-strings are
    ignored) and never raises.
    """
    if isinstance(utm_source, str) or isinstance(utm_medium, str):
        tagged = _tagged_channel(_shortened(utm_source), _shortened(utm_medium))
        if tagged is not None:
            return tagged
    landing = url[:4096] if isinstance(url, str) else None
    if landing is not None and (click := _CLICK_ID_PATTERN.search(landing)) is not None:
        source, medium = CLICK_IDS[click.group(1)]
        return _channel_of(source, medium or "(not set)")
    if not isinstance(referrer, str) or not referrer:
        return Channel.DIRECT
    referrer_host, channel = _referrer_channel(referrer[:4096])
    if referrer_host is not None and landing is not None and _has_host(landing, referrer_host):
        return Channel.DIRECT
    return channel


def utm_from_url(url: Any) -> dict[str, str]:
    """The utm_source, utm_medium and utm_campaign tags in a landing URL's query."""
    if not isinstance(url, str) or "utm_" not in url:
        return {}
    try:
        query = urlsplit(url[:4096]).query
    except ValueError:
        return {}
    wanted = ("utm_source", "utm_medium", "utm_campaign")
    return {key: value for key, value in parse_qsl(query) if key in wanted and value}


def source_kind(source: str) -> SourceKind:
    """The kind of site a source name or host ("google", "l.facebook.com") is."""
    host = source.removeprefix("www.")
    if host in EXACT_SOURCE_KINDS:
        return EXACT_SOURCE_KINDS[host]
    return SITE_KINDS.get(_site_name(host), SourceKind.UNKNOWN)


@lru_cache(maxsize=4096)
def _channel_of(source: str, medium: str) -> Channel:
    kind = source_kind(source)
    for rule in CHANNEL_RULES:
        if rule.matches(kind, medium):
            return rule.channel
    return Channel.OTHER


@lru_cache(maxsize=4096)
def _tagged_channel(utm_source: str | None, utm_medium: str | None) -> Channel | None:
    """The channel of campaign tags; None when both are blank, so the referrer decides."""
    source = _clean(utm_source)
    medium = _clean(utm_medium)
    if source is None and medium is None:
        return None
    return _channel_of(source or "(not set)", medium or "(not set)")


@lru_cache(maxsize=8192)
def _referrer_channel(referrer: str) -> tuple[str | None, Channel]:
    """The referrer's host and the channel it stands for."""
    try:
        host = urlsplit(referrer).hostname or None
    except ValueError:
        host = None
    if host is None:
        # A referrer that is not a URL is junk, not a site: it must not read as direct.
        return None, Channel.OTHER
    return host, _channel_of(host, "referral")


def _has_host(url: str, host: str) -> bool:
    """Whether `url` is on `host`: internal navigation. A prefix test rather than a full
    parse, because landing URLs are all different and cannot be cached; a URL with a
    user or odd spelling before its host reads as another site, which is harmless."""
    after_scheme = url.partition("://")[2]
    return after_scheme[: len(host)].lower() == host and after_scheme[
        len(host) : len(host) + 1
    ] in (
        "",
        "/",
        "?",
        "#",
        ":",
    )


def _site_name(host: str) -> str:
    """The registrable name in a host: "google" for www.google.co.uk."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _COUNTRY_SECOND_LEVELS and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def _shortened(value: Any) -> str | None:
    return value[:_LONGEST_USEFUL_VALUE] if isinstance(value, str) else None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip().lower() or None
