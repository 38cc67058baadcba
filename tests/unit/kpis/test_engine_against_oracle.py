"""The KPI engine equals an independent batch recomputation on every settled window: with
out-of-order and late events, across a DST switch, and after a crash at any point; writing
what the engine applied at every event (a checkpoint per batch), and every 150 events (slices
applied in memory over many batches and minutes, cut wherever the checkpoint falls)."""

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest

from models import ParseLimits, parse_message
from simulator import ShopProfile, ShopSimulator
from streams.kpis.engine import PartitionEngine
from streams.kpis.identity import Links, identity_link
from streams.kpis.kpi_settings import KpiSettings
from streams.windows import MINUTE_MS
from tests.kpi_oracle import spec_shape
from tests.kpi_oracle.oracle import recompute
from tests.kpi_oracle.shop import (
    arrival_order,
    as_ingested,
    economics_oracle,
    economics_settings,
    shop_events,
)
from tests.unit.simulator.fixtures import START as SIMULATED_START
from tests.unit.simulator.fixtures import parse_at_event_time

TZ = ZoneInfo("Europe/Berlin")
SETTINGS = KpiSettings(timezone=TZ, allowed_lateness_ms=5 * MINUTE_MS, base_currency="EUR",
                       currency_rates={"USD": Decimal("0.92")}, **economics_settings())


class RecordingTable(dict):
    """A dict that logs every write and deletion (None: a tombstone), as a Faust changelog
    partition would."""

    def __init__(self):
        super().__init__()
        self.log = []

    def __setitem__(self, key, value):
        self.log.append((key, value))
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.log.append((key, None))
        super().__delitem__(key)

    @classmethod
    def restored(cls, log: list, cut: int) -> "RecordingTable":
        """The table a crash leaves: the first ``cut`` changelog records, replayed."""
        table = cls()
        for key, value in log[:cut]:
            if value is None:
                dict.pop(table, key, None)
            else:
                dict.__setitem__(table, key, value)
        return table


class BytesRecordingTable(RecordingTable):
    """A RecordingTable that keeps each value as its JSON bytes, decoded on every read, as the
    worker's table does (streams/changelog_writes.py); the engine reads entities' bytes."""

    def __setitem__(self, key, value):
        super().__setitem__(key, orjson.dumps(value))

    def __getitem__(self, key):
        return orjson.loads(super().__getitem__(key))

    def get(self, key, default=None):
        raw = dict.get(self, key)
        return default if raw is None else orjson.loads(raw)

    def raw(self, key):
        return dict.get(self, key)

    def items(self):
        return [(key, orjson.loads(raw)) for key, raw in dict.items(self)]


TABLES = pytest.mark.parametrize("table_kind", [RecordingTable, BytesRecordingTable],
                                 ids=["dicts", "json-bytes"])

# A checkpoint with every event, or once 150 events wait for one.
CHECKPOINTS = pytest.mark.parametrize("checkpoint_events", [0, 150],
                                      ids=["every-event", "every-150-events"])


def run(arrived, table, checkpoint_events=0, settings=SETTINGS):
    engine = PartitionEngine(table, 0, settings)
    if checkpoint_events:
        engine.checkpoint_every_s = float("inf")
        engine.checkpoint_events = checkpoint_events
    late = 0
    for origin, event in arrived:
        outcome = engine.receive(origin, event)
        late += outcome.late
    engine.checkpoint()  # written up to the last watermark, wherever the last checkpoint fell
    return engine, late


def comparable(table) -> dict:
    """A table's state without what depends on where checkpoints fell: the slice each record
    was last written by, and how each minute's timer bucket is split in parts."""
    out, buckets = {}, {}
    for key, value in table.items():
        if key.startswith("progress"):
            continue
        if key.startswith("timers|"):
            minute = int(key.split("|")[2])
            buckets.setdefault(minute, set()).update(map(tuple, value["entities"]))
        else:
            out[key] = {k: v for k, v in value.items() if k != "applied_slice"}
    return {**out, **{("timers", minute): entities for minute, entities in buckets.items()}}


def settled_aggregates(table) -> dict:
    progress = table["progress|0"]
    limit = progress["settled_through"] + MINUTE_MS
    out = {}
    for key, state in table.items():
        if key.startswith("agg|") and state["size"] != "all" and state["end"] <= limit:
            values = Counter({k: Decimal(v) if isinstance(v, str) else v
                              for k, v in state["values"].items()})
            out[(state["size"], state["start"])] = +values
    return out


