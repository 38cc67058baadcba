"""Issue #24, case 6: the Slack webhook URL and the Redis password never appear in anything a
run writes.

A real worker runs with both secrets: a Slack incoming webhook whose path carries a random
token (the fake Slack, answering one 500 and rate limits on the way) and a second webhook
that refuses connections (its retries log errors), and a Redis URL with a user and a random
password (an ACL user of the test Redis: the real password check, AUTH <user> <password>;
the stack's Redis has no requirepass, which stays untouched). Shop events make an alert fire
and reach Slack; malformed ones go to the dead letters. Then everything the run wrote is
searched for either secret (and for the first half of each, to catch a cut-off copy): the
worker's log, /metrics, /kpis, ``kpiwatch status`` (text and JSON) and ``kpiwatch alerts
list``, the dead-letter topic (values, keys and headers), the Redis keys of the app, and every
file written under the run directory (Kafka's logs and data, Prometheus's, which scraped the
worker, Faust's state) and the test's own directory.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis as redis_sync
from redis.exceptions import AuthenticationError

from tests.integration import fault_figures
from tests.integration.event_factory import bad_inputs
from tests.integration.services import (
    REPO,
    TEST_STACK_ENV,
    consume_all,
    free_port,
    metric_sum,
    produce_many,
    wait_for,
)
from tests.integration.test_alerts_end_to_end import markers, minute_of_events

RULES = """
targets:
  default: {type: slack, url_env: KPIWATCH_TEST_SLACK_WEBHOOK}
  unreachable: {type: slack, url_env: KPIWATCH_TEST_SLACK_WEBHOOK_DOWN}
rules:
  - name: paid_conversion_low
    kpi: conversion_rate
    condition: below
    per: channel
    benchmark: {type: static, value: 0.05}
    window: 1m
    min_volume: {sessions: 100}
    for: 1
    targets: [default, unreachable]
