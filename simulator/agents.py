"""User agents the simulated visitors browse with, and the device each one is.

Like channels, devices are never written into an event: the ingestion derives them from
the user agent (`models.devices.detect_device`), so each agent below is listed with the
device class that detection must find, and the bots with `is_bot=True`.
"""

from dataclasses import dataclass

from models.devices import Device


@dataclass(frozen=True, slots=True)
class UserAgent:
    text: str
    device: Device
    is_bot: bool = False


BROWSERS: dict[Device, tuple[UserAgent, ...]] = {
    Device.DESKTOP: tuple(
        UserAgent(text, Device.DESKTOP)
        for text in (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
    ),
    Device.MOBILE: tuple(
        UserAgent(text, Device.MOBILE)
        for text in (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 14; SM-S921B) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 13; SM-A546B) "
            "AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 "
            "Chrome/122.0.0.0 Mobile Safari/537.36",
        )
    ),
    Device.TABLET: tuple(
        UserAgent(text, Device.TABLET)
        for text in (
            "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; SM-X710) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        )
    ),
}
"""Browsers by the device class they run on."""

BOTS: tuple[UserAgent, ...] = (
    UserAgent(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Device.OTHER,
        is_bot=True,
    ),
    UserAgent(
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
        "AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.6778.69 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Device.MOBILE,
        is_bot=True,
    ),
    UserAgent(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        Device.OTHER,
        is_bot=True,
    ),
    UserAgent(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        Device.OTHER,
        is_bot=True,
    ),
    UserAgent(
        "Mozilla/5.0 (X11; Linux x86_64) "
        "AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
        Device.DESKTOP,
        is_bot=True,
    ),
    UserAgent("python-requests/2.32.3", Device.OTHER, is_bot=True),
)
"""Crawlers, monitors and scrapers: a small share of every shop's traffic."""
