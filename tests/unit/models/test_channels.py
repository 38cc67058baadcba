"""Channel classification (GA4 default channel grouping, simplified) on real-looking
traffic, and on hostile values."""

import pytest

from models import Channel, classify_channel
from models.channels import CHANNEL_RULES, EXACT_SOURCE_KINDS, SITE_KINDS, SourceKind, source_kind
from tests.unit.models.factories import make_canonical, parse

pytestmark = pytest.mark.unit

LANDING = "https://shop.example.com/products/trail-shoe"


@pytest.mark.parametrize(
    ("utm_source", "utm_medium", "referrer", "url", "expected"),
    [
        pytest.param(None, None, None, LANDING, Channel.DIRECT, id="typed-in"),
        pytest.param(
            None,
            None,
            "https://shop.example.com/cart",
            LANDING,
            Channel.DIRECT,
            id="own-site-referrer",
        ),
        pytest.param("(direct)", "(none)", None, LANDING, Channel.DIRECT, id="explicit-direct"),
        pytest.param(
            None, None, "https://www.google.com/", LANDING, Channel.ORGANIC_SEARCH, id="google"
        ),
        pytest.param(
            None, None, "https://www.google.co.uk/", LANDING, Channel.ORGANIC_SEARCH, id="google-uk"
        ),
        pytest.param(
            None, None, "https://duckduckgo.com/", LANDING, Channel.ORGANIC_SEARCH, id="duckduckgo"
        ),
        pytest.param(
            None,
            None,
            "https://www.bing.com/search?q=boots",
            LANDING,
            Channel.ORGANIC_SEARCH,
            id="bing",
        ),
        pytest.param(
            None,
            None,
            "android-app://com.google.android.googlequicksearchbox/",
            LANDING,
            Channel.ORGANIC_SEARCH,
            id="google-app",
        ),
        pytest.param(
            "google", "organic", None, LANDING, Channel.ORGANIC_SEARCH, id="tagged-organic"
        ),
        pytest.param(
            "google",
            "cpc",
            "https://www.google.com/",
            LANDING,
            Channel.PAID_SEARCH,
            id="google-ads",
        ),
        pytest.param("bing", "ppc", None, LANDING, Channel.PAID_SEARCH, id="bing-ppc"),
        pytest.param(
            None,
            None,
            "https://www.google.com/",
            f"{LANDING}?gclid=Cj0KCQiA1",
            Channel.PAID_SEARCH,
            id="gclid",
        ),
        pytest.param(
            None, None, None, f"{LANDING}?msclkid=9f1c", Channel.PAID_SEARCH, id="msclkid"
        ),
        pytest.param(
            None,
            None,
            "https://l.facebook.com/",
            LANDING,
            Channel.ORGANIC_SOCIAL,
            id="facebook-link",
        ),
        pytest.param(
            None,
            None,
            "https://lm.facebook.com/",
            LANDING,
            Channel.ORGANIC_SOCIAL,
            id="facebook-mobile",
        ),
        pytest.param(
            None, None, "https://t.co/xyz", LANDING, Channel.ORGANIC_SOCIAL, id="twitter-shortener"
        ),
        pytest.param(
            None,
            None,
            "https://www.instagram.com/",
            LANDING,
            Channel.ORGANIC_SOCIAL,
            id="instagram",
        ),
        pytest.param(
            None, None, "https://www.youtube.com/", LANDING, Channel.ORGANIC_SOCIAL, id="youtube"
        ),
        pytest.param(
            None,
            None,
            None,
            f"{LANDING}?fbclid=IwAR2x",
            Channel.ORGANIC_SOCIAL,
            id="fbclid-no-referrer",
        ),
        pytest.param(
            "pinterest", "social", None, LANDING, Channel.ORGANIC_SOCIAL, id="tagged-social"
        ),
        pytest.param(
            "facebook",
            "paid_social",
            "https://l.facebook.com/",
            LANDING,
            Channel.PAID_SOCIAL,
            id="fb-ads",
        ),
        pytest.param("instagram", "cpc", None, LANDING, Channel.PAID_SOCIAL, id="instagram-ads"),
        pytest.param("tiktok", "paid", None, LANDING, Channel.PAID_SOCIAL, id="tiktok-ads"),
        pytest.param("newsletter", "email", None, LANDING, Channel.EMAIL, id="newsletter"),
        pytest.param("klaviyo", "e-mail", None, LANDING, Channel.EMAIL, id="e-mail"),
        pytest.param(
            None,
            None,
            "android-app://com.google.android.gm",
            LANDING,
            Channel.EMAIL,
            id="gmail-app",
        ),
        pytest.param(
            None, None, "https://mail.google.com/", LANDING, Channel.EMAIL, id="gmail-web"
        ),
        pytest.param(
            None, None, "https://outlook.live.com/", LANDING, Channel.EMAIL, id="outlook-web"
        ),
        pytest.param("awin", "affiliate", None, LANDING, Channel.AFFILIATE, id="awin"),
        pytest.param("partnerize", "affiliates", None, LANDING, Channel.AFFILIATE, id="affiliates"),
        pytest.param("criteo", "display", None, LANDING, Channel.DISPLAY, id="display"),
        pytest.param("dv360", "banner", None, LANDING, Channel.DISPLAY, id="banner"),
        pytest.param("taboola", "cpm", None, LANDING, Channel.DISPLAY, id="cpm"),
        pytest.param(
            None,
            None,
            "https://www.outdoor-blog.example/best-boots",
            LANDING,
            Channel.REFERRAL,
            id="blog",
        ),
        pytest.param(
            "partner-site", "referral", None, LANDING, Channel.REFERRAL, id="tagged-referral"
        ),
        pytest.param("some-network", "cpc", None, LANDING, Channel.OTHER, id="paid-unknown-source"),
        pytest.param("podcast", "audio", None, LANDING, Channel.OTHER, id="unassigned-medium"),
        pytest.param(
            "spring-promo", None, None, LANDING, Channel.OTHER, id="source-without-medium"
        ),
        pytest.param(None, None, "not a url at all", LANDING, Channel.OTHER, id="junk-referrer"),
    ],
)
def test_real_traffic_is_classified_like_ga4(
    utm_source: str | None,
    utm_medium: str | None,
    referrer: str | None,
    url: str,
    expected: Channel,
) -> None:
    channel = classify_channel(
        utm_source=utm_source, utm_medium=utm_medium, referrer=referrer, url=url
    )

    assert channel is expected