"""
MALFORMED = 20


@pytest.fixture
def redis_user(local_stack, stack_settings):
    """A Redis URL with a user and a random password that Redis checks (an ACL user)."""
    user, password = f"kpiwatch-{uuid.uuid4().hex[:8]}", "rds" + secrets.token_hex(16)
    admin = redis_sync.Redis.from_url(stack_settings.redis_url)
    admin.execute_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "&*", "+@all")
    url = f"redis://{user}:{password}@127.0.0.1:{stack_settings.redis_port}/0"
    try:
        with redis_sync.Redis.from_url(url) as client:
            assert client.ping()
        with pytest.raises(AuthenticationError), redis_sync.Redis.from_url(
                f"redis://{user}:wrong-{password}@127.0.0.1:{stack_settings.redis_port}/0") as bad:
            bad.ping()
        yield url, password
    finally:
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


def test_no_secret_in_logs_metrics_kpis_dead_letters_or_files(
        redis_user, slack_factory, worker_factory, stack_settings, tmp_path):
    # (Fixtures in this order: the worker stops before its Redis user is deleted.)
    began = time.time()
    redis_url, redis_password = redis_user
    slack_token = "slk" + secrets.token_hex(16)
    slack = slack_factory()
    slack.fail_next(1, status=500)  # the first attempt fails: a retry, logged
    webhook = slack.url(f"T0000/B0000/{slack_token}")
    down_token = "slk" + secrets.token_hex(16)
    down_webhook = f"http://127.0.0.1:{free_port()}/services/T0000/B0001/{down_token}"
    secret_values = {"Slack webhook token": slack_token, "unreachable webhook token": down_token,
                     "Redis password": redis_password}
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = {"KPIWATCH_RULES_FILE": str(rules), "KPIWATCH_REDIS_URL": redis_url,
           "KPIWATCH_TEST_SLACK_WEBHOOK": webhook, "KPIWATCH_TEST_SLACK_WEBHOOK_DOWN": down_webhook,
           "KPIWATCH_ALLOWED_LATENESS": "PT10S", "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT60S"}
    worker = worker_factory(**env)
    names = worker_factory.names
    bootstrap = stack_settings.kafka_bootstrap_servers
    topics = {"clickstream": names["KPIWATCH_TOPIC_CLICKSTREAM"],
              "cart": names["KPIWATCH_TOPIC_CART"], "purchase": names["KPIWATCH_TOPIC_PURCHASE"]}

    # Three minutes in which paid_search converts nobody: its 1-minute conversion is breached
    # at once, and the alert goes to both targets.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    events = [item for minute in range(3) for item in minute_of_events(start, minute, 0)]
    events += markers(start + timedelta(minutes=3, seconds=15), "secrets")
    bad = bad_inputs(MALFORMED)
    produce_many(bootstrap, [(topics[stream], e["anonymous_id"].encode(), orjson.dumps(e))
                             for stream, e in events]
                 + [(topics["clickstream"], None, raw) for raw, _ in bad])
    slack.wait_for_messages(1, timeout=120)
    assert [r.status for r in slack.requests][:1] == [500]
    assert all(m.path.endswith(slack_token) for m in slack.messages)

    def retried_unreachable() -> bool:
        return "to unreachable: no answer" in worker.log_path.read_text(errors="replace")

    wait_for(retried_unreachable, timeout=60, what="a failed delivery to the unreachable target")
    assert metric_sum(worker.metrics_text(), "kpiwatch_alert_state_errors_total") == 0  # Redis: used
    dead_letters = consume_all(bootstrap, names["KPIWATCH_TOPIC_DEAD_LETTER"], MALFORMED)
    # (On a loaded machine an input partition may fall idle and some events arrive late: they
    # are dead letters too, and searched below like the rest.)
    malformed = [r for r in dead_letters
                 if dict(r.headers).get("kpiwatch-reason") != b"late_event"]
    assert len(malformed) == MALFORMED
    time.sleep(3)  # a few more scrapes, retries and log lines

    # Everything the run wrote, as bytes, by where it is.
    written: dict[str, bytes] = {"worker log": worker.log_path.read_bytes()}
    for page in ("/metrics", "/kpis", "/health"):
        try:
            with urllib.request.urlopen(worker.url + page, timeout=5) as response:
                written[page] = response.read()
        except urllib.error.HTTPError as error:  # /health answers 503 with its reason
            written[page] = error.read()
    cli_env = {**os.environ, **TEST_STACK_ENV, **names, **env}
    for command in (["status", "--worker", worker.url], ["status", "--worker", worker.url, "--json"],
                    ["alerts", "list", "--all"]):
        result = subprocess.run([sys.executable, "-m", "kpiwatch", *command], env=cli_env, cwd=REPO,
                                capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        written[f"kpiwatch {' '.join(command[:2])}{' --json' if '--json' in command else ''}"] = (
            result.stdout + result.stderr)
    for record in dead_letters:
        written[f"dead letter {record.partition}@{record.offset}"] = b"\n".join(
            [record.key or b"", record.value or b"",
             *(name.encode() + b"=" + (value or b"") for name, value in record.headers)])
    written.update(_redis_contents(redis_url, names["KPIWATCH_APP_ID"]))
    assert any(name.startswith("redis ") for name in written)  # the outbox, the alert state

    def leaked(content: bytes) -> list[str]:
        return [what for what, secret in secret_values.items()
                if secret[: len(secret) // 2].encode() in content]

    leaks = [(where, leaked(content)) for where, content in written.items() if leaked(content)]
    files = []
    for root in (Path(TEST_STACK_ENV["KPIWATCH_RUN_DIR"]), tmp_path):
        for path in _files_written_since(root, began):
            files.append(path)
            leaks += [(str(path), found) for found in [leaked(_read(path))] if found]
    assert any("prometheus" in str(path) for path in files)
    assert any(path == worker.log_path for path in files)
    fault_figures.record(6, "secrets", places=len(written), files=len(files), leaks=len(leaks))
    assert not leaks, leaks


def _redis_contents(url: str, app_id: str) -> dict[str, bytes]:
    """Every key of the app in Redis, with its content, as bytes."""
    out = {}
    with redis_sync.Redis.from_url(url) as client:
        for key in client.scan_iter(match=f"*{app_id}*", count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                content = [client.get(key) or b""]
            elif kind == "hash":
                content = [b for pair in client.hgetall(key).items() for b in pair]
            elif kind == "list":
                content = client.lrange(key, 0, -1)
            elif kind == "set":
                content = list(client.smembers(key))
            elif kind == "zset":
                content = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
            elif kind == "stream":
                content = [b for _, fields in client.xrange(key) for pair in fields.items()
                           for b in pair]
            else:
                content = [client.dump(key) or b""]
            out[f"redis {key.decode(errors='replace')}"] = b"\n".join([key, *content])
    return out


def _files_written_since(root: Path, since: float) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime >= since - 1:
                found.append(path)
        except OSError:  # a file rolled or deleted meanwhile
            continue
    return found


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
