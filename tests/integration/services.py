"""Factories for the real services: the local stack, workers, producers, Prometheus queries."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kpiwatch.settings import Settings

REPO = Path(__file__).resolve().parents[2]

# Ports of their own, so a running demo on the defaults does not collide with the tests.
# KPIWATCH_TEST_PORT_OFFSET shifts them (and the run dir), so two test runs can share a machine.
_OFFSET = int(os.environ.get("KPIWATCH_TEST_PORT_OFFSET", "0"))
TEST_STACK_ENV = {
    "KPIWATCH_RUN_DIR": str(REPO / ".run" / (f"test-{_OFFSET}" if _OFFSET else "test")),
    "KPIWATCH_KAFKA_PORT": str(29092 + _OFFSET),
    "KPIWATCH_KAFKA_CONTROLLER_PORT": str(29093 + _OFFSET),
    "KPIWATCH_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{29092 + _OFFSET}",
    "KPIWATCH_REDIS_PORT": str(26379 + _OFFSET),
    "KPIWATCH_REDIS_URL": f"redis://127.0.0.1:{26379 + _OFFSET}/0",
    "KPIWATCH_PROMETHEUS_PORT": str(29090 + _OFFSET),
    "KPIWATCH_SCRAPE_INTERVAL_SECONDS": "1",
}


def stack_settings_for_tests() -> Settings:
    return Settings(**{k.removeprefix("KPIWATCH_").lower(): v for k, v in TEST_STACK_ENV.items()})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_names() -> dict[str, str]:
    """Env for a worker with its own app id and topics: tests never share consumer state."""
    suffix = uuid.uuid4().hex[:8]
    return {
        "KPIWATCH_APP_ID": f"test-{suffix}",
        "KPIWATCH_TOPIC_CLICKSTREAM": f"clickstream-{suffix}",
        "KPIWATCH_TOPIC_CART": f"cart-{suffix}",
        "KPIWATCH_TOPIC_PURCHASE": f"purchase-{suffix}",
        "KPIWATCH_TOPIC_CANONICAL": f"events-{suffix}",
        "KPIWATCH_TOPIC_DEAD_LETTER": f"dead-letter-{suffix}",
        "KPIWATCH_TOPIC_AD_SPEND": f"ad-spend-{suffix}",
    }


@dataclass
class Worker:
    """A real ``kpiwatch worker`` process."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Worker:
        env = {**os.environ, **self.env, "KPIWATCH_WEB_PORT": str(self.port)}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kpiwatch", "worker", "--loglevel", "info"],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"worker not ready (/health) after {timeout} s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def metrics_text(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            return response.read().decode()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Produce (key, value) records with an idempotent producer; returns how many."""
    return produce_many(bootstrap, ((topic, key, value) for key, value in records))


def produce_many(bootstrap: str, records: Iterable[tuple[str, bytes | None, bytes]]) -> int:
    """Produce (topic, key, value) records in this order; returns how many."""

    async def run() -> int:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                    linger_ms=5)
        await producer.start()
        count = 0
        try:
            for topic, key, value in records:
                await producer.send(topic, value, key=key)
                count += 1
            await producer.flush()
        finally:
            await producer.stop()
        return count

    return asyncio.run(run())


def prometheus_query(base_url: str, promql: str) -> list[dict]:
    url = f"{base_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")


def consume_all(bootstrap: str, topic: str, expect: int, timeout: float = 90.0,
                idle: float = 3.0, keep=None) -> list:
    """Read ``topic`` from the beginning until ``expect`` records arrived and then ``idle``
    seconds pass with nothing new (so extra records would be seen), or ``timeout``. With
    ``keep``, only the records it is true of count (and are returned)."""

    async def run() -> list:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        records: list = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_new = loop.time()
        try:
            while loop.time() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    kept = [m for m in messages if keep is None or keep(m)]
                    records.extend(kept)
                    if kept:
                        last_new = loop.time()
                if len(records) >= expect and loop.time() - last_new > idle:
                    break
        finally:
            await consumer.stop()
        return records

    return asyncio.run(run())


def has_events(record) -> bool:
    """A canonical batch with events (not only the ingester's progress: streams/ingest.py)."""
    return b"\n" in record.value


def committed_and_end_offsets(bootstrap: str, group: str, topics: list[str]) -> tuple[dict, dict]:
    async def run():
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            committed = {
                (tp.topic, tp.partition): meta.offset
                for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                if tp.topic in topics
            }
            partitions = [
                TopicPartition(described["topic"], p["partition"])
                for described in await admin.describe_topics(topics)
                for p in described["partitions"]
            ]
            ends = {(tp.topic, tp.partition): offset
                    for tp, offset in (await consumer.end_offsets(partitions)).items()}
        finally:
            await consumer.stop()
            await admin.close()
        return committed, ends

    return asyncio.run(run())


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples in a /metrics text whose labels include ``labels``."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
