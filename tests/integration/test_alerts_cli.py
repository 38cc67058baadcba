"""The on-call CLI against the real Redis: list, show, ack, silence, test-fire."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.integration import alerts_fixtures
from tests.integration.alerts_fixtures import RULES, RecordingSink, shop_values
from tests.integration.services import REPO

alert_env = alerts_fixtures.alert_env
NORMAL, DROP = shop_values(paid_orders=20), shop_values(paid_orders=5)


def kpiwatch(env, rules_path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "KPIWATCH_REDIS_URL": env.redis_url,
                   "KPIWATCH_APP_ID": env.app_id, "KPIWATCH_RULES_FILE": str(rules_path)}
    return subprocess.run([sys.executable, "-m", "kpiwatch", "alerts", *args], cwd=REPO,
                          env=environment, capture_output=True, text=True, timeout=120)


async def test_list_show_ack_silence_and_test_fire(alert_env, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(RULES))
    evaluator = alert_env.evaluator(RecordingSink())
    for n, values in [(0, NORMAL), (1, DROP), (2, DROP)]:
        await alert_env.write(n, values, week_ago=NORMAL)
        await evaluator.evaluate()

    listed = kpiwatch(alert_env, rules, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    alerts = json.loads(listed.stdout)["alerts"]
    assert [(a["status"], a["dimension"]) for a in alerts] == [
        ("firing", {"channel": "paid_search"})]
    incident = alerts[0]["incident"]

    shown = kpiwatch(alert_env, rules, "show", "paid_search")  # a unique part of the id
    assert shown.returncode == 0, shown.stderr
    assert incident in shown.stdout and "pending" in shown.stdout and "firing" in shown.stdout

    acked = kpiwatch(alert_env, rules, "ack", incident, "--by", "alice")
    assert acked.returncode == 0 and "alice" in acked.stdout, acked.stderr
    assert await alert_env.states.acknowledged(incident)

    silenced = kpiwatch(alert_env, rules, "silence", "channel_conversion_drop", "--where",
                        "channel=email", "--for", "2h")
    assert silenced.returncode == 0, silenced.stderr
    assert await alert_env.states.silenced("channel_conversion_drop", "channel=email")
    assert not await alert_env.states.silenced("channel_conversion_drop", "channel=direct")
    wrong = kpiwatch(alert_env, rules, "silence", "no_such_rule", "--for", "2h")
    assert wrong.returncode != 0 and "no rule" in wrong.stderr

    fired = kpiwatch(alert_env, rules, "test-fire", "channel_conversion_drop")
    assert fired.returncode == 0 and "default: delivered" in fired.stdout, fired.stdout + fired.stderr
