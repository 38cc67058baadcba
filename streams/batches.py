"""The one internal hop: batches of validated events, one Kafka message per batch.

Why batches: Faust's work per consumed message (an empty agent's included) and one produce
per event capped the worker far below a shop's input rates (docs/benchmarks.md). Ingestion
(streams/ingest.py) groups what it validated from one poll of the input topics by destination
partition and sends each group as one message; the KPI agent (streams/kpis/agent.py) pays
Faust's per-message cost once per batch.

A batch is lines separated by ``\\n``. The first is the ingester's progress:
``{"sources": {"<input topic>:<partition>": <latest event time (ms) polled, null if none yet,
-1 if the partition never had a message>},
"inputs": {"<input topic>": <partition count>}, "polled_ms": <the newest input message's
Kafka timestamp>, "caught_up": [<input partitions read to their end>]}``, ``sources`` for
every input partition the ingester owns, ``inputs`` naming every input partition there is
(``polled_ms`` starts the settle latency clock), ``caught_up`` those of its input partitions
with nothing left to read at the poll (their next event is still to be written). The
KPI engine's watermark is the slowest input partition's latest event time, whether or not it
had events for this batch's partition; one not heard from yet (its ingester not started,
dead, or its partitions not reassigned yet) holds the watermark back until the idle timeout.
Every other line is an event, ``<source>\\t<event>``:
- ``<source>``: JSON ``[input topic, input partition, input offset, input time (ms)]``, where
  the event came from (dead letters and duplicate detection name it) and when the input
  message was written (the event -> metric latency starts there);
- ``<event>``: the canonical event as models.encode_canonical writes it (compact JSON: no
  newline, and a tab only escaped inside strings).

The destination partition is the user key's partition under Kafka's default partitioner
(murmur2), so all of a user's events meet in one partition of the KPI engine, whichever worker
ingested them; and a shop producer that keys its input by user key (as ``kpiwatch replay``
does) feeds each KPI partition from the input partitions of the same number only, whose
event times then are all that hold its watermark back.

An event's position in the batch topic is its **origin**: ``offset * MAX_BATCH + index``. It
grows with the consumption order of a partition, which is what the KPI engine's replay
guards compare (streams/kpis/engine.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import orjson
from aiokafka.partitioner import murmur2

from models import CanonicalEvent, encode_canonical

# An input partition's latest event time when it never had a message: it holds nothing back.
EMPTY = -1
# Events per batch message at most (and the origin's multiplier).
MAX_BATCH = 1 << 16
# Bytes per batch message at most: well under Kafka's default message.max.bytes (1 MiB).
MAX_BATCH_BYTES = 512 * 1024


@lru_cache(maxsize=1 << 16)  # murmur2 in pure Python is slow; a shop's active users repeat
def partition_of(user_key: str, partitions: int) -> int:
    """The batch-topic partition of a user's events: Kafka's default partitioner's."""
    return (murmur2(user_key.encode()) & 0x7FFFFFFF) % partitions


def input_partition(topic: str, partition: int) -> str:
    """An input partition's name, as batch headers and the watermark know it."""
    return f"{topic}:{partition}"


def origin(offset: int, index: int) -> int:
    return offset * MAX_BATCH + index


class Source(NamedTuple):
    """Where an event came from. (A named tuple: built once per event on both sides of the
    hop, and cheaper to build than a frozen dataclass.)"""

    topic: str
    partition: int
    offset: int
    input_ms: int

    @property
    def name(self) -> str:
        """The input partition, as the watermark tracks it."""
        return input_partition(self.topic, self.partition)


def encode_line(source: Source, event: CanonicalEvent) -> bytes:
    head = orjson.dumps([source.topic, source.partition, source.offset, source.input_ms])
    return head + b"\t" + encode_canonical(event)


class BatchBuilder:
    """Lines for one destination partition, cut into messages of at most MAX_BATCH events
    and MAX_BATCH_BYTES bytes."""

    def __init__(self) -> None:
        self.done: list[bytes] = []
        self._lines: list[bytes] = []
        self._size = 0

    def add(self, line: bytes) -> None:
        if self._lines and (len(self._lines) >= MAX_BATCH - 1
                            or self._size + len(line) > MAX_BATCH_BYTES):
            self._cut()
        self._lines.append(line)
        self._size += len(line) + 1

    def messages(self, sources: dict[str, int | None], inputs: dict[str, int] | None = None,
                 polled_ms: int | None = None, caught_up: list[str] | None = None
                 ) -> list[bytes]:
        """The batch messages, each led by the ingester's progress (at least one message)."""
        if self._lines or not self.done:
            self._cut()
        header = orjson.dumps({"sources": sources, "inputs": inputs or {},
                               "polled_ms": polled_ms, "caught_up": caught_up or []})
        return [header + b"\n" + body if body else header for body in self.done]

    def _cut(self) -> None:
        self.done.append(b"\n".join(self._lines))
        self._lines, self._size = [], 0


def decode_message(value: bytes) -> tuple[dict, list[tuple[Source, bytes]]]:
    """The ingester's progress (``sources`` and ``inputs``), and (source, the event's canonical
    JSON) of every event."""
    header, _, body = value.partition(b"\n")
    lines = []
    for line in body.split(b"\n") if body else ():
        head, _, raw = line.partition(b"\t")
        topic, partition, offset, input_ms = orjson.loads(head)
        lines.append((Source(topic, partition, offset, input_ms), raw))
    return orjson.loads(header), lines
