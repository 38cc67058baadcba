"""What every notifier shares: one delivery attempt and how its answer is classified.

A notifier only *tries once*; the outbox (alerts/outbox.py) decides when to try again. The
classification is the contract between them:

- ``delivered``: 2xx.
- ``retry``: 429 (wait ``Retry-After``), 408, 5xx, timeouts and connection errors (Slack or
  the network is having a bad minute; the message is fine).
- ``rejected``: any other 4xx. The message itself is wrong (Slack's ``invalid_blocks``, a
  revoked webhook's ``no_service``): sending it again cannot help, so it is never retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from alerts.notification import Notification

# httpx logs every request at INFO with its full URL, and a Slack incoming webhook's URL is
# its secret: a worker at --loglevel info would write it on every delivery. The notifiers log
# their own outcome (without the URL).
logging.getLogger("httpx").setLevel(logging.WARNING)

Outcome = Literal["delivered", "retry", "rejected"]

# Bounded so a hung endpoint cannot hold a target's delivery lock (alerts/outbox.py) for long.
REQUEST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
REQUEST_DEADLINE = 15.0  # the whole attempt, all phases together


@dataclass(frozen=True)
class Attempt:
    """The result of one POST."""

    outcome: Outcome
    status: int | None = None  # None: no HTTP answer (timeout, connection refused)
    error: str = ""  # the endpoint's error text (Slack: "invalid_blocks") or the exception
    retry_after: float | None = None  # seconds, from a 429's Retry-After


class Notifier(Protocol):
    target: str  # the target's name in the rules file
    min_interval: float  # seconds between two messages to this target (Slack: 1)

    async def send(self, notification: Notification) -> Attempt: ...

    async def aclose(self) -> None: ...


def classify(status: int, body: str = "", retry_after: str | None = None) -> Attempt:
    if 200 <= status < 300:
        return Attempt("delivered", status)
    error = body.strip()[:500]
    if status == 429:
        return Attempt("retry", status, error or "rate_limited", parse_retry_after(retry_after))
    if status == 408 or status >= 500:
        return Attempt("retry", status, error)
    return Attempt("rejected", status, error)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait: ``Retry-After`` is delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpNotifier:
    """POSTs one JSON document per notification; subclasses say what the document is."""

    min_interval = 0.0

    def __init__(self, target: str, url: str, client: httpx.AsyncClient | None = None):
        self.target = target
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=REQUEST_TIMEOUT)
        self._owns_client = client is None

    def render(self, notification: Notification) -> Any:
        raise NotImplementedError

    def endpoint(self) -> str:
        return self.url

    async def send(self, notification: Notification) -> Attempt:
        try:
            async with asyncio.timeout(REQUEST_DEADLINE):
                response = await self._client.post(self.endpoint(), json=self.render(notification))
        except (httpx.TransportError, TimeoutError) as error:
            return Attempt("retry", None, f"{type(error).__name__}: {error}".strip(": "))
        return classify(response.status_code, response.text, response.headers.get("Retry-After"))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
