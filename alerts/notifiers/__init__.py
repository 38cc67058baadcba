"""Notifiers: one module per kind of target (slack, webhook, alertmanager, console).

``notifier_for`` builds the notifier a target of the rules file asks for; a target whose URL
is not configured (no ``KPIWATCH_SLACK_WEBHOOK_URL``, say) falls back to the console notifier,
which prints and logs locally, so nothing is silently dropped. Normal delivery goes through
the Redis outbox (alerts/outbox.py); ``send_direct`` is the fail-open path for when Redis is
down: a few prompt attempts, no outbox, nothing kept if they all fail (counted ``dropped``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

import httpx

from alerts.notification import Notification
from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.base import Attempt, Notifier, classify
from alerts.notifiers.console import ConsoleNotifier, default_log_path
from alerts.notifiers.metrics import NotificationMetrics
from alerts.notifiers.slack import SlackNotifier
from alerts.notifiers.webhook import WebhookNotifier
from alerts.rules import RuleSet, Target

__all__ = ["Attempt", "Notifier", "NotificationMetrics", "classify", "describe_targets",
           "notifier_for", "send_direct"]

log = logging.getLogger(__name__)

HTTP_NOTIFIERS = {"slack": SlackNotifier, "webhook": WebhookNotifier,
                  "alertmanager": AlertmanagerNotifier}


def notifier_for(name: str, target: Target, *, client: httpx.AsyncClient | None = None,
                 log_path: Path | None = None) -> Notifier:
    url = target.resolved_url()
    if target.type == "console" or not url:
        return ConsoleNotifier(name, log_path, stands_in_for=target.type)
    return HTTP_NOTIFIERS[target.type](name, url, client)


def describe_targets(ruleset: RuleSet, log_path: Path | None = None) -> list[str]:
    """One line per target saying where its notifications go (for the demo and the logs)."""
    lines = []
    for name, target in ruleset.targets.items():
        url = target.resolved_url()
        if target.type != "console" and url:
            lines.append(f"{name}: {target.type} {redact(url)}")
        else:
            unset = f" ({target.url_env} is not set)" if target.url_env else ""
            lines.append(f"{name}: {target.type}{unset} -> printed and appended to "
                         f"{log_path or default_log_path()}")
    return lines


def redact(url: str) -> str:
    """Webhook URLs are secrets (anyone holding one can post): show the host only."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/..." if rest else url


_last_post: dict[str, float] = {}  # target -> monotonic time, paces send_direct in-process


async def send_direct(notification: Notification, targets: list[str], ruleset: RuleSet, *,
                      attempts: int = 3, budget: float = 10.0,
                      metrics: NotificationMetrics | None = None) -> dict[str, Attempt]:
    """Deliver now, without Redis, to each target: up to ``attempts`` tries within ``budget``
    seconds per target. Never raises; returns the last attempt per target."""
    results: dict[str, Attempt] = {}
    for name in targets:
        target = ruleset.targets.get(name)
        if target is None:
            log.error("send_direct: unknown target %r for %s", name, notification.id)
            continue
        notifier = notifier_for(name, target)
        try:
            results[name] = await _send_with_retries(notifier, notification, attempts, budget,
                                                     metrics)
        finally:
            await notifier.aclose()
    return results


async def _send_with_retries(notifier: Notifier, notification: Notification, attempts: int,
                             budget: float, metrics: NotificationMetrics | None) -> Attempt:
    deadline = time.monotonic() + budget
    attempt = Attempt("retry", error="not tried")
    for number in range(1, attempts + 1):
        wait = _last_post.get(notifier.target, 0.0) + notifier.min_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        attempt = await notifier.send(notification)
        _last_post[notifier.target] = time.monotonic()
        if attempt.outcome != "retry":
            break
        delay = attempt.retry_after if attempt.retry_after is not None else \
            min(8.0, 0.5 * 2 ** (number - 1)) * random.uniform(0.5, 1.0)
        if number == attempts or time.monotonic() + delay > deadline:
            break
        if metrics:
            metrics.count(notifier.target, notification.kind, "retried")
        await asyncio.sleep(delay)
    outcome = {"delivered": "delivered", "rejected": "rejected"}.get(attempt.outcome, "dropped")
    if metrics:
        metrics.count(notifier.target, notification.kind, outcome)
        if outcome == "delivered":
            metrics.observe_latency(notification, notifier.target)
    if outcome != "delivered":
        log.error("notification %s to %s not delivered (direct, Redis down): %s %s",
                  notification.id, notifier.target, attempt.status or "", attempt.error)
    return attempt
