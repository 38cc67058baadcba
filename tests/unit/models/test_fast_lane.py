"""The fast lane is an optimisation only: whenever it accepts a message, the careful
lane accepts it too and builds byte-for-byte the same events."""

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import ParseLimits, encode_canonical
from models.fast_lane import parse_fast
from models.parse import parse_carefully
from tests.unit.models.factories import NOW, fixture_lines
from tests.unit.models.test_ga4 import MID_SESSION_PURCHASE, TEN_TO_NOON_MICROS
from tests.unit.models.test_roundtrip import (
    FIXTURE_MESSAGES,
    canonical_events,
    json_values,
    replace_at,
)

pytestmark = pytest.mark.unit

LIMITS = ParseLimits()

TRICKY_VALUES = [
    None,
    "",
    " ",
    "0",
    "1",
    "-1",
    "1.10",
    "1_000",
    " 1.5",
    "1e3",
    "NaN",
    "Infinity",
    "0x10",
    "١٢",
    0,
    1,
    -1,
    2.5,
    1e16,
    10_000,
    10_001,
    10**9,
    10**9 + 1,
    True,
    "EUR",
    "eur",
    " EUR",
    "Credit Card",
    " PayPal ",
    "ǅ",
    "İstanbul",
    "\x1cx\x1c",
    "\u00a0card\u00a0",
    "2026-11-20T11:00:00Z",
    "2026-11-20T11:00:00.1234567Z",
    "2026-11-20 11:00:00Z",
    "2026-11-20T11:00:00+14:00",
    "2026-11-20T11:00:00-00:00",
    "2026-11-20T11:00:00",
    "2026-11-20",
    "x" * 300,
    "https://www.google.com/",
    "android-app://com.google.android.gm",
    "https://shop.example.com/?utm_source=fb",
    [],
    {},
    [{}],
    [{"product_id": "p"}],
    {"category": "mobile"},
    1_763_636_400_000_000,
    "1763636400000000",
]


def assert_lanes_agree(raw: bytes) -> bool:
    """Whether the fast lane took the message; fails if it took it differently."""
    fast = parse_fast(raw, NOW, LIMITS)
    if fast is None:
        return False
    careful = parse_carefully(raw, NOW, LIMITS)
    assert careful.rejections == []
    assert [encode_canonical(event) for event in fast] == [
        encode_canonical(event) for event in careful.events
    ]
    assert fast == careful.events
    return True


@pytest.mark.parametrize("name", ["segment.jsonl", "ga4.jsonl", "canonical.jsonl"])
def test_the_fast_lane_takes_every_fixture_message_and_agrees(name: str) -> None:
    for line in fixture_lines(name):
        assert assert_lanes_agree(line), line


def test_lanes_agree_on_a_whole_number_in_a_double_value() -> None:
    # Found by the property test below: the fast lane made {"double_value": 0} revenue "0.0".
    message = {"event_timestamp": "1795174260000000", "event_name": "purchase",
               "user_pseudo_id": "1456789012.1762000000",
               "event_params": [{"key": "transaction_id", "value": {"string_value": "T-1"}},
                                {"key": "currency", "value": {"string_value": "USD"}},
                                {"key": "value", "value": {"double_value": 0}}]}
    assert assert_lanes_agree(orjson.dumps(message))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        replace_at,
        st.sampled_from(FIXTURE_MESSAGES),
        st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=5),
        st.sampled_from(TRICKY_VALUES) | json_values,
    )
)
def test_lanes_agree_on_real_messages_with_one_field_changed(message: Any) -> None:
    assert_lanes_agree(orjson.dumps(message))


@settings(max_examples=300, deadline=None)
@given(canonical_events)
def test_lanes_agree_on_generated_canonical_events(message: dict[str, Any]) -> None:
    assert_lanes_agree(orjson.dumps(message))


