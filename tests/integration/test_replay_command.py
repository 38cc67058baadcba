"""`kpiwatch replay` on the real broker: every fixture event reaches the canonical topic
(in batches: streams/batches.py)."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from kpiwatch.replay import _ANY_TIME
from models import parse_message
from streams.batches import decode_message
from tests.integration.services import REPO, TEST_STACK_ENV, consume_all, has_events

FIXTURES = sorted((REPO / "tests" / "fixtures" / "events").glob("*.jsonl"))


def expected_event_ids() -> set[str]:
    now = datetime.now(UTC)
    return {
        event.event_id
        for path in FIXTURES
        for line in Path(path).read_bytes().splitlines() if line.strip()
        for event in parse_message(line, now=now, limits=_ANY_TIME).events
    }


def test_replayed_fixtures_arrive_on_the_canonical_topic(worker_factory, stack_settings):
    # The fixtures are stamped days ago: replay sets each record's timestamp to its event
    # time, so ingestion judges them as when they happened, with the default horizon.
    worker_factory()
    env = {**os.environ, **TEST_STACK_ENV, **worker_factory.names}
    result = subprocess.run([sys.executable, "-m", "kpiwatch", "replay", *map(str, FIXTURES)],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = sum(1 for p in FIXTURES for line in p.read_bytes().splitlines() if line.strip())
    assert f"replayed {lines} messages" in result.stdout

    expected = expected_event_ids()
    records = consume_all(stack_settings.kafka_bootstrap_servers,
                          worker_factory.names["KPIWATCH_TOPIC_CANONICAL"], 1, idle=5,
                          keep=has_events)
    got = [orjson.loads(raw)["event_id"] for r in records for _, raw in decode_message(r.value)[1]]
    assert sorted(got) == sorted(expected)
