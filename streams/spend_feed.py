"""Follows the ad spend topic into this worker's spend ledger (streams/kpis/spend.py).

Every worker reads the whole topic from its start, outside the consumer group: the ledger is
small (a row per channel, campaign and day or hour), each worker needs all of it for whichever
partition 0 it may be given, and a rebalance must not empty it. The topic is compacted and
keyed by ``spend_id``, so its log holds the latest row of every id and reading it from the
start rebuilds the ledger after a restart. A row that is not valid is counted by reason
(``kpiwatch_invalid_spend_rows_total``, each worker counts what it read) and logged with the
fix; the earlier row of its id, if any, stays.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import Counter

from metrics.catalog import INVALID_SPEND_ROWS
from streams.app import app, settings
from streams.kpis.agent import spend_ledger as ledger

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0

# (Registered on the worker's /metrics registry by metrics/endpoint.py.)
invalid_rows = Counter(INVALID_SPEND_ROWS.name.removesuffix("_total"), INVALID_SPEND_ROWS.help,
                       INVALID_SPEND_ROWS.labels, registry=None)


def apply_record(key: bytes | None, value: bytes | None) -> None:
    if key is None:
        invalid_rows.labels("no_key").inc()
        log.warning("spend row without a message key ignored: key spend rows by spend_id")
        return
    error = ledger.put(key.decode("utf-8", "replace"), value)
    if error is not None:
        invalid_rows.labels(error.reason).inc()
        log.warning("spend row %r refused (%s): %s", key[:80], error.reason, error)


async def follow(bootstrap: str, topic: str) -> None:
    """Reads ``topic`` into the ledger from its start, then follows it; retries on errors."""
    while True:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    client_id=f"{settings.app_id}-spend")
        try:
            await consumer.start()
            await _read(consumer, bootstrap, topic)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 -- a task that raises stops the worker
            # (a broker restart raises connection and timeout errors of several kinds): the
            # ledger keeps what it read, and the reader starts over from the topic's start.
            log.warning("spend topic %s unreadable (%s: %s); retrying in %.0f s", topic,
                        type(error).__name__, error, RETRY_AFTER_S)
        finally:
            try:
                await consumer.stop()
            except Exception:  # noqa: BLE001 -- stopping a consumer of a broker that is gone
                log.debug("spend consumer stop failed", exc_info=True)
        await asyncio.sleep(RETRY_AFTER_S)


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for d in described if d["topic"] == topic
                  for p in d["partitions"])


async def _read(consumer: AIOKafkaConsumer, bootstrap: str, topic: str) -> None:
    partitions = await _partitions(bootstrap, topic)
    if not partitions:
        raise KafkaError(f"topic {topic} has no partitions yet")
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    behind = {tp for tp in tps if ends[tp] > 0}
    ledger.loaded = not behind
    while True:
        batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
        for records in batch.values():
            for record in records:
                apply_record(record.key, record.value)
        if behind:
            behind = {tp for tp in behind if await consumer.position(tp) < ends[tp]}
            if not behind:
                ledger.loaded = True
                log.info("spend ledger loaded: %d rows from %s", len(ledger.rows), topic)


@app.task
async def follow_spend() -> None:
    await follow(settings.kafka_bootstrap_servers, settings.topic_ad_spend)


__all__ = ["apply_record", "follow", "invalid_rows", "ledger"]
