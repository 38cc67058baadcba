"""The Alertmanager notifier against the real ``prometheus-alertmanager`` (Debian package,
installed by scripts/install-services), started on a port of its own for this module."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.webhook import WebhookNotifier
from tests.fakes.notifications import make_notification
from tests.integration.services import free_port

CONFIG = """
route:
  receiver: nobody
receivers:
  - name: nobody
"""


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail("prometheus-alertmanager is not installed: run scripts/install-services",
                    pytrace=False)
    home = tmp_path_factory.mktemp("alertmanager")
    (home / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    log = (home / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"alertmanager did not start: {(home / 'alertmanager.log').read_text()}",
                        pytrace=False)
        time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(10)
    log.close()


def alerts_named(url: str, rule: str) -> list[dict]:
    response = httpx.get(f"{url}/api/v2/alerts", params={"filter": f'alertname="{rule}"'})
    response.raise_for_status()
    return response.json()


async def test_firing_then_resolved(alertmanager):
    notifier = AlertmanagerNotifier("alertmanager", alertmanager)
    now = datetime.now(UTC)
    rule = "conversion_drop_am_test"
    incident = f"{rule}|channel=paid_search|{int((now - timedelta(minutes=30)).timestamp() * 1000)}"
    firing = make_notification(rule=rule, incident_id=incident, created_at=now.isoformat())
    attempt = await notifier.send(firing)
    assert attempt.outcome == "delivered", attempt

    [alert] = alerts_named(alertmanager, rule)
    assert alert["labels"] == {"alertname": rule, "severity": "warning", "kpi": "conversion_rate",
                               "dimension": "channel=paid_search", "channel": "paid_search"}
    assert alert["annotations"]["summary"] == firing.summary
    assert alert["annotations"]["runbook_url"] == firing.runbook_url
    assert alert["annotations"]["dashboard"] == firing.dashboard_url
    assert alert["generatorURL"] == firing.dashboard_url
    assert alert["status"]["state"] == "active"
    starts = datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00"))
    assert abs((starts - (now - timedelta(minutes=30))).total_seconds()) < 1
    ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
    assert ends >= now + timedelta(hours=1, seconds=-1)

    resolved = make_notification(rule=rule, incident_id=incident, kind="resolved",
                                 created_at=datetime.now(UTC).isoformat())
    assert (await notifier.send(resolved)).outcome == "delivered"
    # Alertmanager keeps a resolved alert out of its active list.
    assert alerts_named(alertmanager, rule) == []
    await notifier.aclose()


async def test_a_malformed_document_is_rejected_not_retried(alertmanager):
    # A generic webhook's JSON object is not the array of alerts the v2 API expects: 400.
    notifier = WebhookNotifier("misrouted", f"{alertmanager}/api/v2/alerts")
    attempt = await notifier.send(make_notification())
    assert (attempt.outcome, attempt.status) == ("rejected", 400)
    await notifier.aclose()
