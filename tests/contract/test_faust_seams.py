"""What kpiwatch relies on in the pinned Faust and aiokafka (streams/transport.py).

Each test states one behaviour of the dependency that a class in streams/transport.py relies
on, or works around. When an upgrade makes one fail, read the class's comment: the
dependency changed under it, and the workaround may now be wrong or no longer needed.
(Faust's own tests/unit/transport/test_consumer.py tests the same methods this way.)
"""

import asyncio
import inspect
from collections import defaultdict
from types import SimpleNamespace

from aiokafka import AIOKafkaConsumer
from faust.stores.memory import Store as MemoryStore
from faust.transport import drivers
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import Producer as FaustProducer
from faust.transport.producer import ProducerBuffer
from faust.types import TP, FutureMessage
from intervaltree import IntervalTree

from streams import transport
from streams.app import app, settings


def _source(function) -> str:
    return inspect.getsource(function)


# -- the seams themselves --------------------------------------------------------------------

def test_faust_finds_the_transport_by_the_broker_urls_scheme():
    assert settings.faust_broker.startswith("kpiwatch://")
    assert drivers.by_url(settings.faust_broker) is transport.Transport
    assert type(app.transport) is transport.Transport


def test_faust_builds_the_consumer_producer_and_consumer_thread_from_the_transport():
    # Transport.Consumer / .Producer are the class variables Faust instantiates, and the
    # aiokafka consumer makes its thread with _new_consumer_thread.
    assert type(app.consumer) is transport.Consumer
    assert type(app.producer) is transport.Producer
    assert type(app.consumer._thread) is transport.WorkerConsumerThread


def test_faust_producer_buffer_is_an_attribute_the_flush_uses():
    # Producer.__init__ makes self.buffer and gives it the app; the driver's flush flushes it.
    assert "self.buffer = ProducerBuffer(" in _source(FaustProducer.__init__)
    assert "self.buffer.app = self.app" in _source(FaustProducer.__init__)
    assert "await self.buffer.flush()" in _source(faust_aiokafka.Producer.flush)
    assert "await self.add_runtime_dependency(self.buffer)" in _source(FaustProducer.on_start)


# -- step 4: flush before commit -------------------------------------------------------------

def test_faust_flushes_the_producer_before_it_commits_offsets():
    source = _source(FaustConsumer._commit_offsets)
    assert source.index("await self.app.producer.flush()") < source.index(
        "did_commit = await self._commit(committable_offsets)")


async def test_faust_buffer_flush_returns_before_a_slow_send_is_done():
    # Why DeliveringBuffer exists: Faust's flush gives up after 0.1 s without a message sent.
    buffer = ProducerBuffer()
    buffer.app = app

    async def send_slowly(fut):
        await asyncio.sleep(0.3)
        fut.set_result(None)

    buffer._send_pending = send_slowly
    await buffer.start()
    try:
        writes = [FutureMessage(f"write-{n}") for n in range(3)]
        for fut in writes:
            buffer.put(fut)
        await buffer.flush()
        assert not all(fut.done() for fut in writes)
        await asyncio.wait(writes)
    finally:
        await buffer.stop()


# -- step 3: the commit rules ----------------------------------------------------------------

def _offsets(committed, acked):
    consumer = SimpleNamespace(_committed_offset=defaultdict(lambda: None),
                               _acked=defaultdict(list), _acked_index=defaultdict(set),
                               _gap=defaultdict(IntervalTree))
    tp = TP("events", 0)
    consumer._committed_offset[tp] = committed
    consumer._acked[tp] = list(acked)
    consumer._acked_index[tp] = set(acked)
    return consumer, tp


def test_faust_commits_a_run_that_starts_one_past_the_committed_offset():
    # Why Consumer._new_offset checks starts_at_committed: offset 40 is not finished.
    consumer, tp = _offsets(40, [41, 42, 43])
    assert FaustConsumer._new_offset(consumer, tp) == 44


async def test_faust_takes_a_jump_in_the_offsets_read_for_a_gap_it_counts_acknowledged():
    # Why Consumer._add_gap ignores jumps on gapless topics.
    consumer, tp = _offsets(40, [])
    await FaustConsumer._add_gap(consumer, tp, 41, 90)
    consumer._acked[tp] = [40, 91]
    assert FaustConsumer._new_offset(consumer, tp) == 92


def test_faust_consumer_keeps_the_offsets_the_rules_read():
    # Consumer._new_offset, committed_offset and rewind_uncommitted read these.
    source = _source(FaustConsumer.__init__) if "__init__" in vars(FaustConsumer) else ""
    for name in ("_committed_offset", "_read_offset", "_acked", "_acked_index", "_gap"):
        assert name in source, name
    assert "self._committed_offset.update(committable_offsets)" in _source(
        FaustConsumer._commit_offsets)


# -- step 5: read again from the committed offset ------------------------------------------

def test_aiokafka_seek_to_committed_skips_offset_0_and_none():
    # Why rewind_uncommitted seeks those partitions to 0 (aio-libs/aiokafka issue #1003).
    assert "if offset and offset > 0:" in _source(AIOKafkaConsumer.seek_to_committed)


def test_faust_perform_seek_records_what_it_sought_as_read_offsets():
    source = _source(FaustConsumer.perform_seek)
    assert "await self.seek_to_committed()" in source
    assert "read_offset.update(" in source


def test_faust_assignment_reaches_the_app_after_the_consumer_hook():
    # Consumer.on_partitions_assigned marks the seek pending before the app's callbacks
    # (table recovery, which resumes partitions and then seeks) run.
    assert "self._on_partitions_assigned" in _source(FaustConsumer.on_partitions_assigned)


# -- the fetch wait --------------------------------------------------------------------------

def test_faust_hard_codes_the_worker_consumers_fetch_wait():
    assert "fetch_max_wait_ms=1500" in _source(
        faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer)


async def test_aiokafka_reads_the_fetch_wait_attribute_when_the_consumer_starts():
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=1500)
    assert consumer._fetch_max_wait_ms == 1500
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in _source(AIOKafkaConsumer.start)


# -- the table store -------------------------------------------------------------------------

def test_faust_memory_store_keeps_the_tables_items_in_its_data_dict():
    # streams/changelog_writes.py reads and writes table.data.data directly.
    from streams.kpis.agent import kpi_state as table

    assert isinstance(table.data, MemoryStore)
    assert type(table.data.data) is dict
    table.data.data["contract-probe"] = b"1"
    try:
        assert table.data["contract-probe"] == b"1"
    finally:
        del table.data.data["contract-probe"]
