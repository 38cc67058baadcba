"""Device class and bot detection on real user agents and device fields."""

import pytest

from models import Device, detect_device, is_bot
from tests.unit.models.factories import make_canonical, parse

pytestmark = pytest.mark.unit

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)
PIXEL = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
SAMSUNG_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 "
    "Chrome/122.0.0.0 Mobile Safari/537.36"
)
INSTAGRAM_IN_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 "
    "Instagram 352.0.0.36.93 (iPhone15,2; iOS 17_6; de_DE; de; scale=3.00; 1179x2556; 641522040)"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 "
    "Mobile/15E148 Safari/604.1"
)
GALAXY_TAB = (
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
KINDLE_FIRE = (
    "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/131.3.1 "
    "like Chrome/131.0.0.0 "
    "Safari/537.36"
)
SAMSUNG_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "94.0.4606.31/7.0 TV Safari/537.36"
)
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; CUBOT KINGKONG 9) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 "
    "Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, Device.DESKTOP),
        (SAFARI_MAC, Device.DESKTOP),
        (FIREFOX_LINUX, Device.DESKTOP),
        (CHROMEBOOK, Device.DESKTOP),
        (IPHONE, Device.MOBILE),
        (PIXEL, Device.MOBILE),
        (SAMSUNG_PHONE, Device.MOBILE),
        (INSTAGRAM_IN_APP, Device.MOBILE),
        (CUBOT_PHONE, Device.MOBILE),
        (IPAD, Device.TABLET),
        (GALAXY_TAB, Device.TABLET),
        (KINDLE_FIRE, Device.TABLET),
        (SAMSUNG_TV, Device.OTHER),
        ("okhttp/4.12.0", Device.OTHER),
        ("", Device.OTHER),
    ],
)
def test_device_from_user_agent(user_agent: str, expected: Device) -> None:
    assert detect_device(None, user_agent) is expected


@pytest.mark.parametrize(
    ("hint", "user_agent", "expected"),
    [
        ("desktop", IPHONE, Device.DESKTOP),
        ("Mobile", None, Device.MOBILE),
        ("tablet", None, Device.TABLET),
        ("smart tv", None, Device.OTHER),
        ("ios", None, Device.MOBILE),
        ("ios", IPAD, Device.TABLET),
        ("android", GALAXY_TAB, Device.TABLET),
        ("fridge", PIXEL, Device.MOBILE),
        (None, None, Device.OTHER),
    ],
)
def test_explicit_device_field_wins_when_understood(
    hint: str | None, user_agent: str | None, expected: Device
) -> None:
    assert detect_device(hint, user_agent) is expected


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
        "Gecko) "
        "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like "
        "Gecko) "
        "Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Go-http-client/2.0",
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    ],
)
def test_crawlers_monitors_and_scripts_are_bots(user_agent: str) -> None:
    assert is_bot(user_agent) is True


@pytest.mark.parametrize(
    "user_agent", [CHROME_WINDOWS, IPHONE, PIXEL, IPAD, CUBOT_PHONE, SAMSUNG_TV, INSTAGRAM_IN_APP]
)
def test_browsers_are_not_bots(user_agent: str) -> None:
    assert is_bot(user_agent) is False


def test_no_user_agent_is_not_a_bot() -> None:
    assert is_bot(None) is False


@pytest.mark.parametrize(
    "hostile",
    [
        "' OR '1'='1",
        "\x00\x01\x02",
        "Mozilla/5.0 " + "(iPhone; " * 1000,
        "\u202eenoHPi",
        "ｉＰｈｏｎｅ",
        "🤖" * 500,
    ],
)
def test_hostile_user_agents_only_ever_yield_a_device(hostile: str) -> None:
    [event] = parse(make_canonical("page_view", user_agent=hostile, device=hostile)).events

    assert type(event.device) is Device
    assert type(event.is_bot) is bool


@pytest.mark.parametrize("not_text", [42, ["desktop"], {"type": "mobile"}, True])
def test_device_values_that_are_not_text_are_ignored(not_text: object) -> None:
    assert detect_device(not_text, not_text) is Device.OTHER
    assert is_bot(not_text) is False
