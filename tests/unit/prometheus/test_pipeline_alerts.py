"""``promtool test rules`` on the pipeline's own alerts (prometheus/pipeline_alerts.py): each
fires when its part of kpiwatch stops, and not while it works."""

from prometheus.__main__ import RULES_DIR
from prometheus.pipeline_alerts import DASHBOARD, pipeline_groups
from tests.unit.prometheus.promtool import promtool_test

RULES = {rule["alert"]: rule for rule in pipeline_groups("http://localhost:3000")[0]["rules"]}
W1 = 'instance="w1:6066", job="kpiwatch"'


def expected(name: str, value: str = "", **labels: str) -> dict:
    """The alert as Prometheus renders it: labels, and annotations with $labels and $value."""
    rule = RULES[name]
    all_labels = {**rule["labels"], **labels}
    annotations = {}
    for key, text in rule["annotations"].items():
        text = text.replace("{{ $value | humanizeDuration }}", value).replace("{{ $value }}", value)
        for label, label_value in all_labels.items():
            text = text.replace(f"{{{{ $labels.{label} }}}}", label_value)
        annotations[key] = text
    return {"exp_labels": all_labels, "exp_annotations": annotations}


def check(tmp_path, inputs: list[dict], alert: str, checks: list[tuple[str, list[dict]]]) -> None:
    promtool_test(tmp_path, [RULES_DIR / "pipeline.yml"], [
        {"interval": "1m", "input_series": inputs,
         "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": alerts}
                             for at, alerts in checks]}])


def test_input_silent_fires_15_minutes_after_the_last_event_and_not_before(tmp_path):
    # Event time follows the clock for 10 minutes (one sample a minute), then stops.
    inputs = [{"series": f'kpiwatch_last_event_timestamp_seconds{{partition="0", {W1}}}',
               "values": "0+60x10 600x40"},
              {"series": f'kpiwatch_last_event_timestamp_seconds{{partition="1", {W1}}}',
               "values": "0+60x5 300x45"}]  # an older partition does not matter: the newest
    check(tmp_path, inputs, "KpiwatchInputSilent", [
        ("10m", []), ("28m", []),  # 18 min old, but not yet 5 min past 15 min
        ("31m", [expected("KpiwatchInputSilent", "21m 0s")]),
    ])


def test_settling_stalled_fires_when_a_partition_stops_settling(tmp_path):
    inputs = [{"series": f'kpiwatch_settled_through_timestamp_seconds{{partition="0", {W1}}}',
               "values": "0+60x60"},  # settles every minute
              {"series": f'kpiwatch_settled_through_timestamp_seconds{{partition="1", {W1}}}',
               "values": "0+60x10 600x50"}]  # stuck after 10 minutes
    check(tmp_path, inputs, "KpiwatchSettlingStalled", [
        ("30m", []), ("44m", []),
        ("46m", [expected("KpiwatchSettlingStalled", "36m 0s")]),
    ])


def test_worker_down_after_two_minutes_without_a_scrape(tmp_path):
    inputs = [{"series": f"up{{{W1}}}", "values": "1x10 0x10"},
              {"series": 'up{instance="w2:6066", job="kpiwatch"}', "values": "1x20"}]
    check(tmp_path, inputs, "KpiwatchWorkerDown", [
        ("10m", []), ("11m", []),
        ("13m", [expected("KpiwatchWorkerDown", instance="w1:6066", job="kpiwatch")]),
    ])


def test_notifications_stuck_after_ten_minutes_in_the_outbox(tmp_path):
    inputs = [{"series": f'kpiwatch_outbox_depth{{target="default", {W1}}}',
               "values": "0x5 3x20"},
              {"series": 'kpiwatch_outbox_depth{target="default", instance="w2:6066", '
                         'job="kpiwatch"}', "values": "0x25"}]
    check(tmp_path, inputs, "KpiwatchNotificationsStuck", [
        ("10m", []), ("14m", []),
        ("16m", [expected("KpiwatchNotificationsStuck", "3", target="default")]),
    ])


def test_every_pipeline_alert_has_a_runbook_section():
    runbooks = (RULES_DIR.parents[1] / "docs" / "runbooks.md").read_text()
    for rule in RULES.values():
        anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert f"\n## {anchor}\n" in runbooks, anchor
        assert rule["labels"]["dashboard"] == DASHBOARD
