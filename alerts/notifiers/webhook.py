"""Generic webhook: the notification as JSON, for teams that route alerts somewhere else.

The document is the Notification's own fields (alerts/notification.py) plus ``text``, the
same one-line summary Slack shows, and ``version`` so receivers can tell future changes apart.
"""

from __future__ import annotations

from dataclasses import asdict

from alerts.notification import Notification
from alerts.notifiers.base import HttpNotifier
from alerts.notifiers.slack import fallback_text

WEBHOOK_VERSION = "1"


class WebhookNotifier(HttpNotifier):
    def render(self, notification: Notification) -> dict:
        return render(notification)


def render(notification: Notification) -> dict:
    return {"version": WEBHOOK_VERSION, "text": fallback_text(notification),
            "notification": asdict(notification)}
