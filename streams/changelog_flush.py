"""A producer flush that really drains Faust's send buffer before offsets are committed.

Table writes (changelog records) go through Faust's ``ProducerBuffer``, and Faust flushes it
before committing source offsets and when partitions are revoked. But its flush
(faust-streaming 0.15) returns as soon as 0.1 s pass without a message leaving the buffer,
and does not count the message being handed to the Kafka client at that moment. Under load
(the client waiting for room in its batches) a commit could then go out while changelog
writes of acknowledged events were still buffered: a SIGKILL at that point loses effects whose
source offsets are committed, and the events are never replayed. A send that fails is only
logged by Faust, with the same result.

``install()`` makes ``ProducerBuffer.flush`` wait until the last message put in the buffer is
acknowledged by the broker (the buffer sends in order, and the driver's flush that follows
waits for everything handed to the client), and raise if any buffered send failed, so the
commit fails (and the worker with it) instead of passing a lost write.
"""

from __future__ import annotations

import asyncio

from faust.transport.producer import ProducerBuffer

_faust_put = ProducerBuffer.put
_faust_flush = ProducerBuffer.flush


def _put(self: ProducerBuffer, fut) -> None:
    self._kpiwatch_last = fut
    fut.add_done_callback(self._kpiwatch_note_failure)
    _faust_put(self, fut)


def _note_failure(self: ProducerBuffer, fut) -> None:
    if not fut.cancelled() and fut.exception() is not None and self._kpiwatch_failed is None:
        self._kpiwatch_failed = fut.exception()


# Tables whose writes bypass the buffer (streams/changelog_writes.py): flushed with it.
_writers: list = []


def register(writer) -> None:
    _writers.append(writer)


async def _flush(self: ProducerBuffer) -> None:
    for writer in _writers:
        # Bounded: a producer that is stopping may never deliver them; the commit then
        # fails, and the events are read again.
        await asyncio.wait_for(writer.flush(), timeout=WRITES_FLUSH_TIMEOUT_S)
    last = self._kpiwatch_last
    while last is not None and not last.done():
        if self.state != "running" or self.should_stop:
            # Stopping: nothing drains the buffer any more; Faust's flush says so.
            await _faust_flush(self)
            break
        await asyncio.wait({last}, timeout=1.0)
    if self._kpiwatch_failed is not None:
        # Sticky: no later commit may pass the lost write either; the worker must restart.
        raise RuntimeError("a buffered send (changelog write) failed: "
                           f"{self._kpiwatch_failed!r}") from self._kpiwatch_failed


# Faust stops consuming while more than ``max_messages`` (100) writes wait in the buffer. A KPI
# engine's checkpoint writes thousands at once (streams/kpis/engine.py): they go out while the
# next batches are applied, instead of holding every partition's events back until they are
# sent. (Still bounded: the engine checkpoints at most ``checkpoint_events`` events at once.)
BUFFERED_WRITES = 50_000
WRITES_FLUSH_TIMEOUT_S = 60.0


def install() -> None:
    ProducerBuffer.max_messages = BUFFERED_WRITES
    ProducerBuffer._kpiwatch_last = None
    ProducerBuffer._kpiwatch_failed = None
    ProducerBuffer._kpiwatch_note_failure = _note_failure
    ProducerBuffer.put = _put
    ProducerBuffer.flush = _flush