def expected(events, late_ids, limit, tz=TZ):
    kept = [e for e in events if e.event_id not in late_ids]
    windows = recompute(kept, tz, rates={"USD": Decimal("0.92")}, **economics_oracle())
    return {key: +values for key, values in windows.items()
            if _end(key, tz) <= limit and +values}


def _end(key, tz):
    size, start = key
    from streams.windows import window_of

    return window_of(size, start, tz).end_ms


@pytest.fixture(scope="module")
def scenario():
    events = shop_events(4000)
    arrived, late_ids = arrival_order(events)
    return events, list(enumerate(as_ingested(arrived))), late_ids


@TABLES
@CHECKPOINTS
def test_every_settled_window_equals_the_batch_recomputation(scenario, checkpoint_events,
                                                              table_kind):
    events, arrived, late_ids = scenario
    table = table_kind()
    _, late = run(arrived, table, checkpoint_events)
    limit = table["progress|0"]["settled_through"] + MINUTE_MS
    assert late == len(late_ids) > 0
    got, want = settled_aggregates(table), expected(events, late_ids, limit)
    assert len(want) > 1000
    compared = {m for values in want.values() for m in values}
    # Acquisition and margin are among those compared, with configured campaigns, a cost
    # that changes during the data, and uncosted orders.
    assert {"new_customers|paid_search|brand", "campaign_revenue|email|black_friday",
            "campaign_sessions|direct|other", "cogs|direct", "uncosted_orders|email",
            "paying_users"} <= compared
    # So are the journey's, with configured surveys and features and others.
    assert {"nps_promoters|post_purchase", "nps_detractors|other", "csat_satisfied|support",
            "csat_score_sum|other", "feature_users|size_guide", "feature_uses|other",
            "referred_signups", "inviting_users", "activations", "referred_customers",
            "time_to_activate_seconds_count", "product_page_seconds", "timed_product_views",
            "active_days_30d"} <= compared
    assert any(m.startswith("demo_requests|") for m in compared)
    assert any(m.startswith("product_comparisons|") for m in compared)
    mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                  if got.get(k) != want.get(k)}
    assert not mismatched, list(mismatched.items())[:3]


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"])
def test_a_business_day_that_splits_an_hour(zone):
    # 05:30, 05:45 and -02:30 off UTC: a business day begins in the middle of a 1-hour
    # window (in Kathmandu, of a 15-minute one too), so a user seen in that hour is new again
    # in its second half, on the next day. Windows of one size nest in those of the next
    # only up to the hour. The events begin 3 hours before a midnight and the day after it
    # settles.
    tz = ZoneInfo(zone)
    midnight = datetime(2026, 3, 29, tzinfo=tz)
    events = shop_events(4000, start=(midnight - timedelta(hours=3)).astimezone(UTC))
    arrived, late_ids = arrival_order(events)
    table = RecordingTable()
    settings = KpiSettings(timezone=tz, allowed_lateness_ms=5 * MINUTE_MS, base_currency="EUR",
                           currency_rates={"USD": Decimal("0.92")}, **economics_settings())
    run(list(enumerate(as_ingested(arrived))), table, 150, settings)
    limit = table["progress|0"]["settled_through"] + MINUTE_MS
    got, want = settled_aggregates(table), expected(events, late_ids, limit, tz)
    assert ("1d", int(midnight.timestamp() * 1000)) in want
    mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                  if got.get(k) != want.get(k)}
    assert not mismatched, list(mismatched.items())[:3]


@CHECKPOINTS
@TABLES
@pytest.mark.parametrize("crash_at", [0.1, 0.37, 0.5, 0.83, 0.999])
def test_a_crash_at_any_write_then_replay_gives_the_same_state(scenario, crash_at,
                                                               checkpoint_events, table_kind):
    events, arrived, late_ids = scenario
    reference = table_kind()
    run(arrived, reference, checkpoint_events)

    crashed = table_kind()
    run(arrived, crashed, checkpoint_events)
    cut = int(len(crashed.log) * crash_at)
    # What the changelog kept: a prefix of the writes.
    recovered = table_kind.restored(crashed.log, cut)
    # Faust commits only offsets below the oldest unacknowledged event; at the cut, that is
    # at most the first origin whose write had not happened yet. Replaying from an earlier
    # point is at least as hard, so replay from the start of the last settled batch.
    replay_from = _first_unapplied_origin(crashed.log[:cut], arrived)
    run(arrived[replay_from:], recovered, checkpoint_events)
    assert settled_aggregates(recovered) == settled_aggregates(reference)
    assert comparable(recovered) == comparable(reference)
    if not checkpoint_events:  # a checkpoint at every event: they fell at the same points
        assert {k: v for k, v in recovered.items() if not k.startswith("progress")} == \
            {k: v for k, v in reference.items() if not k.startswith("progress")}


