"""The README's first command, driven non-interactively: it starts a worker and the simulator,
shows KPIs, and stops everything it started."""

import os
import subprocess
import sys

from rich.console import Console

from kpiwatch.demo import board
from tests.integration.services import REPO, TEST_STACK_ENV, free_port, unique_names


def test_demo_runs_shows_settled_kpis_and_cleans_up(local_stack):
    port = free_port()
    env = {**os.environ, **TEST_STACK_ENV, **unique_names(), "KPIWATCH_WEB_PORT": str(port),
           "KPIWATCH_ALLOWED_LATENESS": "PT5S"}
    result = subprocess.run(
        [sys.executable, "-m", "kpiwatch.demo", "--duration", "100", "--no-board",
         "--rate", "60"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"http://127.0.0.1:{port}/kpis" in result.stdout
    status_lines = [line for line in result.stdout.splitlines() if "sessions=" in line]
    assert any("sessions=None" not in line for line in status_lines), result.stdout[-2000:]
    # The session's stack was running before: the demo leaves it, and stops its own processes.
    assert all(local_stack.status().values())
    leftovers = subprocess.run(["pgrep", "-f", f"KPIWATCH_WEB_PORT={port}"],
                               capture_output=True, text=True)
    assert leftovers.stdout == ""


def test_board_fits_an_80x24_terminal():
    window = {"start": "2026-11-23T10:00:00Z", "end": "2026-11-23T10:05:00Z", "settled": True,
              "values": {"sessions|direct|desktop": 1234, "engaged_sessions|direct|desktop": 679,
                         "funnel|cart_add|direct": 123, "funnel|order_completed|direct": 26,
                         "orders|direct|card": 26, "revenue|direct|card": "2561.00",
                         "payment_failures|card": 1, "checkout_seconds_count": 26,
                         "checkout_seconds_bucket|300": 20, "checkout_seconds_bucket|600": 26}}
    document = {"windows": {"5m": [window], "1h": [window]}}
    console = Console(width=80, record=True, color_system=None)
    alerts = [{"incident_id": f"rule_{i}|channel=paid_search|0", "rule": f"rule_{i}",
               "state": "firing" if i else "pending", "dimension": {"channel": "paid_search"},
               "since": "2026-11-23T10:02:00Z", "value": 0.004} for i in range(5)]
    console.print(board(document, alerts=alerts))
    lines = console.export_text().splitlines()
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "2.1% ✗" in text  # conversion below its 3 % benchmark (alerts/rules.yaml) is flagged
    assert "Checkout time p95" in text
    assert "FIRING  rule_1 [channel=paid_search] since 10:02" in text
    assert "and 2 more" in text
