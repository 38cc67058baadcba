"""docs/KPIS.md and docs/runbooks.md keep up with the code: every alert rule has its runbook
section, every metric behind the economics dashboard is named where its KPI is defined, and
every option of ``kpiwatch import-spend`` is documented."""

import re
from pathlib import Path

from alerts.rules import load_rules
from grafana.boards import economics
from grafana.queries import panel_queries
from prometheus.kpis import recording_groups

REPO = Path(__file__).resolve().parents[3]
KPIS = (REPO / "docs" / "KPIS.md").read_text()
RUNBOOKS = (REPO / "docs" / "runbooks.md").read_text()


def test_every_alert_rule_has_a_runbook_section():
    for rule in load_rules().rules:
        page, _, anchor = rule.runbook_url.rpartition("#")
        assert page.endswith("docs/runbooks.md"), rule.name
        assert f"\n## {anchor}\n" in RUNBOOKS, f"{rule.name}: no section ## {anchor}"


def metrics_behind(exprs: list[str]) -> set[str]:
    """The exported metrics that ``exprs`` read, through the recorded series they name."""
    recorded = {rule["record"]: rule["expr"] for group in recording_groups()
                for rule in group["rules"]}
    found: set[str] = set()
    for expr in exprs:
        for name in re.findall(r"[\w:]+", expr):
            if name in recorded:
                found |= set(re.findall(r"\bkpiwatch_\w+", recorded[name]))
            elif name.startswith("kpiwatch_"):
                found.add(name)
    return found


def test_every_metric_behind_the_economics_dashboard_is_documented():
    exprs = [q.expr for q in panel_queries(economics.build())]
    metrics = metrics_behind(exprs)
    assert {"kpiwatch_ad_spend", "kpiwatch_cost_of_goods", "kpiwatch_lifetime_ad_spend"} <= metrics
    section = KPIS[KPIS.index("## 6. Acquisition and economics"):]
    missing = sorted(m for m in metrics if f"`{m}`" not in section)
    assert not missing, f"docs/KPIS.md section 6 does not name {missing}"


def test_every_import_spend_option_is_documented():
    from kpiwatch.import_spend import import_spend

    options = [opt for param in import_spend.params for opt in getattr(param, "opts", ())
               if opt.startswith("--")]
    assert options
    missing = [opt for opt in options if opt not in KPIS]
    assert not missing, f"docs/KPIS.md does not document kpiwatch import-spend {missing}"