def _first_unapplied_origin(log, arrived):
    progress = [orjson.loads(v) if isinstance(v, bytes) else v for k, v in log
                if k == "progress|0"]
    if not progress:
        return 0
    applied_until = progress[-1]["applied_until"]
    for origin, event in arrived:
        if event.timestamp.timestamp() * 1000 >= applied_until:
            return max(0, origin - 50)
    return len(arrived)


def test_events_shaped_as_segment_sends_them_give_the_recomputed_kpis():
    # The same shop, through Segment's shapes (tests/kpi_oracle/spec_shape.py) and the parser:
    # cart_id on cart events only, payment methods on payment steps, totals, v1 names.
    now = datetime(2026, 4, 1, tzinfo=UTC)
    limits = ParseLimits(replay_horizon=timedelta(days=30))
    events = []
    for event in shop_events(4000):
        outcome = parse_message(spec_shape.encode(event), now=now, limits=limits)
        assert not outcome.rejections, outcome.rejections
        [parsed] = outcome.events
        assert (parsed.event_id, parsed.type, parsed.cart_id) == (
            event.event_id, event.type, event.cart_id)
        assert abs(parsed.timestamp - event.timestamp) < timedelta(milliseconds=1)
        events.append(parsed)
        for call in spec_shape.ignored_calls(event):
            ignored = parse_message(orjson.dumps(call), now=now, limits=limits)
            assert (ignored.events, ignored.rejections, len(ignored.ignored)) == ([], [], 1)
    arrived, late_ids = arrival_order(events)
    table = RecordingTable()
    run(list(enumerate(as_ingested(arrived))), table, 150)
    limit = table["progress|0"]["settled_through"] + MINUTE_MS
    got, want = settled_aggregates(table), expected(events, late_ids, limit)
    compared = {m.split("|")[0] for values in want.values() for m in values}
    assert {"ordered_carts", "abandoned_carts", "checkout_seconds_count", "cancelled_orders",
            "revenue_adjustment", "unconverted_orders"} <= compared
    mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                  if got.get(k) != want.get(k)}
    assert not mismatched, list(mismatched.items())[:3]


def test_the_simulators_spec_shape_gives_the_recomputed_kpis():
    # The shop simulator's traffic as real sources send it (python -m simulator --shape spec,
    # every format), parsed and handed to the engine as ingestion does, identity links of
    # events and identify calls included (streams/ingest.py).
    simulator = ShopSimulator(seed=4, message_format="mixed", diurnal=False, shape="spec",
                              profile=replace(ShopProfile(), cart_add_rate=0.5))
    links, identifies, events, ingested = Links(), [], [], []
    for labelled in simulator.labelled(SIMULATED_START, timedelta(minutes=40), 25):
        outcome = parse_at_event_time(labelled)
        assert not outcome.rejections, outcome.rejections
        for event in outcome.events:
            events.append(event)
            ingested.append(event)
            if event.user_id is not None and event.anonymous_id is not None and links.due(
                    event.user_id, event.anonymous_id, int(event.timestamp.timestamp() * 1000)):
                ingested.append(identity_link(event.user_id, event.anonymous_id,
                                              event.timestamp))
        for ignored in outcome.ignored:
            if ignored.kind == "identify" and ignored.user_id and ignored.anonymous_id:
                at = datetime.fromisoformat(ignored.timestamp)
                identifies.append((int(at.timestamp() * 1000), ignored.user_id,
                                   ignored.anonymous_id))
                ingested.append(identity_link(ignored.user_id, ignored.anonymous_id, at))
    table = RecordingTable()
    settings = KpiSettings(timezone=UTC, allowed_lateness_ms=5 * MINUTE_MS)
    run(list(enumerate(ingested)), table, 150, settings)
    limit = table["progress|0"]["settled_through"] + MINUTE_MS
    want = {key: +values
            for key, values in recompute(events, UTC, base="USD", identifies=identifies).items()
            if _end(key, UTC) <= limit and +values}
    compared = {m.split("|")[0] for values in want.values() for m in values}
    assert {"ordered_carts", "abandoned_carts", "orders", "payment_failures"} <= compared
    got = settled_aggregates(table)
    mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                  if got.get(k) != want.get(k)}
    assert not mismatched, list(mismatched.items())[:3]
