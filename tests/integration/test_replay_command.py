"""`kpiwatch replay` on the real broker: every fixture event reaches the canonical topic
(in batches: streams/batches.py)."""

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson

from kpiwatch.replay import _ANY_TIME
from models import parse_message
from streams.batches import decode_message
from tests.integration.services import REPO, TEST_STACK_ENV, consume_all, has_events

FIXTURES = sorted((REPO / "tests" / "fixtures" / "events").glob("*.jsonl"))


def expected_copies(partitions: int) -> Counter[str]:
    """Event id -> copies on the canonical topic: one on its device's partition, or one on
    every partition for an event that carries a user id only (streams/kpis/identity.py)."""
    now = datetime.now(UTC)
    copies: Counter[str] = Counter()
    for path in FIXTURES:
        for line in Path(path).read_bytes().splitlines():
            for event in parse_message(line, now=now, limits=_ANY_TIME).events:
                copies[event.event_id] += 1 if event.anonymous_id else partitions
    return copies


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

    partitions = stack_settings.topic_partitions
    records = consume_all(stack_settings.kafka_bootstrap_servers,
                          worker_factory.names["KPIWATCH_TOPIC_CANONICAL"], 1, idle=5,
                          keep=has_events)
    lines = [(r.partition, orjson.loads(raw)) for r in records
             for _, raw in decode_message(r.value)[1]]
    events = Counter(line["event_id"] for _, line in lines if line["type"] != "identity_link")
    assert events == expected_copies(partitions)
    # Each user id linked to a device reaches every partition, so each resolves alike.
    links = [(partition, line) for partition, line in lines if line["type"] == "identity_link"]
    assert links
    for _, link in links:
        assert {p for p, other in links if other == link} == set(range(partitions))
