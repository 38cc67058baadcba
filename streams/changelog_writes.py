"""Table writes sent to the changelog in bulk, not one Faust send per record.

A KPI engine's checkpoint writes thousands of records at once (streams/kpis/engine.py). Through
Faust's ``table[key] = value`` each one is a ``FutureMessage`` in the ``ProducerBuffer``, sent
by a task one ``producer.send`` at a time: with the table's own bookkeeping, a large share of
a busy worker's time, and long stretches of the event loop spent sending a checkpoint. Here a
partition's writes change the table's in-memory store at once and are queued as bytes; the
agent hands them to the Kafka client as whole record batches (``send``) before it acknowledges
the events they came from.

What Faust's path guaranteed still holds:
- Order: a partition's writes reach its changelog partition in the order they were made (one
  sender at a time, whole batches in order; the client keeps one batch per partition in
  flight), so a crash keeps a prefix of them (the engine's crash safety rests on that).
- Nothing committed past a lost write: Faust flushes the producer before it commits source
  offsets, and streams/transport.py makes that flush send what is queued here (each
  writer registers there) and wait for it to be delivered, and raise if a send failed
  (sticky, as for Faust's own buffer).
- Recovery reads the same records: JSON keys and values, a ``None`` value for a deleted key,
  in the partition of the engine that wrote them.

The memory store keeps each value as the JSON bytes its changelog record carries (the table's
value serializer is ``raw``), decoded on every read (``PartitionWrites``, ``JsonValues``):
a reader gets its own copy, a write encodes once for the store and the changelog both, and the
state is no work for Python's garbage collector. Kept as dicts, the state was most of the
objects the collector traverses: collections of the older generations held the event loop
for long stretches, the worst of the per-event latency at a live shop's pace, and Python
objects take several times the memory of their JSON bytes (docs/benchmarks.md). Reads go to
the memory store's dict directly (Faust's table adds a sensor call and an exception per
missing key).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import orjson

from streams import transport


class ChangelogWriter:
    """The queued changelog writes of one Faust table, and their sending."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._queued: dict[int, list[tuple[bytes, bytes | None]]] = {}
        self._sending = asyncio.Lock()
        self._unfinished: set[asyncio.Future] = set()
        self.failed: BaseException | None = None
        transport.register_writer(self)

    def partition(self, partition: int) -> PartitionWrites:
        """The table as one partition's engine reads and writes it."""
        return PartitionWrites(self, partition)

    @property
    def store(self) -> dict[str, bytes]:
        return self.table.data.data  # Faust's memory store keeps its items in this dict

    @property
    def values(self) -> JsonValues:
        """The table's values decoded, for readers outside the engines."""
        return JsonValues(self.store)

    def queue(self, partition: int, key: str, value: bytes | None) -> None:
        self._queued.setdefault(partition, []).append((orjson.dumps(key), value))

    async def send(self) -> None:
        """Hands every queued write to the Kafka client, in order, as whole batches."""
        if not self._queued:
            return
        async with self._sending:  # one sender at a time: batches stay in order
            queued, self._queued = self._queued, {}
            client = await self.table.app.producer.record_client()
            topic = self.table.changelog_topic.get_topic_name()
            for partition, records in queued.items():
                batch = client.create_batch()
                for key, value in records:
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        await self._send_batch(client, batch, topic, partition)
                        batch = client.create_batch()
                        batch.append(key=key, value=value, timestamp=None)
                await self._send_batch(client, batch, topic, partition)

    async def _send_batch(self, client, batch, topic: str, partition: int) -> None:
        delivered = await client.send_batch(batch, topic, partition=partition)
        self._unfinished.add(delivered)
        delivered.add_done_callback(self._finished)

    def _finished(self, delivered: asyncio.Future) -> None:
        self._unfinished.discard(delivered)
        if not delivered.cancelled() and delivered.exception() is not None \
                and self.failed is None:
            self.failed = delivered.exception()

    async def flush(self) -> None:
        """Sends what is queued and waits until the broker has it; raises if a send failed."""
        await self.send()
        while self._unfinished:
            await asyncio.wait(set(self._unfinished))
        if self.failed is not None:
            # Sticky: no later commit may pass the lost write either; the worker must restart.
            raise RuntimeError(f"a changelog write of table {self.table.name} failed: "
                               f"{self.failed!r}") from self.failed


class JsonValues(Mapping):
    """The memory store read as dicts: each read decodes a fresh copy of the stored bytes."""

    def __init__(self, store: dict[str, bytes]) -> None:
        self.store = store

    def __getitem__(self, key: str) -> Any:
        return orjson.loads(self.store[key])

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.store.get(key)
        return default if raw is None else orjson.loads(raw)

    def __contains__(self, key: object) -> bool:
        return key in self.store

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.store))

    def __len__(self) -> int:
        return len(self.store)


class PartitionWrites(JsonValues, MutableMapping):
    """A Faust table as one partition's KPI engine uses it: reads decoded from the memory
    store (``JsonValues``), writes encoded to it and queued for the changelog partition
    (``ChangelogWriter.send`` sends them)."""

    def __init__(self, writer: ChangelogWriter, partition: int) -> None:
        super().__init__(writer.store)
        self.writer = writer
        self.number = partition

    def raw(self, key: str) -> bytes | None:
        """The value's JSON bytes, as stored (None: no such key)."""
        return self.store.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        raw = self.store[key] = orjson.dumps(value)
        self.writer.queue(self.number, key, raw)

    def __delitem__(self, key: str) -> None:
        del self.store[key]
        self.writer.queue(self.number, key, None)
