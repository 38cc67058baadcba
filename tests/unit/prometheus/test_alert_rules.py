"""``promtool test rules`` on the generated alerts, with cases derived from alerts/rules.yaml."""

import pytest
import yaml

from alerts.rules import load_rules
from prometheus.alert_rules import alert_rule
from tests.unit.prometheus.alert_scenarios import Scenario
from tests.unit.prometheus.promtool import promtool_test

RULES = load_rules().rules


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_promtool_unit_tests_of_the_generated_alert(rule, tmp_path):
    # Only the rule under test, as generated (the committed file equals it, test_rule_files):
    # the week-ago cases step through a week of minutes, and every other rule would be
    # evaluated at each step too.
    rules = tmp_path / "rule.yml"
    rules.write_text(yaml.safe_dump(
        {"groups": [{"name": "under-test", "rules": [alert_rule(rule)]}]}, sort_keys=False))
    promtool_test(tmp_path, [rules], Scenario(rule).cases(), f"{rule.name}_test.yml")


def test_a_one_window_dip_case_exists_for_every_multi_window_rule():
    for rule in RULES:
        names = [case["name"] for case in Scenario(rule).cases()]
        assert any("dip" in n for n in names) == (rule.for_windows >= 2), rule.name
