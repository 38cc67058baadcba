"""Alertmanager's routes from the rules' quiet hours."""

from alerts.rules import RuleSet
from prometheus.alertmanager_config import alertmanager_config


def rules(severity: str, quiet: dict | None) -> RuleSet:
    rule = {"name": "bounce", "kpi": "bounce_rate", "condition": "above",
            "benchmark": {"type": "static", "value": 0.6}, "severity": severity}
    if quiet:
        rule["quiet_hours"] = quiet
    return RuleSet.model_validate({"rules": [rule]})


def test_a_rule_below_the_quiet_hours_severity_is_muted_at_night_across_midnight():
    config = alertmanager_config(rules("info", {"start": "22:00", "end": "07:00",
                                                "min_severity": "warning"}), "Europe/Berlin")
    assert config["route"]["routes"] == [{"matchers": ['alertname="bounce"'], "receiver": "slack",
                                          "mute_time_intervals": ["bounce-quiet-hours"]}]
    interval = config["time_intervals"][0]["time_intervals"][0]
    assert interval["times"] == [{"start_time": "22:00", "end_time": "24:00"},
                                 {"start_time": "00:00", "end_time": "07:00"}]
    assert interval["location"] == "Europe/Berlin"


def test_a_rule_at_or_above_the_severity_is_never_muted():
    config = alertmanager_config(rules("critical", {"start": "22:00", "end": "07:00",
                                                    "min_severity": "warning"}))
    assert config["route"]["routes"] == [] and "time_intervals" not in config


def test_a_daytime_quiet_range_stays_one_range():
    config = alertmanager_config(rules("info", {"start": "12:00", "end": "13:00"}))
    times = config["time_intervals"][0]["time_intervals"][0]["times"]
    assert times == [{"start_time": "12:00", "end_time": "13:00"}]