def test_tags_are_matched_case_insensitively_and_trimmed() -> None:
    assert classify_channel(utm_source=" Google ", utm_medium="CPC") is Channel.PAID_SEARCH


HOSTILE = [
    "' OR 1=1; DROP TABLE sessions; --",
    "paid_search",
    "organic_search\x00",
    "cpc\ndisplay",
    "\x1b[31mred\x1b[0m",
    "e" * 10_000,
    "https://" + "a" * 10_000 + ".com/",
    "https://[::1",
    "javascript:alert(document.cookie)",
    "\u202egoogle\u202c",
    "ｇｏｏｇｌｅ",
    "🔥💸",
    "<script>alert(1)</script>",
    "",
    "   ",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_values_only_ever_yield_a_channel(hostile: str) -> None:
    for arguments in (
        {"utm_source": hostile},
        {"utm_medium": hostile},
        {"utm_source": hostile, "utm_medium": hostile},
        {"referrer": hostile},
        {"url": hostile},
        {"referrer": hostile, "url": hostile},
    ):
        assert isinstance(classify_channel(**arguments), Channel), arguments


@pytest.mark.parametrize("not_text", [42, 4.2, True, ["google"], {"source": "google"}])
def test_values_that_are_not_text_are_ignored(not_text: object) -> None:
    assert (
        classify_channel(utm_source=not_text, utm_medium=not_text, referrer=not_text, url=not_text)
        is Channel.DIRECT
    )


def test_an_unparseable_referrer_is_other_not_a_crash() -> None:
    assert classify_channel(referrer="http://[::1", url=LANDING) is Channel.OTHER


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_campaign_tags_in_an_event_never_become_a_label(hostile: str) -> None:
    message = make_canonical("page_view", utm_source=hostile, utm_medium=hostile, referrer=hostile)
    [event] = parse(message).events

    assert event.channel in set(Channel)
    assert type(event.channel) is Channel


def test_source_tables_only_name_known_kinds() -> None:
    assert set(SITE_KINDS.values()) | set(EXACT_SOURCE_KINDS.values()) <= set(SourceKind)
    assert {rule.channel for rule in CHANNEL_RULES} <= set(Channel)
    assert source_kind("www.google.com") is SourceKind.SEARCH
    assert source_kind("mail.yahoo.com") is SourceKind.EMAIL
