"""kpiwatch status and the demo board: workers' /kpis merged, judged against the rules file."""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from rich.console import Console

from alerts.rules import load_rules
from kpiwatch import kpi_view
from kpiwatch import status as status_view


def window(start: str, settled: bool, **values) -> dict:
    return {"size": "15m", "start": start, "end": start, "settled": settled,
            "values": {k.replace("__", "|"): v for k, v in values.items()}}


def document(*windows: dict) -> dict:
    return {"windows": {"15m": list(windows)}}


# Worker A owns some partitions, worker B the others: the shop is their sum.
WORKER_A = document(
    window("2026-11-23T10:15:00Z", False, sessions__direct__desktop=40),
    window("2026-11-23T10:00:00Z", True, sessions__direct__desktop=200,
           sessions__paid_search__mobile=100, funnel__order_completed__direct=8,
           funnel__order_completed__paid_search=1, orders__direct__card=26, revenue__direct__card="800.00",
           payment_failures__card=3),
)
WORKER_B = document(
    window("2026-11-23T10:15:00Z", True, sessions__direct__desktop=10),
    window("2026-11-23T10:00:00Z", True, sessions__direct__mobile=100,
           funnel__order_completed__direct=3, orders__direct__paypal=3,
           revenue__direct__paypal="150.50", payment_failures__paypal=2),
)


@pytest.fixture
def workers():
    """Two fake workers serving fixed /kpis documents over real HTTP."""
    servers = []
    for doc in (WORKER_A, WORKER_B):
        body = json.dumps(doc).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self, body=body):
                self.send_response(200 if self.path == "/kpis" else 404)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
    for server in servers:
        server.shutdown()


def test_windows_are_summed_across_workers_and_settled_only_when_settled_everywhere():
    merged = kpi_view.merge([WORKER_A, WORKER_B])
    latest, previous = merged["15m"]
    assert not latest.settled  # settled on B, not yet on A
    assert previous.settled
    kpis = previous.kpis()
    assert kpis["sessions"] == 400
    assert kpis["conversion_rate"] == pytest.approx(12 / 400, abs=1e-12)
    assert kpis["orders"] == 29
    assert kpi_view.last_settled(merged, "15m") is previous


def test_per_dimension_rules_judge_each_value(workers):
    ruleset = load_rules()
    report = status_view.collect(workers, ruleset)
    assert all(report.workers.values())
    conversion = [c for c in report.checks if c.rule == "conversion_rate_low"]
    assert [(c.value, c.breached) for c in conversion] == [(pytest.approx(0.03), False)]
    failures = {c.dimension: c for c in report.checks if c.rule == "payment_failure_rate_high"}
    assert failures["payment_method=card"].value == pytest.approx(3 / 29)
    assert failures["payment_method=card"].breached
    # 3 orders + 2 failures: under the rule's min_volume of 20, so not judged.
    assert failures["payment_method=paypal"].value == pytest.approx(2 / 5)
    assert failures["payment_method=paypal"].breached is None
    assert failures["payment_method=paypal"].reason == "low_volume"


def test_status_renders_for_a_person_and_as_json(workers):
    ruleset = load_rules()
    report = status_view.collect([*workers, "http://127.0.0.1:9"], ruleset,
                                 active_alerts=lambda: [{"status": "firing", "rule": "x",
                                                         "dimension": {"channel": "paid_search"},
                                                         "incident": "x|channel=paid_search|0"}])
    console = Console(width=120, record=True, color_system=None)
    status_view.print_status(report, ruleset, console)
    text = console.export_text()
    assert "BREACH" in text and "payment_failure_rate_high" in text and " card " in text
    assert "firing" in text and "channel=paid_search" in text
    assert "workers not answering: http://127.0.0.1:9" in text
    as_json = json.loads(json.dumps(report.as_dict(), default=str))
    assert as_json["breached"] >= 1 and as_json["workers"]["http://127.0.0.1:9"] is False


def test_alert_state_errors_do_not_hide_the_kpis(workers):
    def broken():
        raise ConnectionError("Redis at 127.0.0.1:6379 refused the connection")

    report = status_view.collect(workers, load_rules(), active_alerts=broken)
    assert report.checks and "refused" in report.alerts_error
