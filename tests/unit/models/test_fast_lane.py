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
