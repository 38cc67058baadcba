"""State versioning on the real broker (streams/state_format.py): a KPI changelog written by
today's format (tests/fixtures/state, recorded by a real worker) under the unversioned name of
the releases before versioning makes a worker refuse to start, naming the commands;
``kpiwatch state migrate`` copies it record for record; a worker then starts on it and shows
its KPIs. State of a newer format makes a worker refuse; ``kpiwatch state reset`` clears it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from streams.admin import ensure_topics
from streams.state_format import changelog_topic
from tests.integration.services import REPO, TEST_STACK_ENV, consume_all, unique_names, wait_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "state"
RECORDS = FIXTURES / "kpi-state-format1.jsonl"
META = json.loads((FIXTURES / "kpi-state-format1.meta.json").read_text())


def fixture_records() -> list[tuple[int, bytes, bytes | None]]:
    rows = [json.loads(line) for line in RECORDS.read_text().splitlines() if line.strip()]
    return [(r["partition"], r["key"].encode(),
             None if r["value"] is None else r["value"].encode()) for r in rows]


def produce_to_partitions(bootstrap: str, topic: str, records) -> None:
    async def run() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for partition, key, value in records:
                await producer.send(topic, value, key=key, partition=partition)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(run())


def kpiwatch(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpiwatch", *args],
                          env={**os.environ, **TEST_STACK_ENV, **env}, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def topic_names(bootstrap: str) -> set[str]:
    async def run() -> set[str]:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    return asyncio.run(run())


def assert_refused(result: subprocess.CompletedProcess, *phrases: str) -> None:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_a_legacy_changelog_is_refused_then_migrated_and_read(worker_factory, stack_settings):
    bootstrap = stack_settings.kafka_bootstrap_servers
    names = {**worker_factory.names, "KPIWATCH_TOPIC_PARTITIONS": str(META["partitions"])}
    app_id = names["KPIWATCH_APP_ID"]
    legacy, current = changelog_topic(app_id, "kpi-state", 0), changelog_topic(app_id, "kpi-state")
    assert legacy == f"{app_id}-kpi-state-changelog"
    records = fixture_records()
    assert 0 < len(records) < 200
    asyncio.run(ensure_topics(bootstrap, [legacy], META["partitions"]))
    produce_to_partitions(bootstrap, legacy, records)

    refused = kpiwatch(names, "worker", timeout=90)
    assert_refused(refused, legacy, "`kpiwatch state migrate`", "`kpiwatch state reset`",
                   "rebuilt only from what the canonical and dead-letter topics still hold")
    assert current not in topic_names(bootstrap)  # refused before Faust declared its tables
    status = kpiwatch(names, "state", "status")
    assert status.returncode == 1 and "older format" in status.stdout, status.stdout

    migrated = kpiwatch(names, "state", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"copied {len(records)} records of {legacy} to {current}" in migrated.stdout
    copied = consume_all(bootstrap, current, expect=len(records), idle=2)
    by_partition = sorted(copied, key=lambda r: (r.partition, r.offset))
    assert [(r.partition, r.key, r.value) for r in by_partition] == records
    assert kpiwatch(names, "state", "status").returncode == 0

    worker = worker_factory(KPIWATCH_TOPIC_PARTITIONS=str(META["partitions"]))  # /health

    def lifetime():
        with urllib.request.urlopen(worker.url + "/kpis", timeout=5) as response:
            return json.load(response)["since_tracking_began"] or None

    assert wait_for(lifetime, timeout=60, what="the fixture's KPIs on /kpis") \
        == META["since_tracking_began"]
    # The tables' changelogs are the versioned ones: no new unversioned topic appeared.
    topics = topic_names(bootstrap)
    assert {changelog_topic(app_id, t) for t in ("event-counts", "dead-letter-counts")} <= topics
    assert not {changelog_topic(app_id, t, 0) for t in ("event-counts", "dead-letter-counts")} \
        & topics
    # The state commands that change it refuse while a worker runs.
    assert_refused(kpiwatch(names, "state", "reset", "--yes"), "stop every worker first")


def test_state_of_a_newer_format_is_refused_until_reset(worker_factory, stack_settings):
    bootstrap = stack_settings.kafka_bootstrap_servers
    names = unique_names()
    app_id = names["KPIWATCH_APP_ID"]
    newer = f"{app_id}-kpi-state-v2-changelog"
    asyncio.run(ensure_topics(bootstrap, [newer], stack_settings.topic_partitions))
    produce_to_partitions(bootstrap, newer, [(0, b'"progress|0"', b'{"format": "two"}')])

    assert_refused(kpiwatch(names, "worker", timeout=90),
                   "written by a newer kpiwatch (state format 2)", newer,
                   "run the kpiwatch version that wrote it", "`kpiwatch state reset`")
    assert_refused(kpiwatch(names, "state", "migrate"), "newer kpiwatch")

    reset = kpiwatch(names, "state", "reset", "--yes")
    assert reset.returncode == 0, reset.stderr
    assert newer not in topic_names(bootstrap)
    worker_factory(**names)  # starts (reaches /health) on the reset state
