"""Conformance: real messages, as Segment's and Google's documentation shows them, through
`models.parse_message`.

Each case in segment_cases.json / ga4_cases.json cites the page its message comes from and
says in "note" what was adapted (timestamps are always moved to 2026-11-20 11:xx UTC, the
hour before NOW). A case expects one of, or (for batches) a combination of:

- "expect": the canonical events, in order; each is a dict of fields to check. Amounts
  compare as decimals ("25.00" == 25), timestamps as datetimes, "items" as a list of
  {product_id, price, quantity}. Two pseudo fields: "event_id_stable" (GA4 BigQuery rows:
  an id "ga4-bq-..." that is the same when the row is parsed again) and
  "same_event_id_as" (the event id equals the first event id of the named case).
- "ignored": the kinds of `outcome.ignored`, in order ("ignored_fields" optionally checks
  their user_id / anonymous_id);
- "rejected": the rejection reasons, in order.

Whatever a case does not list must be absent: an "expect" case has no rejections and, unless
it lists "ignored", nothing ignored.

Each case's "cite" names the page (and, for repositories, the file and lines) it follows.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from models import ParseLimits, parse_message

pytestmark = pytest.mark.unit

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR_START = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)

AMOUNT_FIELDS = {"price", "revenue", "shipping", "tax", "amount"}
PSEUDO_FIELDS = {"event_id_stable", "same_event_id_as"}
OUTCOME_KEYS = {"expect", "ignored", "rejected"}


def _load(file_name: str) -> list[dict[str, Any]]:
    return json.loads((HERE / file_name).read_text())


SEGMENT_CASES = _load("segment_cases.json")
GA4_CASES = _load("ga4_cases.json")
ALL_CASES = SEGMENT_CASES + GA4_CASES
CASES_BY_NAME = {case["name"]: case for case in ALL_CASES}


def _parse(message: Any):
    return parse_message(orjson.dumps(message), now=NOW, limits=ParseLimits())


def _as_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _as_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _items(event: Any) -> list[dict[str, Any]]:
    return [
        {
            "product_id": item.product_id,
            "price": None if item.price is None else _as_decimal(item.price),
            "quantity": item.quantity,
        }
        for item in event.items
    ]


def _expected_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": item["product_id"],
            "price": None if item.get("price") is None else _as_decimal(item["price"]),
            "quantity": item.get("quantity", 1),
        }
        for item in items
    ]


def _check_field(event: Any, field: str, expected: Any, where: str) -> None:
    if expected is None:
        actual = getattr(event, field, None)
        assert actual is None, f"{where}.{field}: expected None, got {actual!r}"
        return
    assert hasattr(event, field), (
        f"{where}.{field}: the {type(event).__name__} event has no such field "
        f"(expected {expected!r})"
    )
    actual = getattr(event, field)
    if field in AMOUNT_FIELDS:
        assert actual is not None and _as_decimal(actual) == _as_decimal(expected), (
            f"{where}.{field}: expected {expected!r}, got {actual!r}"
        )
    elif field == "timestamp":
        assert actual == _as_datetime(expected), f"{where}.timestamp: expected {expected}, got {actual}"
    elif field == "items":
        assert _items(event) == _expected_items(expected), (
            f"{where}.items: expected {_expected_items(expected)}, got {_items(event)}"
        )
    else:
        # Enum-like values (type, device, channel) compare by their string value.
        value = getattr(actual, "value", actual)
        assert value == expected, f"{where}.{field}: expected {expected!r}, got {value!r}"


def _first_event_id(case_name: str) -> str:
    outcome = _parse(CASES_BY_NAME[case_name]["message"])
    assert outcome.events, f"case {case_name} (referenced by same_event_id_as) yields no event"
    return outcome.events[0].event_id


def _run_case(case: dict[str, Any]) -> None:
    outcome = _parse(case["message"])
    rejections = [(r.reason.value, r.detail) for r in outcome.rejections]
    expected_reasons = case.get("rejected", [])
    assert [reason for reason, _ in rejections] == expected_reasons, (
        f"rejections: expected {expected_reasons}, got {rejections}"
    )
    expected_kinds = case.get("ignored", [])
    assert [ignored.kind for ignored in outcome.ignored] == expected_kinds, (
        f"ignored: expected {expected_kinds}, got {[i.kind for i in outcome.ignored]}"
    )
    for index, fields in enumerate(case.get("ignored_fields", [])):
        for field, expected in fields.items():
            actual = getattr(outcome.ignored[index], field)
            assert actual == expected, f"ignored[{index}].{field}: expected {expected!r}, got {actual!r}"

    expected_events = case.get("expect", [])
    types = [event.type for event in outcome.events]
    assert len(outcome.events) == len(expected_events), (
        f"events: expected {len(expected_events)} "
        f"({[e.get('type') for e in expected_events]}), got {len(outcome.events)} ({types})"
    )
    for index, (event, expected) in enumerate(zip(outcome.events, expected_events, strict=True)):
        where = f"events[{index}]"
        for field, value in expected.items():
            if field not in PSEUDO_FIELDS:
                _check_field(event, field, value, where)
        if expected.get("event_id_stable"):
            assert event.event_id.startswith("ga4-bq-"), (
                f"{where}.event_id: expected 'ga4-bq-...', got {event.event_id!r}"
            )
            again = _parse(case["message"]).events[index].event_id
            assert again == event.event_id, f"{where}.event_id: {event.event_id!r} then {again!r}"
        if "same_event_id_as" in expected:
            other = _first_event_id(expected["same_event_id_as"])
            assert event.event_id == other, (
                f"{where}.event_id: {event.event_id!r}, but {expected['same_event_id_as']} "
                f"gets {other!r}"
            )


@pytest.mark.parametrize("case", SEGMENT_CASES, ids=[case["name"] for case in SEGMENT_CASES])
def test_segment_spec_message(case):
    _run_case(case)


@pytest.mark.parametrize("case", GA4_CASES, ids=[case["name"] for case in GA4_CASES])
def test_ga4_spec_message(case):
    _run_case(case)


def test_case_files_are_well_formed():
    """Every case cites its page, says what was adapted, expects something, and is dated
    in the hour before NOW (so no case fails for being too old or in the future)."""
    names = [case["name"] for case in ALL_CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in ALL_CASES:
        assert {"name", "cite", "note", "message"} <= case.keys(), case["name"]
        assert case["cite"] and case["note"], case["name"]
        assert OUTCOME_KEYS & case.keys(), f"{case['name']}: no expect, ignored or rejected"
        for expected in case.get("expect", []):
            if "same_event_id_as" in expected:
                assert expected["same_event_id_as"] in CASES_BY_NAME, case["name"]
            if "timestamp" in expected:
                assert HOUR_START <= _as_datetime(expected["timestamp"]) < NOW, case["name"]


# --- GA4 Measurement Protocol size limits --------------------------------------------

MP_MAX_EVENTS = 25
"""googleanalytics/ga-dev-tools ValidateEvent/schemas/events.ts: "maxItems": 25."""
MP_MAX_BODY_BYTES = 130_000
"""googleanalytics/ga-dev-tools ValidateEvent/handlers/formatCheckLib.ts: sizeof(payload) >
130000 -> 'Post body must be smaller than 130kBs'."""


def _full_mp_request() -> bytes:
    """25 page_view events (the most a request may hold) whose params pad the body past
    32 kB while staying valid: at most 25 params per event, names of at most 40
    characters, values of at most 100 characters, page_location of at most 1000."""
    base_micros = int(datetime(2026, 11, 20, 11, 30, tzinfo=UTC).timestamp()) * 1_000_000
    events = []
    for index in range(MP_MAX_EVENTS):
        path = f"/catalog/{index:02d}/" + "p" * 900
        params: dict[str, Any] = {
            "page_location": f"https://www.example.com{path}"[:1000],
            "page_referrer": "https://www.example.com/",
            "session_id": "1795176000",
            "engagement_time_msec": 100,
        }
        for extra in range(10):
            params[f"content_group_{extra:02d}"] = f"{index:02d}-{extra:02d}-" + "x" * 94
        events.append({"name": "page_view", "timestamp_micros": base_micros + index, "params": params})
    return orjson.dumps(
        {"client_id": "123456.7654321", "timestamp_micros": base_micros, "events": events}
    )


def test_ga4_mp_request_of_25_events_over_32_kb_is_accepted():
    raw = _full_mp_request()
    assert 32 * 1024 < len(raw) < MP_MAX_BODY_BYTES, len(raw)
    outcome = parse_message(raw, now=NOW, limits=ParseLimits())
    assert [(r.reason.value, r.detail[:120]) for r in outcome.rejections] == []
    assert len(outcome.events) == MP_MAX_EVENTS
    assert {event.type for event in outcome.events} == {"page_view"}
    assert len({event.event_id for event in outcome.events}) == MP_MAX_EVENTS
