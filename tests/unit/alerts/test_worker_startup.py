"""A bad rules file stops the worker before it joins the group, naming the rule and field."""

import subprocess
import sys


def test_worker_refuses_to_start_with_a_bad_rules_file(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: conversion_low\n    kpi: conversion_rate\n"
                     "    condition: sideways\n    benchmark: {type: static, value: 0.03}\n")
    result = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "worker"],
        env={"KPIWATCH_RULES_FILE": str(rules), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "rule 'conversion_low', field condition" in result.stderr
