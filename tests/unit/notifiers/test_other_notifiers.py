"""Webhook, Alertmanager and console renderings, and which notifier a target gets."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from alerts.notifiers import alertmanager, describe_targets, notifier_for, webhook
from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.console import ConsoleNotifier
from alerts.notifiers.slack import SlackNotifier
from alerts.rules import RuleSet, Target
from tests.fakes.notifications import make_notification


def test_webhook_document_is_the_notification_plus_text():
    notification = make_notification()
    document = webhook.render(notification)
    assert document["version"] == "1"
    assert document["notification"]["id"] == notification.id
    assert document["notification"]["contributors"][0]["label"] == "paid_search"
    assert document["text"].startswith("[WARNING]")


def test_alertmanager_alert_shape():
    now = datetime(2026, 11, 24, 10, 31, tzinfo=UTC)
    [alert] = alertmanager.render(make_notification(created_at=now.isoformat()), now)
    assert alert["labels"] == {"alertname": "channel_conversion_rate_drop", "severity": "warning",
                               "kpi": "conversion_rate", "dimension": "channel=paid_search",
                               "channel": "paid_search"}
    assert alert["annotations"]["summary"].startswith("Conversion on paid_search")
    assert alert["annotations"]["runbook_url"].startswith("https://")
    assert alert["annotations"]["dashboard"].startswith("http://127.0.0.1:3000/d/")
    assert alert["generatorURL"] == alert["annotations"]["dashboard"]
    assert alert["startsAt"] == "2026-11-24T10:00:00.000Z"  # the incident's first window
    assert alert["endsAt"] == "2026-11-24T11:31:00.000Z"  # four 15m windows, at least 1 h


def test_alertmanager_resolved_ends_the_alert():
    ended = datetime(2026, 11, 24, 11, 2, tzinfo=UTC)
    [alert] = alertmanager.render(make_notification(kind="resolved", created_at=ended.isoformat()))
    assert alert["endsAt"] == "2026-11-24T11:02:00.000Z"
    assert alert["startsAt"] == "2026-11-24T10:00:00.000Z"


def test_alertmanager_endpoint_is_the_v2_api():
    notifier = AlertmanagerNotifier("am", "http://127.0.0.1:9093/")
    assert notifier.endpoint() == "http://127.0.0.1:9093/api/v2/alerts"


def test_targets_without_url_fall_back_to_the_console(monkeypatch, tmp_path):
    monkeypatch.delenv("KPIWATCH_SLACK_WEBHOOK_URL", raising=False)
    target = Target(type="slack", url_env="KPIWATCH_SLACK_WEBHOOK_URL")
    notifier = notifier_for("default", target, log_path=tmp_path / "n.log")
    assert isinstance(notifier, ConsoleNotifier)
    monkeypatch.setenv("KPIWATCH_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/secret")
    assert isinstance(notifier_for("default", target), SlackNotifier)


def test_describe_targets_never_shows_the_secret(monkeypatch, tmp_path):
    ruleset = RuleSet(rules=[], targets={
        "default": Target(type="slack", url_env="KPIWATCH_SLACK_WEBHOOK_URL")})
    monkeypatch.delenv("KPIWATCH_SLACK_WEBHOOK_URL", raising=False)
    [line] = describe_targets(ruleset, tmp_path / "notifications.log")
    assert "KPIWATCH_SLACK_WEBHOOK_URL is not set" in line
    assert str(tmp_path / "notifications.log") in line
    monkeypatch.setenv("KPIWATCH_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/secret")
    [line] = describe_targets(ruleset)
    assert line == "default: slack https://hooks.slack.com/..."


async def test_console_prints_readably_and_appends_to_the_log(tmp_path):
    out = io.StringIO()
    notifier = ConsoleNotifier("default", tmp_path / "notifications.log", "slack", stream=out)
    assert (await notifier.send(make_notification())).outcome == "delivered"
    assert (await notifier.send(make_notification(kind="resolved"))).outcome == "delivered"
    logged = (tmp_path / "notifications.log").read_text()
    assert logged.strip() == out.getvalue().strip()
    assert "no URL configured for this slack target" in logged
    assert "Value: 1.14% (below benchmark 2.10%)" in logged
    assert "Contributing: paid_search -62% (1.14%), others normal" in logged
    assert "[RESOLVED]" in logged
