"""Issue #24, case 4: poison pills mixed into a shop's stream on the real broker.

1 % of the messages are poison: bytes that are not JSON, JSON bombs (arrays nested past the
decoder's depth limit, a huge object of repeated keys just under the size cap), the largest
message the broker accepts (a 10 MB one is refused by the broker itself), deep nesting,
invalid UTF-8, and hostile label values (10 KB strings, newlines, quotes, unicode, Prometheus
label syntax) in otherwise valid events. Every rejected one is in the dead letters with its
reason, the worker never restarts an agent, the KPIs of the valid events (the hostile ones
among them) equal the oracle's, and no hostile value becomes a label: the series stay within
the bounded label values (enums, configured lists, "other").
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from prometheus_client.parser import text_string_to_metric_families

from kpiwatch.kpi_view import fetch_kpis
from kpiwatch.settings import Settings
from models import ParseLimits, RejectReason, encode_canonical, parse_message
from models.channels import Channel
from models.devices import Device
from models.streams import STREAM_OF_TYPE
from streams.dead_letters import MAX_VALUE_BYTES, DeadLetter
from tests.integration import fault_figures
from tests.integration.services import committed_and_end_offsets, consume_all, metric_sum, wait_for
from tests.integration.test_kpis_exact import changelog_state, settled_windows
from tests.kpi_oracle.oracle import recompute
from tests.kpi_oracle.shop import shop_events, watermark_markers

# Messages, poison included: the CI size; benchmarks/fault_suite.py's long variant is 100000.
TOTAL = int(os.environ.get("KPIWATCH_FAULT_POISON_MESSAGES", "10000"))
POISON = TOTAL // 100  # 1 %
# The waits below are sized for the CI size; a longer stream gets them in proportion.
WAITS = max(1.0, TOTAL / 10_000)
UTC_ZONE = ZoneInfo("UTC")
# The largest record value the local broker takes (message.max.bytes, Kafka's default 1 MiB
# + 12 bytes, less the record batch's own bytes): found by producing to it.
LARGEST_ACCEPTED = 1_048_515
TEN_MB = 10 * 1024 * 1024

HOSTILE = ('a",b="c', "x" * 10_000, "line\nbreak", 'quote"\\', "\u00fcn\u00efc\u00f8d\u00e9 \U0001f6d2",
           'paid"} 1\nkpiwatch_orders{channel="evil', "\u202eevil", "\x00nul", "}{,=")


def _deep_object(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a":' * depth + inner + b"}" * depth


def _with(event: dict, raw_field: str, raw_value: bytes) -> bytes:
    """The event's JSON with one more field whose value is given as raw JSON text."""
    return orjson.dumps(event)[:-1] + b',"' + raw_field.encode() + b'":' + raw_value + b"}"


