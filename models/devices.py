"""Device class and bot detection, from an explicit device field or the user agent.

Both are tables: `DEVICE_HINTS` for the device fields sources send (Segment's
context.device.type, GA4's device.category), `USER_AGENT_DEVICES` and `BOT_MARKERS` for
user agents. A user agent is free text: it only ever selects one of the `Device` values.
"""

import re
from enum import StrEnum
from functools import lru_cache
from typing import Any


class Device(StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"


DEVICE_HINTS: dict[str, Device | None] = {
    "desktop": Device.DESKTOP,
    "computer": Device.DESKTOP,
    "mobile": Device.MOBILE,
    "phone": Device.MOBILE,
    "smartphone": Device.MOBILE,
    "tablet": Device.TABLET,
    "smart tv": Device.OTHER,
    "tv": Device.OTHER,
    "console": Device.OTHER,
    "wearable": Device.OTHER,
    # Segment's mobile libraries send the OS, which runs on phones and tablets alike.
    "ios": None,
    "android": None,
}
"""Device field values we understand; None means "phone or tablet: ask the user agent"."""

USER_AGENT_DEVICES: tuple[tuple[re.Pattern[str], Device], ...] = (
    # TVs and consoles first: their user agents also say Linux or Android.
    (
        re.compile(r"SmartTV|SMART-TV|Tizen|Web0S|AppleTV|CrKey|PlayStation|Xbox|Nintendo|BRAVIA"),
        Device.OTHER,
    ),
    (re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|\bSM-[TP]\d"), Device.TABLET),
    # Android tablets are Android browsers that do not say "Mobile".
    (re.compile(r"Android(?!.*Mobile)"), Device.TABLET),
    (re.compile(r"Mobi|iPhone|iPod|Android|BlackBerry|Windows Phone|Opera Mini"), Device.MOBILE),
    (re.compile(r"Windows NT|Macintosh|X11|CrOS|Linux"), Device.DESKTOP),
)
"""Ordered (pattern, device) pairs; the first pattern found in the user agent wins.
Known miss: iPadOS Safari sends a Macintosh user agent and reads as desktop."""

BOT_MARKERS: tuple[str, ...] = (
    # "bot" as a word or a product name ("Googlebot/2.1", "bingbot/2.0", "GPTBot"),
    # but not inside the phone brand CUBOT.
    r"(?<!cu)bot\b",
    r"bot[-_/;]",
    r"crawl",
    r"spider",
    r"slurp",
    r"scrape",
    r"headless",
    r"lighthouse",
    r"pingdom",
    r"uptimerobot",
    r"facebookexternalhit",
    r"mediapartners-google",
    r"google-inspectiontool",
    r"phantomjs",
    r"selenium",
    r"puppeteer",
    r"playwright",
    r"^curl/",
    r"^wget/",
    r"^python-requests/",
    r"^python-urllib/",
    r"^aiohttp/",
    r"^go-http-client/",
    r"^java/",
    r"^libwww-perl/",
    r"^apache-httpclient/",
)
"""Case-insensitive patterns of crawlers, monitors and scripted clients."""

_BOT_PATTERN = re.compile("|".join(BOT_MARKERS), re.IGNORECASE)
_LONGEST_USER_AGENT = 1024


def detect_device(device_hint: Any = None, user_agent: Any = None) -> Device:
    """The device class of an event.

    An explicit device field wins when it is one we understand; "ios" and "android"
    defer to the user agent and are a phone unless it says tablet. Otherwise the user
    agent decides, and without one the device is OTHER. Never raises.
    """
    hint = device_hint.strip().lower() if isinstance(device_hint, str) else None
    if hint in DEVICE_HINTS and DEVICE_HINTS[hint] is not None:
        return DEVICE_HINTS[hint]
    from_user_agent = (
        _device_of(user_agent[:_LONGEST_USER_AGENT])
        if isinstance(user_agent, str)
        else Device.OTHER
    )
    if hint in DEVICE_HINTS and from_user_agent is not Device.TABLET:
        return Device.MOBILE
    return from_user_agent


def is_bot(user_agent: Any) -> bool:
    """Whether a user agent is a crawler, monitor or script. No user agent is not a bot:
    server-side events often carry none."""
    return isinstance(user_agent, str) and _is_bot_user_agent(user_agent[:_LONGEST_USER_AGENT])


@lru_cache(maxsize=4096)
def _device_of(user_agent: str) -> Device:
    for pattern, device in USER_AGENT_DEVICES:
        if pattern.search(user_agent):
            return device
    return Device.OTHER


@lru_cache(maxsize=4096)
def _is_bot_user_agent(user_agent: str) -> bool:
    return _BOT_PATTERN.search(user_agent) is not None
