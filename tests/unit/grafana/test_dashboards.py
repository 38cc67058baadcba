"""Dashboards as code: committed JSON = generated, and the checks of Grafana's
dashboard-linter (datasource variable everywhere, unit and description on every panel,
$__rate_interval in rates, stable uids), plus every query parses (promtool)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alerts.rules import load_rules
from grafana.common import DATASOURCE
from grafana.main import DASHBOARDS_DIR, dashboards, generated_files
from grafana.queries import annotation_queries, panel_queries, substitute

REPO = Path(__file__).resolve().parents[3]
STABLE_UIDS = {"kpiwatch-overview", "kpiwatch-checkout", "kpiwatch-channels",
               "kpiwatch-retention", "kpiwatch-economics", "kpiwatch-journey",
               "kpiwatch-pipeline"}
MODELS = dashboards()
PANELS = [(uid, panel) for uid, model in MODELS.items() for panel in model["panels"]]
PANEL_IDS = [f"{uid}:{panel['title']}" for uid, panel in PANELS]
# Grafana unit ids used here (a typo would show raw numbers).
KNOWN_UNITS = {"short", "percentunit", "s", "d", "cps", "currencyEUR", "currencyUSD", "none"}


def test_committed_dashboards_are_generated():
    files = generated_files()
    assert {p.name for p in DASHBOARDS_DIR.glob("*.json")} == {p.name for p in files}
    for path, text in files.items():
        assert path.read_text() == text, f"{path.name} drifted: run python -m grafana"


def test_the_check_flag_reports_no_drift():
    result = subprocess.run([sys.executable, "-m", "grafana", "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_uids_are_stable_and_name_the_files():
    assert set(MODELS) == STABLE_UIDS
    for uid in MODELS:
        assert json.loads((DASHBOARDS_DIR / f"{uid}.json").read_text())["uid"] == uid


def test_every_alert_rule_links_to_a_dashboard_that_exists():
    for rule in load_rules().rules:
        assert rule.dashboard in MODELS, f"rule {rule.name}: no dashboard {rule.dashboard}"


def test_the_provisioned_datasource_uid_is_the_variables_default():
    provisioned = yaml.safe_load((REPO / "grafana/provisioning/datasources/prometheus.yml")
                                 .read_text())["datasources"][0]["uid"]
    for model in MODELS.values():
        variable = model["templating"]["list"][0]
        assert variable["current"]["value"] == provisioned


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_template_variables_use_the_datasource_variable(uid):
    variables = {v["name"]: v for v in MODELS[uid]["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"channel", "device", "window"} <= set(variables)
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]
            assert variable["refresh"] == 2, f"{variable['name']}: refresh on time range change"


@pytest.mark.parametrize(("uid", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_lint(uid, panel):
    assert panel["title"] and panel["description"].strip()
    assert panel["datasource"] == DATASOURCE
    unit = panel["fieldConfig"]["defaults"].get("unit")
    assert unit in KNOWN_UNITS, f"unit {unit!r}"
    assert panel["targets"]
    for target in panel["targets"]:
        assert target["datasource"] == DATASOURCE
        expr = target["expr"]
        for function, interval in re.findall(r"\b(rate|irate|increase)\(.*?\[([^\]]+)\]", expr):
            assert interval == "$__rate_interval", f"{function}[{interval}] in {expr}"
        for counter in re.findall(r"\w+_total\b", expr):
            assert re.search(rf"\b(rate|irate|increase)\({counter}\b", expr), (
                f"counter {counter} used without rate()/increase(): {expr}")


def test_the_journey_board_reads_the_journey_gauges_of_the_catalog():
    """Every journey KPI gauge of metrics/catalog.py is on the board, queried raw and summed
    over partitions, and every goal gauge."""
    from metrics.catalog import (
        ACTIVATION_TIME,
        GOAL_EXPECTED,
        GOAL_STATUS,
        GOAL_TARGET,
        GOAL_VALUE,
        KPI_GAUGES,
        LIFETIME_GAUGES,
    )

    model = MODELS["kpiwatch-journey"]
    exprs = " ".join(t["expr"] for p in model["panels"] for t in p.get("targets", ()))
    first = next(i for i, g in enumerate(KPI_GAUGES) if g.name == "kpiwatch_activations")
    journey = [g.name for g in KPI_GAUGES[first:]]
    journey += [f"{ACTIVATION_TIME}_bucket", "kpiwatch_retention_cohort_users"]
    assert "kpiwatch_retention_cohort_users" in {g.name for g in LIFETIME_GAUGES}
    for name in journey:
        assert re.search(rf"max without \(instance\) \({name}\{{", exprs), name
    for spec in (GOAL_VALUE, GOAL_EXPECTED, GOAL_TARGET, GOAL_STATUS):
        assert "max by (goal" in exprs and f"({spec.name})" in exprs, spec.name


@pytest.mark.parametrize("uid", sorted(MODELS))
def test_panels_do_not_overlap(uid):
    taken = set()
    for panel in MODELS[uid]["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                 for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & taken, panel["title"]
        taken |= cells
    ids = [p["id"] for p in MODELS[uid]["panels"]]
    assert len(ids) == len(set(ids))
    titles = [p["title"] for p in MODELS[uid]["panels"]]
    assert len(titles) == len(set(titles)), "a failing query is named by its panel's title"


def test_benchmark_lines_come_from_the_alert_rules():
    rules = {rule.name: rule for rule in load_rules().rules}
    lines = {}
    for _, panel in PANELS:
        match = re.search(r"alert rule `(\w+)`", panel["description"])
        if match:
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            lines[match.group(1)] = steps[1]["value"]
    assert lines, "no panel draws a benchmark"
    for name, value in lines.items():
        assert rules[name].benchmark.value == value, name
    assert {"conversion_rate_low", "checkout_time_p95_high", "payment_failure_rate_high",
            "bounce_rate_high", "cart_abandonment_rate_high", "roas_low"} <= set(lines)


def test_trailing_benchmark_series_are_the_alert_rules_own():
    """The CAC panel draws what cac_high pages above, on the rule's window size."""
    panel = next(p for p in MODELS["kpiwatch-economics"]["panels"]
                 if p["title"] == "CAC and CPA by channel")
    benchmarks = {t["legendFormat"]: t["expr"] for t in panel["targets"]
                  if "benchmark" in t["legendFormat"]}
    cac_rules = [rule for rule in load_rules().rules
                 if rule.kpi == "cac" and rule.benchmark.type == "trailing"]
    assert cac_rules and len(benchmarks) == len(cac_rules)
    for rule in cac_rules:
        expr = next(e for legend, e in benchmarks.items() if f"({rule.name}," in legend)
        assert f"{round(1 + rule.benchmark.change, 6):g} * avg_over_time(" in expr
        assert f'window="{rule.window}"' in expr and 'channel=~"$channel"' in expr


def promtool_parses(queries: list, path: Path) -> str:
    """promtool's complaint, or "" (it has no "parse" command: a recording rule per query)."""
    rules = [{"record": f"dashboard_query_{i}", "expr": substitute(q.expr)}
             for i, q in enumerate(queries)]
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    result = subprocess.run(["promtool", "check", "rules", str(path)],
                            capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_every_query_parses(tmp_path):
    queries = [q for model in MODELS.values()
               for q in (*panel_queries(model), *annotation_queries(model))]
    if promtool_parses(queries, tmp_path / "all.yml"):
        failing = [f"{q.where()}: {why}" for q in queries
                   if (why := promtool_parses([q], tmp_path / "one.yml"))]
        pytest.fail("\n".join(failing))
