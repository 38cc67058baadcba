"""The spend ledger: exact spreading over minutes, replacement by spend id, and how spend joins
partition 0's windows (streams/kpis/spend.py)."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.spend import AdSpend, parse_spend
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.readout import economics, stored_values
from streams.kpis.spend import SpendLedger, SpendView, share
from streams.windows import MINUTE_MS, window_of

DAY = datetime(2026, 12, 1, tzinfo=UTC)
SETTINGS = KpiSettings(campaigns=frozenset({"brand"}), currency_rates={"EUR": Decimal("1.08")})


def row(spend_id="s1", amount="100.00", hours=24, start=DAY, campaign="Brand", **fields):
    return AdSpend(spend_id=spend_id, channel=fields.pop("channel", "paid_search"),
                   campaign=campaign, start=start, end=start + timedelta(hours=hours),
                   amount=Decimal(amount), currency=fields.pop("currency", "USD"), **fields)


@given(st.decimals(min_value=0, max_value=10**7, places=2), st.integers(1, 3000),
       st.lists(st.integers(0, 3000), max_size=6))
def test_the_minutes_of_any_split_sum_to_the_amount(amount, minutes, cuts):
    bounds = sorted({0, minutes, *(c for c in cuts if c < minutes)})
    parts = [share(amount, minutes, a, b - a) for a, b in itertools.pairwise(bounds)]
    assert sum(parts) == amount
    assert all(p >= 0 for p in parts)


def test_counts_spread_in_whole_numbers_with_the_remainder_last():
    assert [share(10, 3, m, 1) for m in range(3)] == [3, 3, 4]


def test_a_window_gets_its_minutes_share_and_the_day_sums_exactly():
    ledger = SpendLedger(SETTINGS)
    ledger.add(row(amount="100.00", impressions=1000, clicks=7))
    start = int(DAY.timestamp() * 1000)
    hours = [ledger.window_values(start + h * 3_600_000, start + (h + 1) * 3_600_000)
             for h in range(24)]
    total = sum(hours, Counter())
    assert total == Counter({"ad_spend|paid_search|brand": Decimal("100.00"),
                             "ad_impressions|paid_search|brand": 1000,
                             "ad_clicks|paid_search|brand": 7})
    # 100 / 1440 minutes, rounded down to 1e-6 each, the remainder on the last minute.
    assert hours[0]["ad_spend|paid_search|brand"] == Decimal("0.069444") * 60


def test_a_row_with_the_same_id_replaces_and_a_tombstone_withdraws():
    ledger = SpendLedger(SETTINGS)
    for _ in range(2):  # imported twice: once
        assert ledger.put("s1", row(amount="50.00").encode()) is None
    assert ledger.lifetime(int((DAY + timedelta(days=2)).timestamp() * 1000)) == Counter({
        "ad_spend|paid_search|brand": Decimal("50.00")})
    ledger.put("s1", row(amount="70.00").encode())  # a corrected export
    assert ledger.rows["s1"].amount == Decimal("70.00")
    ledger.put("s1", None)
    assert not ledger.rows


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "invalid_json"),
    (b"[1]", "not_an_object"),
    (b'{"spend_id": "s1", "channel": "tv"}', "invalid_field"),
])
def test_invalid_rows_are_counted_and_keep_the_earlier_row(raw, reason):
    ledger = SpendLedger(SETTINGS)
    ledger.put("s1", row().encode())
    error = ledger.put("s1", raw)
    assert error is not None and error.reason == reason
    assert ledger.rejected[reason] == 1 and "s1" in ledger.rows


def test_rows_must_be_keyed_by_their_spend_id_and_have_a_rate():
    ledger = SpendLedger(SETTINGS)
    assert ledger.put("other", row().encode()).reason == "key_mismatch"
    assert ledger.put("s2", row("s2", currency="JPY").encode()).reason == "no_currency_rate"
    ledger.put("s3", row("s3", amount="10", currency="EUR").encode())
    assert ledger.rows["s3"].amount == Decimal("10.80")  # in the base currency


def test_spans_must_hold_whole_minutes():
    with pytest.raises(ValueError, match="whole minute"):
        parse_spend(row().model_copy(update={}).encode().replace(b"00:00:00Z", b"00:00:30Z", 1))
    with pytest.raises(ValueError, match="after start"):
        row(hours=0)


def test_spend_joins_partition_0_only_up_to_its_applied_point():
    ledger = SpendLedger(SETTINGS)
    ledger.add(row(amount="144.00", campaign="Summer Sale"))  # 0.1 a minute, campaign other
    start = int(DAY.timestamp() * 1000)
    hour = window_of("1h", start, UTC)
    table = {f"agg|0|1h|{start}": {"values": {"orders|paid_search|card": 2,
                                               "revenue|paid_search|card": "30.00"}},
             f"agg|1|1h|{start}": {"values": {"orders|paid_search|card": 1}},
             "progress|0": {"settled_through": start + 29 * MINUTE_MS,
                            "applied_until": start + 30 * MINUTE_MS + 5_000}}
    view = SpendView(table, ledger)
    values = stored_values(view.get(f"agg|0|1h|{hour.start_ms}"))
    assert values["ad_spend|paid_search|other"] == Decimal("3.0")  # 30 applied minutes
    assert values["orders|paid_search|card"] == 2
    assert "ad_spend|paid_search|other" not in stored_values(view.get(f"agg|1|1h|{start}"))
    lifetime = stored_values(view.get("agg|0|all|0"))
    assert lifetime["ad_spend|paid_search|other"] == Decimal("3.0")
    assert economics(values, ("paid_search",))["roas"] == pytest.approx(10.0)


def test_economics_of_a_window():
    values = Counter({"ad_spend|paid_search|brand": Decimal("200"), "revenue|paid_search|card":
                      Decimal("500"), "orders|paid_search|card": 5, "sessions|paid_search|mobile":
                      100, "new_customers|paid_search|brand": 4, "ad_clicks|paid_search|brand":
                      90, "ad_impressions|paid_search|brand": 3000, "costed_revenue|paid_search":
                      Decimal("400"), "cogs|paid_search": Decimal("240"),
                      "uncosted_orders|paid_search": 1, "users": 80, "paying_users": 5})
    got = economics(values)
    assert got["roas"] == 2.5 and got["cac"] == 50 and got["cpa"] == 40
    assert got["ctr"] == 0.03 and got["cost_per_session"] == 2
    assert got["gross_margin"] == 0.4 and got["uncosted_orders"] == 1
    assert got["revenue_per_user"] == 6.25 and got["revenue_per_paying_user"] == 100
    empty = economics(Counter())
    assert empty["roas"] is None and empty["cac"] is None and empty["gross_margin"] is None


def test_many_rows_over_overlapping_spans_sum_exactly():
    rng = random.Random(4)
    ledger = SpendLedger(SETTINGS)
    expected = Decimal(0)
    for n in range(200):
        amount = Decimal(rng.randrange(1, 10**6)) / 100
        expected += amount
        ledger.add(row(f"s{n}", amount=str(amount), hours=rng.randrange(1, 48),
                       start=DAY + timedelta(minutes=rng.randrange(0, 3000))))
    start = int(DAY.timestamp() * 1000)
    minutes = [ledger.window_values(start + k * 15 * MINUTE_MS, start + (k + 1) * 15 * MINUTE_MS)
               for k in range(4 * 24 * 5)]
    assert sum((m["ad_spend|paid_search|brand"] for m in minutes), Decimal(0)) == expected


def test_a_replaced_row_leaves_the_days_it_covered_before():
    ledger = SpendLedger(SETTINGS)
    ledger.add(row("s1", amount="10.00"))
    ledger.add(row("s1", amount="10.00", start=DAY + timedelta(days=3)))  # moved
    start = int(DAY.timestamp() * 1000)
    assert not ledger.window_values(start, start + 86_400_000)
    assert ledger.window_values(start + 3 * 86_400_000, start + 4 * 86_400_000)[
        "ad_spend|paid_search|brand"] == Decimal("10.00")
    ledger.put("s1", None)
    assert not ledger.by_day
