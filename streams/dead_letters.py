"""Dead-letter records: the rejected bytes, untouched, with headers that say why.

Headers (all UTF-8): ``kpiwatch-reason`` (a RejectReason code), ``kpiwatch-source-topic``,
``kpiwatch-source-partition``, ``kpiwatch-source-offset``, ``kpiwatch-rejection-index`` (which
rejection of that message: a GA4 batch can have several) and ``kpiwatch-error`` (the detail,
naming the field); ``kpiwatch-truncated-from`` (the message's length) when the record holds only
the first ``MAX_VALUE_BYTES`` of it. Records are keyed ``<source topic>:<source partition>`` so
the rejections of one source partition stay in order on one dead-letter partition.
"""

from __future__ import annotations

from dataclasses import dataclass

REASON = "kpiwatch-reason"
SOURCE_TOPIC = "kpiwatch-source-topic"
SOURCE_PARTITION = "kpiwatch-source-partition"
SOURCE_OFFSET = "kpiwatch-source-offset"
REJECTION_INDEX = "kpiwatch-rejection-index"
ERROR = "kpiwatch-error"
TRUNCATED_FROM = "kpiwatch-truncated-from"

MAX_ERROR_BYTES = 1000
MAX_VALUE_BYTES = 1024 * 1024 - 16 * 1024
"""Most bytes of a rejected message a dead letter holds. The broker refuses a record past its
message.max.bytes (Kafka's default, 1 MiB, holds for the dead-letter topic as for the input), and
so does the producer past its max_request_size: a message that only just fit on its input topic
would not fit with the headers added, and the failed send would stop ingestion. A longer message
(too_large for certain: max_event_bytes is at most 1 MiB) keeps its first bytes, room left for
the key and headers."""


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    rejection_index: int
    error: str
    truncated_from: int | None = None  # the message's length, when the value holds its start

    @property
    def key(self) -> bytes:
        return f"{self.source_topic}:{self.source_partition}".encode()

    def headers(self) -> dict[str, bytes]:
        return {
            REASON: self.reason.encode(),
            SOURCE_TOPIC: self.source_topic.encode(),
            SOURCE_PARTITION: str(self.source_partition).encode(),
            SOURCE_OFFSET: str(self.source_offset).encode(),
            REJECTION_INDEX: str(self.rejection_index).encode(),
            ERROR: self.error.encode()[:MAX_ERROR_BYTES],
            **({} if self.truncated_from is None
               else {TRUNCATED_FROM: str(self.truncated_from).encode()}),
        }

    @classmethod
    def from_headers(cls, headers) -> DeadLetter:
        values = {k: (v.decode(errors="replace") if v else "") for k, v in _pairs(headers)}
        return cls(
            reason=values[REASON],
            source_topic=values[SOURCE_TOPIC],
            source_partition=int(values[SOURCE_PARTITION]),
            source_offset=int(values[SOURCE_OFFSET]),
            rejection_index=int(values.get(REJECTION_INDEX) or 0),
            error=values.get(ERROR, ""),
            truncated_from=int(values[TRUNCATED_FROM]) if values.get(TRUNCATED_FROM) else None,
        )


def letter_value(value: bytes) -> tuple[bytes, int | None]:
    """What a dead letter holds of a rejected message, and the message's length if cut."""
    if len(value) <= MAX_VALUE_BYTES:
        return value, None
    return value[:MAX_VALUE_BYTES], len(value)


def _pairs(headers):
    return headers.items() if hasattr(headers, "items") else headers
