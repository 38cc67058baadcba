"""Alertmanager configuration (compose profile ``alerting``) generated from
``alerts/rules.yaml``: a Slack receiver, and the rules' quiet hours as mute time intervals
(notifications of a rule below ``quiet_hours.min_severity`` wait for the morning).

The Slack webhook URL is a secret read from a file (the compose secret ``slack_webhook_url``,
from ``SLACK_WEBHOOK_URL`` in ``.env``), never written here.
"""

from __future__ import annotations

from alerts.rules import SEVERITIES, Rule, RuleSet

SLACK_TITLE = ('{{ if eq .Status "firing" }}:rotating_light:{{ else }}:white_check_mark:{{ end }}'
               ' {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})')
SLACK_TEXT = """{{ range .Alerts }}{{ .Annotations.summary }}
{{ .Annotations.description }}
<{{ .Annotations.dashboard_url }}|Dashboard> · <{{ .Annotations.runbook_url }}|Runbook>
{{ end }}"""


def muted_at_night(rule: Rule) -> bool:
    quiet = rule.quiet_hours
    return quiet is not None and SEVERITIES.index(rule.severity) < SEVERITIES.index(
        quiet.min_severity)


def quiet_hours_interval(rule: Rule, timezone: str) -> dict:
    quiet = rule.quiet_hours
    start, end = quiet.start.strftime("%H:%M"), quiet.end.strftime("%H:%M")
    # Alertmanager ranges cannot wrap midnight: 22:00-07:00 is 22:00-24:00 and 00:00-07:00.
    times = ([{"start_time": start, "end_time": end}] if start < end else
             [{"start_time": start, "end_time": "24:00"}, {"start_time": "00:00", "end_time": end}])
    return {"name": f"{rule.name}-quiet-hours",
            "time_intervals": [{"times": times, "location": timezone}]}


def alertmanager_config(rules: RuleSet, timezone: str = "UTC") -> dict:
    quiet = [rule for rule in rules.rules if muted_at_night(rule)]
    config: dict = {
        "global": {"slack_api_url_file": "/run/secrets/slack_webhook_url",
                   "resolve_timeout": "5m"},
        "route": {
            "receiver": "slack",
            # One message per alert and dimension value (channel, payment method).
            "group_by": ["alertname", "channel", "payment_method"],
            "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h",
            "routes": [{"matchers": [f'alertname="{rule.name}"'], "receiver": "slack",
                        "mute_time_intervals": [f"{rule.name}-quiet-hours"]}
                       for rule in quiet],
        },
        "receivers": [{"name": "slack", "slack_configs": [{
            "channel": "#kpiwatch-alerts", "send_resolved": True,
            "title": SLACK_TITLE, "text": SLACK_TEXT}]}],
    }
    if quiet:
        config["time_intervals"] = [quiet_hours_interval(rule, timezone) for rule in quiet]
    return config