def poison_kinds(now: datetime, at) -> dict[str, tuple]:
    """kind -> (make(n) -> message bytes, the reason it must get, or None: a valid event).
    ``at(n)`` is the event time of the n-th valid one (within the shop's data)."""

    def event(n: int, kind: str = "page_view", **fields) -> dict:
        return {"event_id": f"poison-{kind}-{n}", "type": kind, "timestamp": at(n).isoformat(),
                "anonymous_id": f"hostile-{n}", "session_id": f"hostile-s-{n}", **fields}

    def hostile(n: int) -> str:
        return HOSTILE[n % len(HOSTILE)] + str(n)

    page = "https://shop.example/"
    return {
        # Not JSON at all.
        "binary": (lambda n: b"\x89PNG\r\n\x1a\n\x00\x00%d\xff" % n, "not_json"),
        "empty": (lambda n: b"", "not_json"),
        "text": (lambda n: b"hello %d, not json" % n, "not_json"),
        "truncated": (lambda n: orjson.dumps(event(n))[:-9], "not_json"),
        # JSON bombs: nesting 100,000 deep (past the size cap), 60,000 deep (under it: past
        # the decoder's depth limit), and 20,000 repeated keys just under the size cap.
        "nested_arrays_100k": (lambda n: b"[" * 100_000 + b"%d" % n + b"]" * 100_000, "too_large"),
        "nested_arrays_60k": (lambda n: b"[" * 60_000 + b"%d" % n + b"]" * 60_000, "not_json"),
        "repeated_keys": (lambda n: b'{"n":%d,' % n + b",".join([b'"k":1'] * 20_000) + b"}",
                          "unknown_format"),
        "long_string_object": (lambda n: orjson.dumps({"k": f"{n}" + "x" * 130_000}), "unknown_format"),
        # The largest message the broker takes (a 10 MB one it refuses: see the test).
        "largest_accepted": (lambda n: (b'{"n":%d,"pad":"' % n).ljust(LARGEST_ACCEPTED - 2, b"x")
                             + b'"}', "too_large"),
        # Deep nesting: past the depth limit, just under it, and under it in a required field
        # (the parser's own recursion must not turn them into parser errors).
        "nested_objects_5000": (lambda n: _deep_object(5000, b"%d" % n), "not_json"),
        "nested_objects_1000": (lambda n: _deep_object(1000, b"%d" % n), "unknown_format"),
        "nested_url": (lambda n: _with(event(n), "url", _deep_object(1000)), "wrong_type"),
        # Invalid UTF-8: raw bytes, an overlong encoding and a lone surrogate inside an
        # otherwise valid event, and an escaped lone surrogate.
        "invalid_utf8": (lambda n: b"\xff\xfe\xfa%d" % n, "not_json"),
        "overlong_utf8": (lambda n: orjson.dumps(event(n, url=page)).replace(b"shop.", b"sh\xc0\xafop."),
                          "not_json"),
        "surrogate_bytes": (lambda n: orjson.dumps(event(n, url=page)).replace(b"shop.",
                                                                               b"sh\xed\xa0\x80op."),
                            "not_json"),
        "escaped_surrogate": (lambda n: orjson.dumps(event(n, url=page)).replace(b"shop.",
                                                                                 b"sh\\ud800op."),
                              "not_json"),
        # Hostile values in fields that must never become labels: rejected where the model
        # bounds them (currency codes, ids), accepted as "other" or truncated text elsewhere.
        "hostile_currency": (lambda n: orjson.dumps(event(n, "order_completed", order_id=f"o-h{n}",
                                                          revenue="10", currency=hostile(n))),
                             "unknown_currency"),
        "hostile_cart_id": (lambda n: orjson.dumps(event(n, "cart_add", product_id="p1", price="1",
                                                         quantity=1, currency="EUR",
                                                         cart_id="c" * 10_000)),
                            "invalid_value"),
        "empty_payment_method": (lambda n: orjson.dumps(event(n, "payment_failed",
                                                              payment_method="")),
                                 "invalid_value"),
        "hostile_traffic": (lambda n: orjson.dumps(event(
            n, url=f"{page}?utm_campaign={hostile(n)[:40]}", utm_source=hostile(n),
            utm_medium=hostile(n), utm_campaign=hostile(n), referrer=hostile(n),
            user_agent=hostile(n), device=hostile(n), channel=hostile(n))), None),
        "hostile_payment_method": (lambda n: orjson.dumps(event(
            n, "order_completed", order_id=f"o-h{n}", revenue="12.50", currency="EUR",
            payment_method=hostile(n), utm_source=hostile(n))), None),
        "hostile_checkout_step": (lambda n: orjson.dumps(event(
            n, "checkout_step", step=hostile(n), payment_method=hostile(n))), None),
        "hostile_payment_failed": (lambda n: orjson.dumps(event(
            n, "payment_failed", payment_method=hostile(n))), None),
        # Deep nesting in a field no model reads: a valid event.
        "nested_extra": (lambda n: _with(event(n, url=page), "extra", _deep_object(1000)), None),
    }


