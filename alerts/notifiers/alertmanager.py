"""Alertmanager: POST /api/v2/alerts, for teams that route and silence alerts there.

One incident is one Alertmanager alert: its labels (alertname = the rule, severity,
dimension and each dimension key) identify it, so a reminder refreshes the same alert and the
resolved notification ends it (``endsAt``). Alertmanager resolves an alert by itself once
``endsAt`` passes; a firing alert is sent with ``endsAt`` four windows (at least an hour)
ahead, so a rule with reminders (``renotify_every``) keeps it firing for as long as it lasts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.notification import Notification
from alerts.notifiers.base import HttpNotifier
from alerts.notifiers.slack import fallback_text, fmt

API_PATH = "/api/v2/alerts"
WINDOW_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}


class AlertmanagerNotifier(HttpNotifier):
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith(API_PATH) else base + API_PATH

    def render(self, notification: Notification) -> list[dict]:
        return render(notification)


def render(n: Notification, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(UTC)
    starts = incident_start(n) or parse_time(n.window_start) or now
    if n.kind == "resolved":
        ends = max(parse_time(n.created_at) or now, starts)
    else:
        ends = (parse_time(n.created_at) or now) + timedelta(
            seconds=max(4 * WINDOW_SECONDS.get(n.window_size, 900), 3600))
    labels = {"alertname": n.rule, "severity": n.severity, "kpi": n.kpi,
              "dimension": ",".join(f"{k}={v}" for k, v in sorted(n.dimension.items())) or "all",
              **{key: value for key, value in n.dimension.items() if key not in ("alertname",)}}
    annotations = {"summary": n.summary or fallback_text(n), "description": fallback_text(n),
                   "value": fmt(n.kpi, n.value), "benchmark": fmt(n.kpi, n.benchmark)}
    if n.runbook_url:
        annotations["runbook_url"] = n.runbook_url
    if n.dashboard_url:
        annotations["dashboard"] = n.dashboard_url
    alert = {"labels": labels, "annotations": annotations,
             "startsAt": iso(starts), "endsAt": iso(ends)}
    if n.dashboard_url:
        alert["generatorURL"] = n.dashboard_url
    return [alert]


def incident_start(n: Notification) -> datetime | None:
    """The incident id ends with its first firing window's start in epoch milliseconds."""
    tail = n.incident_id.rsplit("|", 1)[-1]
    return datetime.fromtimestamp(int(tail) / 1000, UTC) if tail.isdigit() else None


def parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
