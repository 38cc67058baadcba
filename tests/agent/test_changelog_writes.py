"""Table writes sent to the changelog in bulk: in order, as whole batches, waited for by the
flush that comes before a commit (streams/changelog_writes.py). Against the real broker, the
SIGKILL oracle (tests/integration/test_kpis_exact.py) recovers the table from these records."""

import asyncio
from types import SimpleNamespace

import orjson
import pytest

from streams.app import app
from streams.changelog_writes import ChangelogWriter
from streams.transport import DeliveringBuffer


class FakeBatch:
    def __init__(self, room: int) -> None:
        self.room = room
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, *, key, value, timestamp):
        if len(self.records) == self.room:
            return None
        self.records.append((key, value))
        return object()


class FakeClient:
    """aiokafka's producer as the writer uses it: batches of 3 records; deliveries pending
    until the test settles them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list]] = []
        self.deliveries: list[asyncio.Future] = []

    def create_batch(self) -> FakeBatch:
        return FakeBatch(3)

    async def send_batch(self, batch, topic, *, partition):
        self.sent.append((topic, partition, batch.records))
        self.deliveries.append(asyncio.get_running_loop().create_future())
        return self.deliveries[-1]


def fake_table(client: FakeClient):
    async def record_client():
        return client

    producer = SimpleNamespace(record_client=record_client)
    return SimpleNamespace(name="kpi-state", data=SimpleNamespace(data={}),
                           app=SimpleNamespace(producer=producer),
                           changelog_topic=SimpleNamespace(get_topic_name=lambda: "changelog"))


@pytest.fixture
def writer():
    client = FakeClient()
    writer = ChangelogWriter(fake_table(client))
    writer.client = client
    yield writer
    from streams import transport

    transport.unregister_writer(writer)


async def test_writes_change_the_store_at_once_and_reach_their_partition_in_order(writer):
    p0, p1 = writer.partition(0), writer.partition(1)
    for n in range(5):
        p0[f"k{n}"] = {"n": n}
    p1["other"] = {"n": 9}
    del p0["k1"]
    expected = {"k0": {"n": 0}, "k2": {"n": 2}, "k3": {"n": 3}, "k4": {"n": 4}, "other": {"n": 9}}
    # The store keeps the JSON bytes; every read decodes a copy of its own.
    assert writer.table.data.data == {key: orjson.dumps(value) for key, value in expected.items()}
    assert dict(writer.values) == expected
    assert p0.get("k1") is None and "k2" in p0 and p0["k3"] == {"n": 3}
    p0["k3"]["n"] = 7  # a read's copy, changed in place, changes nothing stored
    assert p0["k3"] == {"n": 3} and writer.values.get("k3") == {"n": 3}
    assert writer.client.sent == []  # queued until sent

    await writer.send()

    by_partition = {}
    for topic, partition, records in writer.client.sent:
        assert topic == "changelog"
        assert len(records) <= 3  # whole batches, as many as needed
        by_partition.setdefault(partition, []).extend(records)
    # JSON keys and values, as Faust's table serializers; a deleted key's value is None.
    assert by_partition[0] == [*((orjson.dumps(f"k{n}"), orjson.dumps({"n": n}))
                                 for n in range(5)), (b'"k1"', None)]
    assert by_partition[1] == [(b'"other"', b'{"n":9}')]


async def test_the_flush_before_a_commit_sends_and_waits_for_delivery(writer):
    writer.partition(0)["k"] = {"n": 1}
    buffer = DeliveringBuffer()
    buffer.app = app
    flushing = asyncio.ensure_future(buffer.flush())
    await asyncio.sleep(0.05)
    assert writer.client.sent and not flushing.done()  # sent, not delivered yet
    writer.client.deliveries[0].set_result(None)
    await asyncio.wait_for(flushing, 1)


async def test_a_lost_write_fails_every_later_flush(writer):
    writer.partition(0)["k"] = {"n": 1}
    await writer.send()
    writer.client.deliveries[0].set_exception(ConnectionError("broker gone"))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="changelog write of table kpi-state failed"):
            await writer.flush()