def poison_pills(now: datetime, at, count: int) -> list[tuple[str, bytes, str | None]]:
    kinds = poison_kinds(now, at)
    names = sorted(kinds)
    return [(names[n % len(names)], kinds[names[n % len(names)]][0](n),
             kinds[names[n % len(names)]][1]) for n in range(count)]


def _deep_stack(levels: int, call):
    return call() if levels == 0 else _deep_stack(levels - 1, call)


def test_each_poison_kind_gets_its_reason_from_any_stack_depth():
    """The probe the stream test relies on, and a regression test: how a message is judged
    must not depend on how deep the caller's stack is (nesting used to hit the recursion
    limit there, as parser_error)."""
    now = datetime.now(UTC)
    limits = ParseLimits()
    for kind, (make, reason) in poison_kinds(now, lambda n: now).items():
        for levels in (0, 400, 800):
            outcome = _deep_stack(levels, lambda: parse_message(make(1), now=now, limits=limits))
            got = [r.reason.value for r in outcome.rejections]
            assert got == ([reason] if reason else []), (kind, levels, outcome.rejections)
            assert len(outcome.events) == (0 if reason else 1), (kind, levels)


def _produce(bootstrap: str, records, max_request_size: int = 2 << 20) -> int:
    """(topic, key, value) in this order, by one idempotent producer that lets the broker,
    not the client, judge a message's size."""

    async def run() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                    linger_ms=5, max_request_size=max_request_size)
        await producer.start()
        try:
            count = 0
            for topic, key, value in records:
                await producer.send(topic, value, key=key)
                count += 1
            await producer.flush()
            return count
        finally:
            await producer.stop()

    return asyncio.run(run())


def _broker_refuses(bootstrap: str, topic: str, value: bytes) -> bool:
    async def run() -> bool:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 << 20)
        await producer.start()
        try:
            await (await producer.send(topic, value))
        except MessageSizeTooLargeError:
            return True
        finally:
            await producer.stop()
        return False

    return asyncio.run(run())


def _series(text: str) -> list[tuple[str, dict]]:
    return [(sample.name, sample.labels) for family in text_string_to_metric_families(text)
            for sample in family.samples]


# Label values a hostile message might try to reach, and the values each may take.
SETTINGS = Settings()
BOUNDED_LABELS = {
    "channel": {c.value for c in Channel},
    "first_channel": {c.value for c in Channel},
    "device": {d.value for d in Device},
    "payment_method": {*SETTINGS.payment_methods, "other"},
}
PLAIN_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:+\-]{0,64}$")