# GA4: the export's and the Measurement Protocol's fields that pick ids, tags and types.
_GA4_NAMES = (
    "page_view", "view_item", "add_to_cart", "add_shipping_info", "add_payment_info",
    "purchase", "refund", "payment_failed", "session_start", "login", "my_custom_event",
)
_TAGS = st.none() | st.sampled_from(["", "google", "cpc", "(direct)", "(none)", "email", "bf"])
_INT64 = st.integers(0, 2**40) | st.integers(0, 2**40).map(str) | st.sampled_from(
    [None, "", "12a", "²", -1, str(2**70), True, 1.5]
)
_last_click_campaigns = st.none() | st.fixed_dictionaries(
    {},
    optional={"source": _TAGS, "medium": _TAGS, "campaign_name": _TAGS, "campaign_id": _TAGS},
)
_ga4_params = st.fixed_dictionaries(
    {},
    optional={
        "transaction_id": st.sampled_from(["T-1", "T-2", "", None]),
        "value": st.sampled_from([None, 0, 10, 19.99, "5.5", -1]),
        "currency": st.sampled_from([None, "EUR", "eur", "XXX"]),
        "payment_type": st.sampled_from([None, "Credit Card", " PayPal ", "", "\u00a0card"]),
        "page_location": st.sampled_from(
            [None, "https://shop.example.com/?utm_source=fb&utm_medium=cpc", "https://x.example/"]
        ),
        "page_referrer": st.sampled_from([None, "https://www.bing.com/", "https://x.example/a"]),
        "items": st.sampled_from([None, [], [{"item_id": "sku-1", "price": 9.5, "quantity": 2}]]),
        "event_id": st.sampled_from([None, "e-1"]),
    },
)


def _bigquery_params(params: dict[str, Any]) -> list[dict[str, Any]]:
    def value(param: Any) -> dict[str, Any]:
        if isinstance(param, str):
            return {"string_value": param}
        if isinstance(param, float):
            return {"double_value": param}
        return {"int_value": param}

    return [
        {"key": key, "value": value(param)}
        for key, param in params.items()
        if key != "items" and not isinstance(param, list)
    ]


ga4_export_rows = st.builds(
    lambda base, params, as_list, extra: base
    | {"event_params": _bigquery_params(params) if as_list else params, "items": params.get("items")}
    | extra,
    st.fixed_dictionaries(
        {
            "event_name": st.sampled_from(_GA4_NAMES),
            "event_timestamp": st.sampled_from([TEN_TO_NOON_MICROS, str(TEN_TO_NOON_MICROS)]),
            "user_pseudo_id": st.sampled_from(["1456789012.1762000000", "p.2"]),
        }
    ),
    _ga4_params,
    st.booleans(),
    st.fixed_dictionaries(
        {},
        optional={
            "event_bundle_sequence_id": _INT64,
            "batch_event_index": _INT64,
            "collected_traffic_source": st.none()
            | st.fixed_dictionaries(
                {},
                optional={"manual_source": _TAGS, "manual_medium": _TAGS, "manual_campaign_name": _TAGS},
            ),
            "session_traffic_source_last_click": st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "manual_campaign": _last_click_campaigns,
                    "cross_channel_campaign": _last_click_campaigns,
                },
            ),
            "traffic_source": st.just({"source": "google", "medium": "organic", "name": "x"}),
            "ecommerce": st.sampled_from([None, {"transaction_id": "T-3", "refund_value": 4}]),
        },
    ),
)
ga4_batches = st.builds(
    lambda names, params: {
        "client_id": "1234567890.1763630000",
        "timestamp_micros": TEN_TO_NOON_MICROS,
        "events": [{"name": name, "params": params} for name in names],
    },
    st.lists(st.sampled_from(_GA4_NAMES), min_size=1, max_size=4),
    _ga4_params,
)


@settings(max_examples=500, deadline=None)
@given(ga4_export_rows | ga4_batches)
def test_lanes_agree_on_generated_ga4_messages(message: dict[str, Any]) -> None:
    assert_lanes_agree(orjson.dumps(message))


@pytest.mark.parametrize(
    "message",
    [
        MID_SESSION_PURCHASE,
        MID_SESSION_PURCHASE | {"event_bundle_sequence_id": 1794, "batch_event_index": None},
        MID_SESSION_PURCHASE | {"collected_traffic_source": {"manual_source": "fb"}},
        MID_SESSION_PURCHASE
        | {"session_traffic_source_last_click": {"cross_channel_campaign": {"source": "google"}}},
        {
            "client_id": "c.1",
            "timestamp_micros": TEN_TO_NOON_MICROS,
            "events": [
                {"name": "add_payment_info", "params": {"payment_type": "Credit Card"}},
                {"name": "refund", "params": {"transaction_id": "T-1"}},
                {"name": "purchase", "params": {"transaction_id": "T-2", "value": 5}},
            ],
        },
    ],
)
def test_the_fast_lane_takes_the_new_ga4_fields_and_agrees(message: dict[str, Any]) -> None:
    assert assert_lanes_agree(orjson.dumps(message))


def test_the_fast_lane_leaves_ignored_ga4_events_to_the_careful_lane() -> None:
    batch = {"client_id": "c.1", "events": [{"name": "page_view"}, {"name": "session_start"}]}

    assert parse_fast(orjson.dumps(batch), NOW, LIMITS) is None
    assert parse_fast(orjson.dumps(MID_SESSION_PURCHASE | {"event_name": "scroll"}), NOW, LIMITS) is None
