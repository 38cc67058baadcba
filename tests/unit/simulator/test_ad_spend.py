"""Ad spend rows: reproducible, exact in decimal, made of the sessions the run sends, keyed
by spend id, each sent before its span; campaign waste raises spend, not orders."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

import pytest

from models import Channel
from models.spend import parse_spend, spend_id_of
from simulator import AD_SPEND_STREAM, LabelledMessage, LabelledSpend, ShopSimulator, parse_incident
from simulator.ad_spend import PRICING, span_starts
from simulator.sinks.kafka import produce
from simulator.sources import CAMPAIGNS, SOURCES
from tests.unit.simulator.fixtures import START
from tests.unit.simulator.test_kafka_sink import TOPICS, RecordingProducer

pytestmark = pytest.mark.unit

OFF_MINUTE = START + timedelta(seconds=25, milliseconds=500)
"""A run that starts mid-minute: its first spend span starts at the next whole minute."""


@lru_cache(maxsize=8)
def run(
    *incidents: str, minutes: float = 12, span_minutes: int = 1, seed: int = 1
) -> tuple[LabelledMessage | LabelledSpend, ...]:
    simulator = ShopSimulator(
        seed=seed, diurnal=False, incidents=tuple(parse_incident(spec) for spec in incidents)
    )
    return tuple(
        simulator.with_spend(
            OFF_MINUTE, timedelta(minutes=minutes), 60, timedelta(minutes=span_minutes)
        )
    )


def rows(items) -> list[LabelledSpend]:
    return [item for item in items if isinstance(item, LabelledSpend)]


def events(items) -> list[LabelledMessage]:
    return [item for item in items if isinstance(item, LabelledMessage)]


def test_the_same_seed_gives_the_same_rows_and_the_events_are_those_without_spend():
    first = run()
    again = ShopSimulator(seed=1, diurnal=False).with_spend(
        OFF_MINUTE, timedelta(minutes=12), 60, timedelta(minutes=1)
    )
    assert [item.message for item in first] == [item.message for item in again]
    without = ShopSimulator(seed=1, diurnal=False).labelled(OFF_MINUTE, timedelta(minutes=12), 60)
    assert [item.message for item in events(first)] == [item.message for item in without]
    assert len(rows(first)) > 50
    assert [m.message for m in rows(run(seed=2))] != [m.message for m in rows(first)]


def test_rows_are_keyed_by_spend_id_on_the_spend_stream_and_parse_back():
    for item in rows(run()):
        row, message = item.row, item.message
        assert message.stream == AD_SPEND_STREAM == "ad_spend"
        assert message.key == row.spend_id.encode()
        assert parse_spend(message.value) == row
        source = next(
            s
            for s, _ in SOURCES[row.channel]
            if s.utm_campaign == row.campaign and row.spend_id
            == spend_id_of(row.channel, row.campaign, row.start, row.end, account=s.utm_source)
        )
        assert source.channel is row.channel
    ids = [item.row.spend_id for item in rows(run())]
    assert len(ids) == len(set(ids))


def test_each_row_is_sent_at_the_start_of_its_span_before_any_event_of_the_span():
    items = run()
    first_span = span_starts(OFF_MINUTE, timedelta(minutes=1))
    assert first_span == START + timedelta(minutes=1)
    latest_event = None
    for item in items:
        if isinstance(item, LabelledSpend):
            row = item.row
            assert item.message.event_time == row.start
            assert (row.end - row.start) == timedelta(minutes=1)
            assert row.start.second == 0 and row.start >= first_span
            assert latest_event is None or latest_event < row.start
        else:
            latest_event = item.message.event_time
    times = [item.message.event_time for item in items]
    assert times == sorted(times)


def test_clicks_are_the_sessions_of_the_campaign_in_the_span_and_amounts_exact():
    items = run()
    sessions: Counter = Counter()
    for item in events(items):
        for event in item.events:
            if event.opens_session and event.source.utm_campaign is not None:
                minute = event.event_time.replace(second=0, microsecond=0)
                sessions[(minute, event.channel, event.source.utm_campaign,
                          event.source.utm_source)] += 1
    first_span = span_starts(OFF_MINUTE, timedelta(minutes=1))
    sessions = Counter({key: n for key, n in sessions.items() if key[0] >= first_span})
    clicks: Counter = Counter()
    for item in rows(items):
        row = item.row
        source = next(s for s, _ in SOURCES[row.channel] if row.spend_id == spend_id_of(
            row.channel, row.campaign, row.start, row.end, account=s.utm_source))
        clicks[(row.start, row.channel, row.campaign, source.utm_source)] += row.clicks
        pricing = PRICING[row.campaign]
        assert row.amount == row.clicks * pricing.cpc  # exact: Decimal, no incident
        assert row.amount == row.amount.quantize(Decimal("0.01"))
        assert row.currency == "USD"
        assert row.impressions == round(row.clicks / pricing.ctr)
    assert clicks == sessions
    assert {key[1] for key in clicks} >= {Channel.PAID_SEARCH, Channel.PAID_SOCIAL,
                                         Channel.DISPLAY, Channel.AFFILIATE, Channel.EMAIL}


def test_every_campaign_has_a_price_and_spans_are_whole_minutes():
    assert set(PRICING) == set(CAMPAIGNS)
    assert len(CAMPAIGNS) == len(set(CAMPAIGNS)) < 20
    for span in (timedelta(seconds=90), timedelta(seconds=30)):
        with pytest.raises(ValueError, match="whole minutes"):
            list(ShopSimulator().with_spend(START, timedelta(minutes=1), 20, span))
    five = rows(run(span_minutes=5, minutes=16))
    assert {item.row.start.minute % 5 for item in five} == {0}
    assert {item.row.end - item.row.start for item in five} == {timedelta(minutes=5)}


def test_campaign_waste_multiplies_the_cost_of_its_channels_clicks_not_orders():
    waste = "campaign-waste@3m+6m:channel=paid_search,factor=4,extra_clicks=0"
    calm, wasted = run(), run(waste)

    def orders(items):
        return sorted((e.event.event_time, e.event.fields["revenue"]) for e in events(items)
                      if e.event.type == "order_completed")

    assert orders(wasted) == orders(calm)  # no extra clicks: the very same traffic
    incident_start, incident_end = OFF_MINUTE + timedelta(minutes=3), OFF_MINUTE + timedelta(
        minutes=9)

    def spend(items, channel, inside):
        return sum(item.row.amount for item in rows(items) if item.row.channel is channel
                   and (incident_start + timedelta(minutes=1) <= item.row.start
                        < incident_end - timedelta(minutes=1)) == inside)

    assert spend(wasted, Channel.PAID_SEARCH, True) == 4 * spend(calm, Channel.PAID_SEARCH, True)
    assert spend(wasted, Channel.PAID_SEARCH, False) < 2 * spend(calm, Channel.PAID_SEARCH, False)
    for channel in (Channel.PAID_SOCIAL, Channel.DISPLAY, Channel.EMAIL):
        assert spend(wasted, channel, True) == spend(calm, channel, True)


def test_campaign_waste_extra_clicks_are_sessions_that_never_buy():
    waste = "campaign-waste@0+12m:channel=paid_social,campaign=winter_sale,extra_clicks=1"
    calm, wasted = run(), run(waste)

    def sessions(items, campaign):
        return sum(1 for item in events(items) for e in item.events
                   if e.opens_session and e.source.utm_campaign == campaign)

    assert sessions(wasted, "winter_sale") > 1.6 * sessions(calm, "winter_sale")
    assert sessions(wasted, "trail_season") < 1.4 * sessions(calm, "trail_season")
    def bounces(items, campaign):
        by_session: dict[str, list[str]] = {}
        for item in events(items):
            for e in item.events:
                if e.session_id and e.source.utm_campaign == campaign:
                    by_session.setdefault(e.session_id, []).append(e.type)
        return sum(types == ["page_view"] for types in by_session.values())

    extra = sessions(wasted, "winter_sale") - sessions(calm, "winter_sale")
    assert bounces(wasted, "winter_sale") - bounces(calm, "winter_sale") > 0.8 * extra
    winter = [r.row for r in rows(wasted) if r.row.campaign == "winter_sale"]
    calm_winter = [r.row for r in rows(calm) if r.row.campaign == "winter_sale"]
    assert sum(r.amount for r in winter) == 4 * sum(r.clicks for r in winter) * Decimal("0.30")
    assert sum(r.clicks for r in winter) > 1.6 * sum(r.clicks for r in calm_winter)


def test_campaign_waste_spelling():
    incident = parse_incident("campaign-waste@5m+20m")
    assert (incident.channel, incident.campaign, incident.magnitude, incident.extra) == (
        Channel.PAID_SEARCH, None, 4, 0.2)
    one = parse_incident("campaign-waste@0+1m:channel=display,campaign=prospecting,factor=6")
    assert (one.channel, one.campaign, one.magnitude) == (Channel.DISPLAY, "prospecting", 6)
    with pytest.raises(ValueError, match="organic_search buys no ads"):
        parse_incident("campaign-waste@0+1m:channel=organic_search")
    with pytest.raises(ValueError, match="campaign must be all or one of display's"):
        parse_incident("campaign-waste@0+1m:channel=display,campaign=brand_search")


async def test_the_kafka_sink_sends_rows_to_the_spend_topic_keyed_by_spend_id():
    items = run(minutes=3)
    producer = RecordingProducer("kafka:9092")
    topics = {**TOPICS, AD_SPEND_STREAM: "shop-spend"}
    await produce((item.message for item in items), topics, "kafka:9092", speed=0,
                  producer_factory=lambda _: producer)
    spent = [(key, value) for topic, key, value, _ in producer.sent if topic == "shop-spend"]
    assert spent == [(item.row.spend_id.encode(), item.row.encode()) for item in rows(items)]
    assert spent
