"""Creates kpiwatch's topics before the worker's consumer joins its group.

Faust declares internal topics lazily, and a group assignment made before they exist ignores
them until the next rebalance: a fresh worker would sit idle. Creating them first avoids that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

# A topic read as a table (the ad spend rows, keyed by spend id): compaction keeps the latest
# row per key, and a deleted row's tombstone a day.
COMPACTED = {"cleanup.policy": "compact", "delete.retention.ms": str(86_400_000)}


async def ensure_topics(bootstrap_servers: str, names: list[str], partitions: int,
                        timeout: float = 30.0,
                        configs: Mapping[str, str] | None = None) -> list[str]:
    """Create the missing topics; wait until all appear in metadata. Returns those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in names if name not in existing]
        if missing:
            try:
                await admin.create_topics([NewTopic(n, partitions, 1,
                                                    topic_configs=dict(configs or {}))
                                           for n in missing])
            except TopicAlreadyExistsError:
                pass  # another worker was first
            log.info("created topics %s with %d partitions", missing, partitions)
        deadline = asyncio.get_running_loop().time() + timeout
        while not set(names) <= set(await admin.list_topics()):
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"topics {names} did not appear within {timeout} s")
            await asyncio.sleep(0.2)
        return missing
    finally:
        await admin.close()
