"""The producer flush Faust runs before a commit waits for every buffered changelog write
(streams/transport.py, step 4 of the durability rule)."""

import asyncio
from contextlib import asynccontextmanager

import pytest
from faust.types import FutureMessage

from streams.app import app
from streams.transport import DeliveringBuffer


@asynccontextmanager
async def slow_buffer():
    """A running DeliveringBuffer whose sends take 0.25 s each (a client waiting for room)."""
    buffer = DeliveringBuffer()
    buffer.app = app
    outcomes = {}

    async def send_slowly(fut: FutureMessage) -> None:
        await asyncio.sleep(0.25)
        outcome = outcomes.get(fut.message, "sent")
        if isinstance(outcome, Exception):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)

    buffer._send_pending = send_slowly
    buffer.outcomes = outcomes
    await buffer.start()
    try:
        yield buffer
    finally:
        buffer.failed = None  # let the buffer stop
        await buffer.stop()


async def test_flush_waits_for_writes_slower_than_faust_gives_them():
    async with slow_buffer() as buffer:
        writes = [FutureMessage(f"write-{n}") for n in range(3)]
        for fut in writes:
            buffer.put(fut)
        await buffer.flush()
        assert all(fut.done() for fut in writes)


async def test_flush_fails_once_a_buffered_write_was_lost():
    async with slow_buffer() as buffer:
        buffer.outcomes["lost"] = ConnectionError("broker gone")
        buffer.put(FutureMessage("lost"))
        buffer.put(FutureMessage("after"))
        for _ in range(2):  # every later commit fails too
            with pytest.raises(RuntimeError, match="changelog write"):
                await buffer.flush()


def test_the_apps_producer_sends_through_a_delivering_buffer():
    assert type(app.producer.buffer) is DeliveringBuffer
    assert app.producer.buffer.app is app
