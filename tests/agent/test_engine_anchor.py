"""streams/kpis/agent.py: an engine reads one unbroken run of offsets from its partition's start."""

import time
from types import SimpleNamespace

import pytest
from faust.types import TP

from streams.app import app, settings
from streams.kpis import agent


def message(offset: int, partition: int = 0):
    tp = TP(settings.topic_canonical, partition)
    return SimpleNamespace(partition=partition, offset=offset, tp=tp)


@pytest.fixture
def partition_0(monkeypatch):
    for name in ("runs", "log_starts", "skipping"):
        monkeypatch.setattr(agent, name, {})
    monkeypatch.setattr(agent, "owned", {0})
    agent.log_starts[0] = (0, time.monotonic())  # nothing committed: read from the log's start
    return agent


async def test_messages_past_the_start_are_skipped_until_the_start_comes(partition_0):
    assert await agent.run_at(message(7)) is None  # fetched before the seek
    assert await agent.run_at(message(8)) is None
    engine = await agent.run_at(message(0))
    assert engine is not None
    assert await agent.run_at(message(1)) is engine


async def test_a_break_in_the_run_ends_the_engine(partition_0):
    first = await agent.run_at(message(0))
    await agent.run_at(message(1))
    assert await agent.run_at(message(5)) is None  # a hole: the engine is gone
    assert 0 not in agent.runs
    second = await agent.run_at(message(0))  # the seek back brings the start again
    assert second is not None and second is not first


async def test_a_seek_back_to_the_start_rebuilds_the_engine(partition_0):
    first = await agent.run_at(message(0))
    await agent.run_at(message(1))
    second = await agent.run_at(message(0))
    assert second is not None and second is not first


async def test_a_partition_not_assigned_here_is_not_processed(partition_0):
    await agent.run_at(message(0))
    agent.owned.discard(0)  # revoked
    assert await agent.run_at(message(1)) is None
    assert 0 not in agent.runs


async def test_the_start_is_the_committed_offset(partition_0, monkeypatch):
    tp = message(0).tp
    monkeypatch.setitem(app.consumer._committed_offset, tp, 40)
    assert await agent.run_at(message(41)) is None
    assert await agent.run_at(message(40)) is not None
    # Reading again from before the committed offset is safe: those events are finished.
    assert await agent.run_at(message(39)) is not None


async def test_the_start_is_the_log_start_when_retention_deleted_past_the_committed_offset(
        partition_0, monkeypatch):
    tp = message(0).tp
    monkeypatch.setitem(app.consumer._committed_offset, tp, 40)
    agent.log_starts[0] = (0, time.monotonic() - 60)  # asked a while ago

    async def earliest_offsets(*tps):
        return {tp: 500}
    monkeypatch.setattr(app.consumer, "earliest_offsets", earliest_offsets)
    # The consumer was reset to the log's start (500): it is the start, not a hole, and the
    # acknowledgements committed start there too.
    assert await agent.run_at(message(500)) is not None
    assert app.consumer._committed_offset[tp] == 500


async def test_when_the_start_does_not_come_again_the_agent_seeks_back_to_it(
        partition_0, monkeypatch):
    sought = []

    async def seek(tp, offset):
        sought.append((tp.partition, offset))
    monkeypatch.setattr(app.consumer, "seek", seek)
    # Offsets 1..6 never came (a hole), and 7 was the last message: nothing else will come.
    await agent.run_at(message(0))
    assert await agent.run_at(message(7)) is None
    await agent.seek_back_waiting()
    assert sought == []  # a seek may well be on its way
    agent.skipping[0].since -= agent.SEEK_AFTER_S + 1
    await agent.seek_back_waiting()
    await agent.seek_back_waiting()
    assert sought == [(0, 0)]  # once, not per tick
