"""The JSONL sink: a file reads back to exactly the messages written, and `kpiwatch
replay` routes its lines as the simulator did."""

from datetime import timedelta

import orjson
import pytest

from kpiwatch.replay import to_record
from simulator.sinks.jsonl import from_line, read_jsonl, to_line, write_jsonl
from tests.unit.simulator.fixtures import simulate

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def messages():
    run = simulate(minutes=5, message_format="mixed", incidents=("bad-events@1m+2m:share=0.5",))
    return [labelled.message for labelled in run]


def test_a_file_reads_back_to_the_same_messages(tmp_path, messages):
    path = tmp_path / "run.jsonl"
    assert write_jsonl(messages, path) == len(messages)
    assert list(read_jsonl(path)) == messages
    assert len(path.read_bytes().splitlines()) == len(messages)


def test_a_line_wraps_the_message_with_its_stream_key_and_event_time(messages):
    message = messages[0]
    line = orjson.loads(to_line(message))
    assert list(line) == ["stream", "key", "event_time", "value"]
    assert line["stream"] == message.stream
    assert line["key"] == message.key.decode()
    assert line["value"] == orjson.loads(message.value)
    assert from_line(to_line(message)).event_time == message.event_time


def test_a_message_that_is_not_json_is_kept_as_its_raw_text(messages):
    broken = next(message for message in messages if not message.value.endswith(b"}"))
    line = orjson.loads(to_line(broken))
    assert line["value"] == broken.value.decode()
    assert from_line(to_line(broken)) == broken


def test_kpiwatch_replay_routes_lines_as_the_simulator_did(messages):
    for message in messages[:2000]:
        record = to_record(to_line(message).strip())
        assert (record.stream, record.key, record.value) == (
            message.stream,
            message.key,
            message.value,
        )


def test_blank_lines_are_skipped(tmp_path, messages):
    path = tmp_path / "gaps.jsonl"
    path.write_bytes(to_line(messages[0]) + b"\n\n" + to_line(messages[1]))
    assert list(read_jsonl(path)) == messages[:2]
    assert messages[1].event_time - messages[0].event_time >= timedelta(0)
