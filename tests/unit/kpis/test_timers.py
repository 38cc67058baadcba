"""Event-time timers (cart and checkout abandonment, session end, expiry): the tie rule, firing
in a minute without events, exactly once across a crash at any write, and bounded state over
a long stream."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import KpiSettings
from streams.windows import MINUTE_MS
from tests.kpi_oracle.shop import event
from tests.unit.kpis.test_engine_against_oracle import RecordingTable

SETTINGS = KpiSettings(allowed_lateness_ms=MINUTE_MS, base_currency="EUR")
T0 = datetime(2026, 5, 4, 10, 0, 7, tzinfo=UTC)
ABANDON = timedelta(minutes=30)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def feed(events, table=None, settings=SETTINGS):
    table = RecordingTable() if table is None else table
    engine = PartitionEngine(table, 0, settings)
    for origin, e in enumerate(events):
        engine.receive(origin, e, wall_s=0)
    return table


def totals(table, size="1m") -> dict[int, Counter]:
    return {state["start"]: Counter(state["values"]) for key, state in table.items()
            if key.startswith(f"agg|0|{size}|")}


def cart_add(n, ts, cart="c1", **extra):
    return event("cart_add", n, ts, "u1", cart_id=cart, product_id="p1", price="10.00",
                 currency="EUR", **extra)


def later_traffic(n, ts):
    # Another user's page view: moves the watermark on, touches nothing of u1.
    return event("page_view", n, ts, "u2")


@pytest.mark.parametrize("gap, abandoned", [(ABANDON, False),
                                             (ABANDON + timedelta(milliseconds=1), True)])
def test_activity_exactly_abandon_after_later_keeps_the_cart(gap, abandoned):
    table = feed([cart_add(1, T0), cart_add(2, T0 + gap),
                  later_traffic(3, T0 + timedelta(hours=3))])
    windows = totals(table)
    due = ms(T0 + ABANDON)
    minute = due - due % MINUTE_MS
    assert windows.get(minute, Counter())["abandoned_carts|other"] == (1 if abandoned else 0)
    assert sum(w["abandoned_carts|other"] for w in windows.values()) == 1
    # Its value when abandoned: one item at the first deadline, two at the second.
    value = windows[minute if abandoned else minute + 30 * MINUTE_MS]["abandoned_cart_value|other"]
    assert Decimal(value) == Decimal("10.00" if abandoned else "20.00")


def test_a_deadline_fires_in_a_minute_without_events_once_the_watermark_passes():
    table = feed([cart_add(1, T0), event("checkout_started", 2, T0, "u1", cart_id="c1")])
    assert not any("abandoned" in m for w in totals(table).values() for m in w)
    table = feed([cart_add(1, T0), event("checkout_started", 2, T0, "u1", cart_id="c1"),
                  later_traffic(3, T0 + timedelta(hours=2))])
    due = ms(T0 + ABANDON)
    fired = totals(table)[due - due % MINUTE_MS]
    assert fired["abandoned_carts|other"] == 1 and fired["checkout_abandonments|none"] == 1
    assert table["cart|0|c1"]["status"] == "abandoned"  # kept for cart_recovery


def test_recovered_cart_counts_at_its_order_and_the_abandonment_stays():
    order_at = T0 + timedelta(minutes=50)
    table = feed([cart_add(1, T0),
                  event("order_completed", 2, order_at, "u1", cart_id="c1", order_id="o1",
                        revenue="20.00", currency="EUR"),
                  later_traffic(3, T0 + timedelta(hours=3))])
    hour = totals(table, "1h")[ms(T0.replace(minute=0, second=0))]
    assert hour["abandoned_carts|other"] == 1 and hour["recovered_carts|other"] == 1
    assert hour["ordered_carts|other"] == 0
    assert not any(k.startswith("cart|") for k in table)  # closed by its order, then swept


def test_session_duration_is_observed_when_the_session_ends():
    table = feed([event("page_view", 1, T0, "u1"),
                  event("page_view", 2, T0 + timedelta(seconds=95), "u1"),
                  later_traffic(3, T0 + timedelta(hours=3))])
    ended = ms(T0 + timedelta(seconds=95) + timedelta(minutes=30))
    values = totals(table)[ended - ended % MINUTE_MS]
    assert values["session_seconds_count"] == 1 and Decimal(values["session_seconds_sum"]) == 95
    assert values["session_seconds_bucket|180"] == 1 and "session_seconds_bucket|60" not in values
    assert not any(k.startswith("session|0|2:u1") for k in table)


def _small_stream():
    events, n = [], 0
    for i in range(12):
        t = T0 + timedelta(minutes=7 * i)
        user, cart = f"u{i % 4}", f"c{i % 5}"
        for kind, extra in (("page_view", {}),
                            ("cart_add", {"product_id": "p", "price": "3.50", "currency": "EUR"}),
                            ("checkout_started", {}), ("checkout_step", {"step": "payment"})):
            events.append(event(kind, n, t, user, cart_id=cart, **extra))
            n, t = n + 1, t + timedelta(seconds=20)
        if i % 3 == 0:
            events.append(event("order_completed", n, t + timedelta(minutes=40 * (i % 2)), user,
                                cart_id=cart, order_id=f"o{i}", revenue="3.50", currency="EUR"))
            n += 1
    events.sort(key=lambda e: (e.timestamp, e.event_id))
    events.append(later_traffic(n, T0 + timedelta(hours=5)))
    return events


def test_every_deadline_fires_exactly_once_after_a_crash_at_any_write():
    events = _small_stream()
    reference = feed(events)
    assert sum(w["abandoned_carts|other"] for w in totals(reference).values()) > 0
    for cut in range(len(reference.log) + 1):
        recovered = RecordingTable.restored(reference.log, cut)
        # Nothing acknowledged past the crash: everything comes again (at least once).
        feed(events, recovered)
        assert {k: v for k, v in recovered.items() if not k.startswith("progress")} == \
            {k: v for k, v in reference.items() if not k.startswith("progress")}, cut


def test_state_stays_bounded_over_a_long_stream():
    """A hundred days of a shop whose visitors mostly never return: the sessions, carts and
    users of the past expire, so the entity count levels off instead of growing."""
    table, engine, n = RecordingTable(), None, 0
    engine = PartitionEngine(table, 0, SETTINGS)
    sizes = []
    for day in range(100):
        for visitor in range(40):
            t = T0 + timedelta(days=day, minutes=30 * visitor)
            user = f"d{day}v{visitor}" if visitor % 10 else f"regular{visitor}"
            for kind, extra in (("page_view", {}), ("cart_add", {"product_id": "p"}),
                                ("checkout_started", {})):
                engine.receive(n, event(kind, n, t, user, cart_id=f"c{n}" if visitor % 2 else None,
                                        session_id=f"s{day}-{visitor}" if visitor % 3 else None,
                                        **extra), wall_s=0)
                n, t = n + 1, t + timedelta(seconds=30)
        kinds = Counter(key.split("|")[0] for key in table if not key.startswith("agg|"))
        sizes.append(kinds)
    # Users live 61 days, abandoned carts 7 days, sessions 30 minutes.
    assert sizes[-1]["session"] <= 40
    assert sizes[-1]["user"] <= 62 * 40
    assert sizes[-1]["cart"] <= 8 * 40
    for kind in ("user", "cart", "timers"):
        assert sizes[-1][kind] <= sizes[70][kind] * 1.05, (kind, sizes[70], sizes[-1])
