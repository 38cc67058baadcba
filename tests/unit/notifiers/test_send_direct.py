"""send_direct: the fail-open path when Redis is down (no outbox, a few prompt tries)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from alerts.notifiers import NotificationMetrics, send_direct
from alerts.rules import RuleSet, Target
from tests.fakes.notifications import make_notification
from tests.fakes.slack_server import Fault


def ruleset(url: str) -> RuleSet:
    return RuleSet(rules=[], targets={"slack": Target(type="slack", url=url),
                                      "local": Target(type="console")})


async def test_retries_a_500_then_delivers(slack_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("KPIWATCH_RUN_DIR", str(tmp_path))
    slack = slack_factory()
    slack.script(Fault(500))
    registry = CollectorRegistry()
    results = await send_direct(make_notification(summary="direct"), ["slack", "local"],
                                ruleset(slack.url()), metrics=NotificationMetrics(registry))
    assert {name: a.outcome for name, a in results.items()} == {"slack": "delivered",
                                                                 "local": "delivered"}
    assert [m.payload["blocks"][1]["text"]["text"] for m in slack.messages] == ["direct"]
    assert registry.get_sample_value("kpiwatch_notifications_total", {
        "target": "slack", "kind": "firing", "outcome": "retried"}) == 1
    assert "direct" in (tmp_path / "notifications.log").read_text()


async def test_gives_up_within_its_budget_and_counts_it(slack_factory):
    slack = slack_factory()
    slack.go_down(60)
    registry = CollectorRegistry()
    results = await send_direct(make_notification(), ["slack"], ruleset(slack.url()),
                                attempts=2, budget=2, metrics=NotificationMetrics(registry))
    assert results["slack"].outcome == "retry"
    assert registry.get_sample_value("kpiwatch_notifications_total", {
        "target": "slack", "kind": "firing", "outcome": "dropped"}) == 1


async def test_a_rejection_is_not_retried(slack_factory):
    slack = slack_factory()
    slack.script(Fault(400, answer="invalid_blocks"))
    results = await send_direct(make_notification(), ["slack"], ruleset(slack.url()))
    assert (results["slack"].outcome, results["slack"].error) == ("rejected", "invalid_blocks")
    assert len(slack.requests) == 1