def test_poison_pills_are_dead_lettered_by_reason_and_kpis_equal_the_oracle(
        worker_factory, stack_settings):
    began = time.monotonic()
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(minutes=100)
    span = timedelta(minutes=40)
    rng = random.Random(24)

    def at(n: int) -> datetime:  # the n-th pill's place in event time: spread over the data
        return start + span * ((n * 7919 % POISON) + 0.5) / POISON

    pills = poison_pills(now, at, POISON)
    # (About the count asked for: journeys running past the span's end are cut there.)
    events = shop_events(TOTAL * 6 // 5, seed=24, span=span, start=start)[:TOTAL - POISON]

    env = {"KPIWATCH_TOPIC_PARTITIONS": "4", "KPIWATCH_ALLOWED_LATENESS": "PT30M",
           "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT10M", "KPIWATCH_BASE_CURRENCY": "EUR"}
    worker = worker_factory(**env)
    pid = worker.process.pid
    names = worker_factory.names
    bootstrap = stack_settings.kafka_bootstrap_servers
    topics = {"clickstream": names["KPIWATCH_TOPIC_CLICKSTREAM"],
              "cart": names["KPIWATCH_TOPIC_CART"], "purchase": names["KPIWATCH_TOPIC_PURCHASE"]}
    inputs = list(topics.values())
    baseline = _series(worker.metrics_text())

    # The broker itself refuses a 10 MB message (the client would have refused it first):
    # it never reaches ingestion.
    assert _broker_refuses(bootstrap, inputs[0], b'{"pad":"' + b"x" * TEN_MB + b'"}')

    # The poison goes in among the shop's events, on any input topic and partition. Everything
    # arrives within a minute of its event time (the pills at their place in it): none is late.
    arriving = [(e.timestamp, (topics[STREAM_OF_TYPE[e.type]], e.user_key.encode(),
                               encode_canonical(e))) for e in events]
    arriving += [(at(n), (rng.choice(inputs), None, raw)) for n, (_, raw, _) in enumerate(pills)]
    arriving = [(moment + timedelta(seconds=rng.uniform(0, 60)), n, message)
                for n, (moment, message) in enumerate(arriving)]
    messages = [message for *_, message in sorted(arriving)]
    assert len(messages) == TOTAL
    markers = watermark_markers(now)
    _produce(bootstrap, messages)
    _produce(bootstrap, ((topics[STREAM_OF_TYPE[m.type]], m.user_key.encode(),
                          encode_canonical(m)) for m in markers))

    # Every rejected pill is in the dead letters, with the reason its kind gets, once.
    rejected = [(kind, raw, reason) for kind, raw, reason in pills if reason]
    # A dead letter holds the rejected bytes as they came, or the first MAX_VALUE_BYTES of
    # those too long for a record with headers (the largest the broker takes): said in a header.
    kind_of = {raw[:MAX_VALUE_BYTES]: kind for kind, raw, _ in rejected}  # ("empty" repeats)
    length_of = {raw[:MAX_VALUE_BYTES]: len(raw) for _, raw, _ in rejected}
    records = consume_all(bootstrap, names["KPIWATCH_TOPIC_DEAD_LETTER"], len(rejected),
                          timeout=90 * WAITS)
    letters = [(r, DeadLetter.from_headers(r.headers)) for r in records]
    assert all(letter.source_topic in inputs for _, letter in letters)
    for record, letter in letters:
        cut = length_of.get(record.value, 0) > MAX_VALUE_BYTES
        assert letter.truncated_from == (length_of[record.value] if cut else None), letter
        assert not cut or kind_of[record.value] == "largest_accepted"
    got = Counter((kind_of.get(r.value, "?"), letter.reason) for r, letter in letters)
    want = Counter((kind, reason) for kind, _, reason in rejected)
    assert got == want
    assert all(letter.error for _, letter in letters)
    assert RejectReason.PARSER_ERROR.value not in {letter.reason for _, letter in letters}
    letters_figures = dict(events=TOTAL - POISON, messages=TOTAL, pills=POISON,
                           dead_letters=len(letters),
                           reasons=len({letter.reason for _, letter in letters}))
    fault_figures.record(4, "poison pills", **letters_figures)  # again below, with the KPIs'

    def all_committed():
        committed, ends = committed_and_end_offsets(bootstrap, names["KPIWATCH_APP_ID"] + "-ingest",
                                                    inputs)
        return committed == ends and sum(ends.values()) == TOTAL + len(markers)

    wait_for(all_committed, timeout=60 * WAITS,
             what="committed offsets to reach the end of the input")

    # The KPIs of the valid events, the hostile ones among them, equal the oracle's.
    app_id = names["KPIWATCH_APP_ID"]
    accepted = [e for kind, raw, reason in pills if reason is None
                for e in parse_message(raw, now=now, limits=ParseLimits()).events]
    assert len(accepted) == sum(1 for *_, reason in pills if reason is None)
    data_end = int(max(e.timestamp for e in events + accepted).timestamp() * 1000)

    def settled_past_data():
        state = changelog_state(bootstrap, app_id)
        progress = [v["settled_through"] for k, v in state.items() if k.startswith("progress|")]
        return len(progress) == 4 and min(progress) >= data_end

    wait_for(settled_past_data, timeout=150 * WAITS, interval=3,
             what="every partition to settle the data")
    got_windows, limit = settled_windows(changelog_state(bootstrap, app_id))
    parsed = [parse_message(encode_canonical(e), now=now, limits=ParseLimits()).events[0]
              for e in events]
    oracle = {k: +v for k, v in recompute(parsed + accepted + markers, UTC_ZONE, partitions=4).items() if +v}
    want_windows = {k: v for k, v in oracle.items() if _end(k) <= limit}
    assert len(want_windows) >= 50
    mismatched = {k: (got_windows.get(k), want_windows.get(k))
                  for k in set(got_windows) | set(want_windows)
                  if got_windows.get(k) != want_windows.get(k)}
    assert not mismatched, f"{len(mismatched)} settled windows differ; first: " + "; ".join(
        f"{k}: {_difference(*v)}" for k, v in sorted(mismatched.items())[:3])
    # ... and as the worker's /kpis shows them: its settled windows are the oracle's.
    shown = fetch_kpis(worker.url)
    settled_shown = [(size, w) for size, ws in shown["windows"].items() for w in ws if w["settled"]]
    assert settled_shown
    for size, window in settled_shown:
        key = (size, int(datetime.fromisoformat(window["start"]).timestamp() * 1000))
        values = +Counter({k: Decimal(v) if isinstance(v, str) else v
                           for k, v in window["values"].items()})
        assert values == oracle.get(key, Counter()), (key, _difference(values, oracle.get(key)))

    text = worker.metrics_text()
    for reason, count in Counter(reason for *_, reason in rejected).items():
        assert metric_sum(text, "kpiwatch_invalid_events_total", reason=reason) == count
    assert metric_sum(text, "kpiwatch_invalid_events_total") == len(rejected)

    # No hostile value became a label: every label value is a plain, short word, the bounded
    # labels take their enumerated values only, and no series was added for hostile input.
    after = _series(text)
    for name, labels in after:
        for label, value in labels.items():
            assert PLAIN_LABEL_VALUE.match(value), (name, label, value[:80])
            assert value in BOUNDED_LABELS.get(label, {value}), (name, label, value)
    bound = _series_bound(after)
    assert len(after) <= bound, (len(after), bound)
    assert len(baseline) <= len(after)

    # Not one agent restarted, nothing crashed: the same process, no traceback in its log.
    assert worker.process.poll() is None and worker.process.pid == pid
    log = worker.log_path.read_text(errors="replace")
    for sign in ("Traceback", "Crashed", "crashed", "Restarting", "restarting"):
        assert sign not in log, worker.log_tail(60)
    fault_figures.record(
        4, "poison pills", **letters_figures, valid_pills=len(accepted),
        settled_windows=len(want_windows), series=len(after), series_bound=bound,
        agent_restarts=0, runtime_s=round(time.monotonic() - began))


def _series_bound(series: list[tuple[str, dict]]) -> int:
    """The most series the metrics could have: per metric name, the product over its labels
    of the values a label may take (the bounded labels' sets; for the others, the values
    seen, which the assertions above keep plain)."""
    values: dict[tuple[str, str], set] = {}
    label_names: dict[str, set] = {}
    for name, labels in series:
        label_names.setdefault(name, set()).update(labels)
        for label, value in labels.items():
            values.setdefault((name, label), set()).add(value)
    bound = 0
    for name, labels in label_names.items():
        product = 1
        for label in labels:
            product *= len(BOUNDED_LABELS.get(label, values[(name, label)]))
        bound += product
    return bound


def _end(key: tuple[str, int]) -> int:
    from streams.windows import window_of

    return window_of(key[0], key[1], UTC_ZONE).end_ms


def _difference(got: Counter | None, want: Counter | None) -> dict:
    got, want = got or Counter(), want or Counter()
    return {m: (got.get(m), want.get(m)) for m in sorted(set(got) | set(want))
            if got.get(m) != want.get(m)}
