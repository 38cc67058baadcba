"""The fault suite's scripts (benchmarks/fault_suite.py, benchmarks/bench_state_at_scale.py):
``--help`` works and their arguments parse as documented. No services."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_state_at_scale as state  # noqa: E402
import fault_suite as suite  # noqa: E402


@pytest.mark.parametrize("script", ["benchmarks/fault_suite.py", "benchmarks/bench_state_at_scale.py"])
def test_help_works(script):
    result = subprocess.run([sys.executable, script, "--help"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_the_suite_runs_every_case_at_long_sizes_by_default():
    args = suite.parse_args([])
    assert args.cases == [1, 2, 3, 4, 5, 6]
    assert not args.quick and args.state_scale == suite.LONG_STATE_SCALE


def test_cases_are_selected_and_checked():
    assert suite.parse_args(["--cases", "5,1,2"]).cases == [1, 2, 5]
    for bad in ("7", "1,x", ""):
        with pytest.raises(SystemExit):
            suite.parse_args(["--cases", bad])


def test_quick_uses_the_ci_sizes(monkeypatch, tmp_path):
    monkeypatch.delenv("KPIWATCH_FAULT_EVENTS", raising=False)
    args = suite.parse_args(["--quick", "--cases", "1"])
    assert args.state_scale == suite.QUICK_STATE_SCALE
    env = suite.case_env(suite.CASES[1], quick=True, figures=tmp_path / "f.jsonl")
    assert "KPIWATCH_FAULT_EVENTS" not in env
    assert env[suite.FIGURES_ENV] == str(tmp_path / "f.jsonl")


def test_long_sizes_yield_to_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KPIWATCH_FAULT_EVENTS", raising=False)
    assert suite.case_env(suite.CASES[1], False, tmp_path)["KPIWATCH_FAULT_EVENTS"] == "100000"
    monkeypatch.setenv("KPIWATCH_FAULT_EVENTS", "30000")
    assert suite.case_env(suite.CASES[1], False, tmp_path)["KPIWATCH_FAULT_EVENTS"] == "30000"


def test_every_test_case_names_an_existing_test_file():
    for case in suite.CASES.values():
        for node in case.tests:
            assert (REPO / node.split("::")[0]).is_file(), node
    assert (REPO / suite.STATE_SCRIPT).is_file()


def test_state_sizes_come_from_the_scale_or_are_given():
    args = state.parse_args([])
    assert (args.users, args.sessions) == (50_000, 150_000)
    full = state.parse_args(["--scale", "1"])
    assert (full.users, full.sessions) == (state.FULL_USERS, state.FULL_SESSIONS) == (
        1_000_000, 3_000_000)
    given = state.parse_args(["--users", "10", "--sessions", "30"])
    assert (given.users, given.sessions) == (10, 30)
    for bad in (["--scale", "0"], ["--users", "40", "--sessions", "30"], ["--partitions", "0"]):
        with pytest.raises(SystemExit):
            state.parse_args(bad)


def test_the_expiry_steps_pass_every_documented_horizon_in_order():
    steps = state.horizons(state.KpiSettings())
    assert [s.after for s in steps] == sorted(s.after for s in steps)
    gone = set(steps[-1].gone)
    assert gone == {"session", "order", "cart", "user", "link", "1m", "5m", "15m", "1h", "1d"}
    assert "customer" not in gone and "all" not in gone  # kept since tracking began


def test_the_shop_profile_aims_at_the_users_asked_for():
    profile = state.shop_profile(users=1_000_000, sessions=3_000_000)
    assert 0.6 < profile.returning_share < 0.8
    assert profile.largest_visitor_pool >= 1_000_000


@pytest.mark.parametrize("record", [
    {"case": 1, "down_s": 30, "unavailable_s": 36, "healthy_s": 6, "first_commit_s": 9,
     "first_count_s": 8},
    {"case": 2, "samples": 90, "overlaps": 4},
    {"case": 3, "sent": ["firing paid_search", "resolved paid_search"], "duplicates": 0},
    {"case": 4, "pills": 100, "dead_letters": 88, "reasons": 6},
    {"case": 6, "places": 12, "files": 40, "leaks": 0},
    {"case": 9},
])
def test_a_record_without_the_verdicts_figures_is_still_described(record):
    """A test that fails its judgement keeps the record it wrote before it."""
    assert suite.describe(record)
