"""Look into a failed oracle run kept with KPIWATCH_KEEP_STACK=1 (issue #4's SIGKILL losses).

    .venv/bin/python -m tests.kpi_oracle.inspect_run <app id> [--bootstrap 127.0.0.1:29092]

Prints the KPI group's offset commits on the canonical topic, in order (from
``__consumer_offsets``), and per partition the first minutes' page views as the persisted KPI
state has them beside those the canonical topic carried (duplicates included): a partition
whose early minutes are missing in the state, and the commit that skipped them, show there.
The app id is in the worker logs (``group test-<suffix>``); the canonical topic is
``events-<suffix>``.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import time
from collections import Counter, defaultdict
from datetime import datetime

import orjson
from aiokafka import AIOKafkaConsumer

from streams.batches import decode_message
from tests.integration.services import consume_all


def _string(raw: bytes, at: int) -> tuple[str, int]:
    size = struct.unpack_from(">h", raw, at)[0]
    return raw[at + 2:at + 2 + size].decode(), at + 2 + size


async def commits(bootstrap: str, group: str, topic: str) -> list[tuple[int, int, int]]:
    """(broker time ms, partition, committed offset) of the group's commits on ``topic``."""
    consumer = AIOKafkaConsumer("__consumer_offsets", bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                exclude_internal_topics=False)
    await consumer.start()
    found, idle_until = [], time.monotonic() + 5
    try:
        while time.monotonic() < idle_until:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if struct.unpack_from(">h", record.key, 0)[0] > 1 or record.value is None:
                        continue  # group metadata, or a tombstone
                    name, at = _string(record.key, 2)
                    record_topic, at = _string(record.key, at)
                    if name == group and record_topic == topic:
                        partition = struct.unpack_from(">i", record.key, at)[0]
                        offset = struct.unpack_from(">q", record.value, 2)[0]
                        found.append((record.timestamp, partition, offset))
    finally:
        await consumer.stop()
    return sorted(found)


def page_views(bootstrap: str, app_id: str, topic: str, minutes: int) -> None:
    state: dict = {}
    for record in consume_all(bootstrap, f"{app_id}-kpi-state-v1-changelog", expect=1, idle=3):
        key = orjson.loads(record.key)
        if record.value is None:
            state.pop(key, None)
        else:
            state[key] = orjson.loads(record.value)
    applied: dict[int, Counter] = defaultdict(Counter)
    for key, value in state.items():
        if key.startswith("agg|") and value["size"] == "1m":
            applied[value["start"]][int(key.split("|")[1])] += sum(
                n for metric, n in value["values"].items() if metric.startswith("page_view|"))
    carried: dict[int, Counter] = defaultdict(Counter)
    for record in consume_all(bootstrap, topic, expect=1, idle=3):
        for _, raw in decode_message(record.value)[1]:
            event = orjson.loads(raw)
            if event["type"] == "page_view":
                ms = datetime.fromisoformat(event["timestamp"]).timestamp() * 1000
                carried[int(ms - ms % 60_000)][record.partition] += 1
    print("minute          page views in the state (by partition) | on the canonical topic")
    for minute in sorted(carried)[:minutes]:
        print(minute, dict(sorted(applied[minute].items())), "|",
              dict(sorted(carried[minute].items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app_id")
    parser.add_argument("--bootstrap", default="127.0.0.1:29092")
    parser.add_argument("--minutes", type=int, default=12)
    args = parser.parse_args()
    topic = "events-" + args.app_id.removeprefix("test-")
    for at, partition, offset in asyncio.run(commits(args.bootstrap, args.app_id, topic)):
        print(time.strftime("%H:%M:%S", time.gmtime(at / 1000)), f"partition {partition}",
              f"committed {offset}")
    page_views(args.bootstrap, args.app_id, topic, args.minutes)


if __name__ == "__main__":
    main()
