"""`kpiwatch status` against a real worker: the rules' KPIs from settled windows, and the
alert state read from the real Redis."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis as redis_sync
from redis.exceptions import RedisError

from alerts.rules import load_rules
from kpiwatch.kpi_view import fetch_kpis, last_settled, merge
from kpiwatch.settings import Settings
from kpiwatch.status import RedisReader
from streams.windows import iso, to_ms, window_of
from tests.integration import alerts_fixtures
from tests.integration.services import REPO, TEST_STACK_ENV, produce, wait_for

dedicated_redis = alerts_fixtures.dedicated_redis


def shop_history(start: datetime, minutes: int = 40, sessions_per_minute: int = 20) -> list[bytes]:
    """Sessions of ``minutes`` from ``start``, oldest first; every tenth one orders."""
    events = []
    for n in range(minutes * sessions_per_minute):
        at = start + timedelta(seconds=n * 60 / sessions_per_minute)
        user = f"user-{n}"
        base = {"anonymous_id": user, "session_id": f"s-{n}", "utm_source": "google",
                "utm_medium": "cpc"}
        # Two page views: engaged sessions, so no bounce-rate rule goes pending either.
        for view in (0, 1):
            events.append({**base, "event_id": f"pv-{n}-{view}", "type": "page_view",
                           "timestamp": (at + timedelta(seconds=view)).isoformat(),
                           "url": "https://shop.example/"})
        if n % 10 == 0:
            events.append({**base, "event_id": f"o-{n}", "type": "order_completed",
                           "timestamp": (at + timedelta(seconds=2)).isoformat(),
                           "order_id": f"order-{n}", "revenue": "40.00", "currency": "USD",
                           "payment_method": "card"})
    return [orjson.dumps(e) for e in events]


def test_status_reports_settled_kpis_against_the_rules(worker_factory, stack_settings):
    # History sent at once is read from the input partitions at different paces: a lateness
    # longer than the spread keeps every event in (see README, "backfill").
    worker = worker_factory(KPIWATCH_ALLOWED_LATENESS="PT45M")
    names = worker_factory.names
    # On a whole minute: a session's events (2 s long) never cross into another window.
    start = (datetime.now(UTC) - timedelta(minutes=90)).replace(second=0, microsecond=0)
    produce(stack_settings.kafka_bootstrap_servers, names["KPIWATCH_TOPIC_CLICKSTREAM"],
            ((None, e) for e in shop_history(start, minutes=90)))

    def whole_quarter_settled():
        window = last_settled(merge([fetch_kpis(worker.url)]), "15m")
        return window is not None and window.start >= iso(to_ms(start))

    wait_for(whole_quarter_settled, timeout=120, what="a whole settled 15-minute window")

    env = {**os.environ, **TEST_STACK_ENV, **names}
    result = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "status", "--worker", worker.url, "--json"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout[result.stdout.index("{"):])
    assert report["workers"] == {worker.url: True}
    assert report["alerts"] == [] and report["alerts_error"] is None  # Redis answered
    conversion = next(c for c in report["checks"] if c["rule"] == "conversion_rate_low")
    # 20 sessions a minute, one in ten orders: 300 sessions, 10 % in a whole quarter hour.
    assert conversion["window_start"] is not None
    assert conversion["value"] == 0.1 and conversion["breached"] is False

    text = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "status", "--worker", worker.url],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "conversion_rate_low" in text.stdout and "10.00%" in text.stdout, text.stdout
    assert "none pending or firing" in text.stdout


def test_status_reads_redis_over_one_client_that_reconnects_after_an_error(dedicated_redis):
    ruleset = load_rules()
    relative = [rule for rule in ruleset.rules if rule.benchmark.type != "static"]
    assert relative  # the shipped rules have some: each used to open a client of its own
    settings = Settings(redis_url=dedicated_redis.url, app_id="status-reader")
    now = to_ms(datetime.now(UTC))
    with redis_sync.Redis.from_url(dedicated_redis.url) as admin, \
            RedisReader(settings, ruleset) as reader:
        before = admin.info("stats")["total_connections_received"]
        for rule in relative:
            assert reader.history(rule, window_of(rule.window, now, settings.timezone)) == (None, [])
        assert reader.active_alerts() == []
        assert admin.info("stats")["total_connections_received"] - before == 1
        loop = reader.runner.get_loop()

        dedicated_redis.stop()
        with pytest.raises(RedisError):
            reader.active_alerts()
        assert reader.history(relative[0], window_of(relative[0].window, now,
                                                     settings.timezone)) == (None, [])
        dedicated_redis.start()
        assert reader.active_alerts() == []  # a fresh client, on the same loop
        assert reader.runner.get_loop() is loop
