"""Dead-letter records: the rejected bytes, untouched, with headers that say why.

Headers (all UTF-8): ``kpiwatch-reason`` (a RejectReason code), ``kpiwatch-source-topic``,
``kpiwatch-source-partition``, ``kpiwatch-source-offset``, ``kpiwatch-rejection-index`` (which
rejection of that message: a GA4 batch can have several) and ``kpiwatch-error`` (the detail,
naming the field). Records are keyed ``<source topic>:<source partition>`` so the rejections of
one source partition stay in order on one dead-letter partition.
"""

from __future__ import annotations

from dataclasses import dataclass

REASON = "kpiwatch-reason"
SOURCE_TOPIC = "kpiwatch-source-topic"
SOURCE_PARTITION = "kpiwatch-source-partition"
SOURCE_OFFSET = "kpiwatch-source-offset"
REJECTION_INDEX = "kpiwatch-rejection-index"
ERROR = "kpiwatch-error"

MAX_ERROR_BYTES = 1000


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    rejection_index: int
    error: str

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
        )


def _pairs(headers):
    return headers.items() if hasattr(headers, "items") else headers
