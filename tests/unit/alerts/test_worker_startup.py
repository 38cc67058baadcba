"""A bad rules or goals file stops the worker before it joins the group, naming the rule or
goal and the field."""

import subprocess
import sys


def start_worker(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpiwatch", "worker"],
                          env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=60)


def test_worker_refuses_to_start_with_a_bad_rules_file(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: conversion_low\n    kpi: conversion_rate\n"
                     "    condition: sideways\n    benchmark: {type: static, value: 0.03}\n")
    result = start_worker({"KPIWATCH_RULES_FILE": str(rules)})
    assert result.returncode == 1
    assert "rule 'conversion_low', field condition" in result.stderr


def test_worker_refuses_to_start_when_a_goal_alerts_an_unknown_target(tmp_path):
    goals = tmp_path / "goals.yaml"
    goals.write_text("goals:\n  - {name: orders_today, kpi: orders, target: 100, period: day,"
                     " alert: {targets: [sales]}}\n")
    result = start_worker({"KPIWATCH_GOALS_FILE": str(goals)})
    assert result.returncode == 1
    assert "goal 'orders_today': alert.targets: 'sales' is not a target" in result.stderr
