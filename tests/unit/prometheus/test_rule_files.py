"""The generated Prometheus rule files: committed = generated, and promtool accepts them."""

import subprocess
import sys
from pathlib import Path

import pytest

from prometheus.__main__ import RULES_DIR, generated_files

REPO = Path(__file__).resolve().parents[3]
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))


@pytest.mark.parametrize("path", sorted(generated_files()), ids=lambda p: p.name)
def test_committed_rule_files_are_generated_from_their_source(path):
    assert path.exists(), f"{path} missing: run python -m prometheus"
    assert path.read_text() == generated_files()[path], (
        f"{path.relative_to(REPO)} drifted from its source: run python -m prometheus")


def test_the_check_flag_reports_no_drift():
    result = subprocess.run([sys.executable, "-m", "prometheus", "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_rule_file_is_generated():
    assert set(RULE_FILES) == {p for p in generated_files() if p.parent == RULES_DIR}


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path):
    result = subprocess.run(["promtool", "check", "rules", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
