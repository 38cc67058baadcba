"""streams/rewind.py: partitions with nothing committed are read again from the start."""

from faust.types import TP

from streams.rewind import rewind_uncommitted


class SeekingConsumer:
    def __init__(self, read_offsets: dict) -> None:
        self._read_offset = read_offsets
        self.seeks: list = []

    def assignment(self):
        return set(self._read_offset)

    async def seek(self, tp, offset) -> None:
        self.seeks.append((tp, offset))


async def test_partitions_without_a_committed_offset_past_0_are_sought_to_0():
    nothing, zero, some, other = TP("events", 0), TP("events", 1), TP("events", 2), TP("x", 0)
    consumer = SeekingConsumer({nothing: None, zero: 0, some: 41, other: None})
    await rewind_uncommitted(consumer, ["events"])
    assert sorted(consumer.seeks) == [(nothing, 0), (zero, 0)]
