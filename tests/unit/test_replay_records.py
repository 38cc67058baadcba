"""Replay routing: each line goes to its event type's input stream, keyed by user key."""

from pathlib import Path

import orjson

from kpiwatch.replay import read_records, to_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def test_every_fixture_line_is_routed_and_keyed():
    records = list(read_records(sorted(FIXTURES.glob("*.jsonl"))))
    assert records
    assert {r.stream for r in records} == {"clickstream", "cart", "purchase"}
    assert all(r.key for r in records)
    assert all(r.event_time is not None for r in records)


def test_order_goes_to_purchase_keyed_by_anonymous_id():
    line = orjson.dumps({"event_id": "e1", "type": "order_completed", "order_id": "o1",
                         "revenue": "10.00", "currency": "EUR", "anonymous_id": "a-9",
                         "user_id": "u-1", "timestamp": "2019-10-01T00:00:00Z"})
    record = to_record(line)
    assert (record.stream, record.key) == ("purchase", b"a-9")


def test_a_line_that_does_not_parse_is_kept_for_the_dead_letters():
    record = to_record(b"{not json")
    assert (record.stream, record.key, record.value) == ("clickstream", None, b"{not json")


def test_simulator_wrapper_lines_keep_their_stream_and_key():
    line = orjson.dumps({"stream": "cart", "key": "k1", "value": {"event_id": "e2",
                         "type": "cart_add", "product_id": "p", "anonymous_id": "a",
                         "timestamp": "2026-01-01T00:00:00Z"}})
    record = to_record(line)
    assert (record.stream, record.key) == ("cart", b"k1")
    assert orjson.loads(record.value)["event_id"] == "e2"
