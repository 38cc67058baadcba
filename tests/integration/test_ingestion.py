"""Ingestion on the real broker: malformed and duplicated input gets a clear, counted answer."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson

from streams.batches import decode_message, partition_of
from streams.dead_letters import DeadLetter
from tests.integration.event_factory import bad_inputs, event_id, valid_events
from tests.integration.services import (
    committed_and_end_offsets,
    consume_all,
    has_events,
    metric_sum,
    produce,
    wait_for,
)

TOTAL = 10_000
MALFORMED = TOTAL // 100  # 1 %
DUPLICATES = TOTAL * 5 // 100  # 5 %


def test_valid_events_arrive_once_bad_ones_in_dead_letters_offsets_committed(
    worker_factory, stack_settings
):
    # Lateness over the events' one-minute spread: shuffled, none of them is late. A minute
    # settles (and its duplicates are counted) once an event 3 minutes later moves the
    # watermark: the markers, sent last, on every partition.
    worker = worker_factory(KPIWATCH_ALLOWED_LATENESS="PT90S", KPIWATCH_SOURCE_IDLE_TIMEOUT="PT1S")
    names = worker_factory.names
    bootstrap = stack_settings.kafka_bootstrap_servers
    inputs = [names["KPIWATCH_TOPIC_CLICKSTREAM"], names["KPIWATCH_TOPIC_CART"],
              names["KPIWATCH_TOPIC_PURCHASE"]]
    rng = random.Random(3)

    valid = valid_events(TOTAL - MALFORMED - DUPLICATES)
    bad = bad_inputs(MALFORMED)
    # Client retries: the same bytes again, possibly to another topic and partition.
    duplicates = [orjson.dumps(e) for e in rng.sample(valid, DUPLICATES)]
    messages = [orjson.dumps(e) for e in valid] + [raw for raw, _ in bad] + duplicates
    rng.shuffle(messages)
    expected_reason = {raw: reason for raw, reason in bad}
    assert len(messages) == TOTAL

    by_topic: dict[str, list] = {t: [] for t in inputs}
    for raw in messages:
        by_topic[rng.choice(inputs)].append((None, raw))  # no key: spread over partitions
    for topic, records in by_topic.items():
        produce(bootstrap, topic, records)

    # Every valid message, copies included, reaches the KPI engine's topic (batched), on its
    # user key's partition; the engine drops the copies.
    batches = consume_all(bootstrap, names["KPIWATCH_TOPIC_CANONICAL"], 1, idle=5,
                          keep=has_events)
    lines = [(r.partition, orjson.loads(raw)) for r in batches for _, raw in decode_message(r.value)[1]]
    assert len(batches) < len(lines) / 10
    ids = Counter(event["event_id"] for _, event in lines)
    assert set(ids) == {event_id(e) for e in valid}
    assert sum(ids.values()) == len(valid) + DUPLICATES
    assert all(p == partition_of(e["anonymous_id"] or e["user_id"], 4) for p, e in lines)
    now = datetime.now(UTC) + timedelta(minutes=3)
    markers = [(None, orjson.dumps({
        "event_id": f"marker-{i}", "type": "page_view", "timestamp": now.isoformat(),
        "anonymous_id": f"marker-{i}", "url": "https://shop.example/"})) for i in range(32)]
    assert {partition_of(f"marker-{i}", 4) for i in range(32)} == {0, 1, 2, 3}
    produce(bootstrap, inputs[0], markers)

    records = consume_all(bootstrap, names["KPIWATCH_TOPIC_DEAD_LETTER"], MALFORMED)
    # Only ingestion's rejections: the KPI engine adds late events here too (none expected).
    letters = [(r, DeadLetter.from_headers(r.headers)) for r in records]
    assert [letter.reason for _, letter in letters if letter.source_topic not in inputs] == []
    assert len(letters) == MALFORMED
    for record, letter in letters:
        assert letter.reason == expected_reason[record.value], letter
        assert letter.error

    def all_committed():
        committed, ends = committed_and_end_offsets(
            bootstrap, names["KPIWATCH_APP_ID"] + "-ingest", inputs)
        return committed == ends and sum(ends.values()) == TOTAL + len(markers)

    wait_for(all_committed, timeout=30, what="committed offsets to reach the end of the input")

    def counts():
        text = worker.metrics_text()
        return (metric_sum(text, "kpiwatch_invalid_events_total"),
                metric_sum(text, "kpiwatch_duplicate_events_total", key="event_id"))

    wait_for(lambda: counts() == (MALFORMED, DUPLICATES), timeout=60,
             what="invalid and duplicate counts on /metrics")
    text = worker.metrics_text()
    for reason, count in Counter(expected_reason.values()).items():
        assert metric_sum(text, "kpiwatch_invalid_events_total", reason=reason) == count
