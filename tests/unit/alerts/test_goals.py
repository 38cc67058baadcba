"""SMART goals (alerts/goals.py): spans, the straight path, statuses, and the file's errors."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from alerts.goals import Goal, GoalsError, check_targets, judge, load_goals, progress_of
from alerts.rules import RuleSet

MONTH_START = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000


def goal(**fields) -> Goal:
    return Goal(**{"name": "g", "kpi": "revenue", "target": 3100, "period": "month", **fields})


@pytest.mark.parametrize("period, today, span", [
    ("day", date(2026, 12, 3), (date(2026, 12, 3), date(2026, 12, 3))),
    ("week", date(2026, 12, 3), (date(2026, 11, 30), date(2026, 12, 6))),
    ("month", date(2026, 12, 3), (date(2026, 12, 1), date(2026, 12, 31))),
    ("quarter", date(2026, 11, 3), (date(2026, 10, 1), date(2026, 12, 31))),
    ("quarter", date(2027, 2, 28), (date(2027, 1, 1), date(2027, 3, 31))),
])
def test_a_period_is_the_one_containing_today(period, today, span):
    assert goal(period=period).span(today) == span


def revenue(amount: str) -> Counter:
    return Counter({"revenue|email|card": Decimal(amount), "orders|email|card": 3})


@pytest.mark.parametrize("amount, days, status", [
    ("1000", 10, "on_track"),   # the path is at 1,000 after 10 of 31 days
    ("950", 10, "at_risk"),
    ("3100", 10, "achieved"),  # a count only grows
    ("3000", 31, "missed"),
])
def test_a_count_goal_follows_a_straight_path(amount, days, status):
    progress = judge(goal(), date(2026, 12, 1), date(2026, 12, 31), revenue(amount),
                     MONTH_START + days * DAY, UTC)
    assert progress.status == status
    assert progress.expected == pytest.approx(3100 * min(days, 31) / 31)


def test_tolerance_and_budgets():
    behind = judge(goal(tolerance=0.1), date(2026, 12, 1), date(2026, 12, 31), revenue("950"),
                   MONTH_START + 10 * DAY, UTC)
    assert behind.status == "on_track"
    budget = goal(kpi="revenue", direction="at_most")
    over = judge(budget, date(2026, 12, 1), date(2026, 12, 31), revenue("3200"),
                 MONTH_START + 10 * DAY, UTC)
    assert over.status == "missed"


def test_a_level_goal_is_judged_against_the_target():
    aov = goal(kpi="average_order_value", target=300)
    got = judge(aov, date(2026, 12, 1), date(2026, 12, 31), revenue("960"),
                MONTH_START + 5 * DAY, UTC)
    assert (got.value, got.expected, got.status) == (320.0, 300, "on_track")
    none = judge(goal(kpi="roas", target=2), date(2026, 12, 1), date(2026, 12, 31), revenue("9"),
                 MONTH_START + DAY, UTC)
    assert none.status == "no_data"  # no spend: no ROAS


def windows(size: str, start: int, count: int, missing_at: int | None = None) -> list[tuple]:
    length = DAY if size == "1d" else 3_600_000
    return [(start + k * length, start + (k + 1) * length, k == missing_at, revenue("10"))
            for k in range(count)]


def test_progress_sums_whole_days_then_the_hours_since_and_stops_at_a_gap():
    now = MONTH_START + 2 * DAY + 5 * 3_600_000

    async def fetch(size, from_ms, to_ms):
        if size == "1d":
            return windows("1d", MONTH_START, 2)
        assert from_ms == MONTH_START + 2 * DAY
        return windows("1h", from_ms, 5, missing_at=3)  # hour 3 not settled everywhere

    progress = asyncio.run(progress_of(goal(), now, fetch, UTC))
    assert progress.value == 50.0  # 2 days and 3 hours of 10 each
    assert progress.covered_until == "2026-12-03T03:00:00+00:00"


def test_a_wrong_goal_names_the_goal_and_the_field(tmp_path):
    path = tmp_path / "goals.yaml"
    path.write_text("goals:\n  - name: q4\n    kpi: happiness\n    target: 1\n    period: month\n"
                    "  - name: q5\n    kpi: revenue\n    target: 1\n")
    with pytest.raises(GoalsError) as error:
        load_goals(path)
    text = str(error.value)
    assert "goal 'q4'" in text and "happiness" in text
    assert "goal 'q5'" in text and "period" in text


def test_the_shipped_goals_file_is_valid():
    assert load_goals().goals == []
    assert Goal(name="x", kpi="orders", target=1, start=date(2026, 12, 1),
                deadline=date(2026, 12, 1) + timedelta(days=1)).span(date(2030, 1, 1))[0] \
        == date(2026, 12, 1)


def test_a_journey_goal_is_the_whole_shops():
    nps_goal = goal(kpi="nps", target=40)
    values = Counter({"nps_responses|post_purchase": 10, "nps_promoters|post_purchase": 6,
                      "nps_detractors|post_purchase": 1})
    got = judge(nps_goal, date(2026, 12, 1), date(2026, 12, 31), values,
                MONTH_START + 5 * DAY, UTC)
    assert (got.value, got.status) == (50.0, "on_track")
    with pytest.raises(ValueError, match="whole shop"):
        goal(kpi="activations", channel="email")


def test_goal_alerts_and_the_digest_go_to_targets_the_rules_file_defines(tmp_path):
    ruleset = RuleSet.model_validate({
        "targets": {"default": {"type": "console"},
                    "am": {"type": "alertmanager", "url": "http://127.0.0.1:9093"}},
        "rules": []})
    path = tmp_path / "goals.yaml"
    path.write_text("goals:\n  - {name: g, kpi: orders, target: 9, period: day,"
                    " alert: {targets: [pager]}}\n")
    with pytest.raises(GoalsError, match="goal 'g': alert.targets: 'pager' is not a target"):
        check_targets(load_goals(path), ruleset, path)
    path.write_text("digest: {targets: [am]}\ngoals: []\n")
    with pytest.raises(GoalsError, match="digest.targets: 'am' is an Alertmanager"):
        check_targets(load_goals(path), ruleset, path)
    path.write_text("digest: {at: '08:30'}\ngoals:\n  - {name: g, kpi: orders, target: 9,"
                    " period: day, alert: {min_volume: {sessions: 10}}}\n")
    goals = load_goals(path)
    check_targets(goals, ruleset, path)
    assert goals.digest.at.hour == 8 and goals.goals[0].alert.severity == "warning"
