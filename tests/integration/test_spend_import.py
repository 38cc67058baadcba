"""Ad spend end to end on the real stack: a Google Ads hourly campaign report and a canonical
spend file imported with ``kpiwatch import-spend`` (twice, then corrected), Segment-shaped
sessions and orders from the campaigns' clicks, and CAC, CPA, ROAS, CTR and gross margin by
channel and campaign in /kpis and in Prometheus' recorded series, equal to a recomputation
from the same rows and events (money exact in decimal, ratios within 1e-9).

Segment carries the campaign in ``context.campaign`` (name, source, medium: the utm tags of
the landing page; https://segment.com/docs/connections/spec/common/#context)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import orjson
import pytest

from tests.integration.services import REPO, produce_many, prometheus_query, wait_for

CAMPAIGNS = '["brand", "generic", "retargeting"]'
COSTS = "product_id,unit_cost,currency,valid_from\nsku-1,7.50,,\nsku-2,21.00,USD,\n"
PRICES = {"sku-1": Decimal("19.90"), "sku-2": Decimal("54.00"), "sku-3": Decimal("9.99")}
COSTED = {"sku-1": Decimal("7.50"), "sku-2": Decimal("21.00")}  # sku-3 has no cost
SOURCES = {"paid_search": ("google", "cpc"), "paid_social": ("facebook", "paid_social")}


def google_report(hour: datetime, brand: str) -> str:
    """A Google Ads campaign report by hour, downloaded as CSV (title lines, Total row)."""
    return (f"Campaign report\n\"{hour:%B %-d, %Y}\"\n"
            "Campaign,Day,Hour of the day,Currency code,Cost,Impr.,Clicks\n"
            f"Brand,{hour:%Y-%m-%d},{hour.hour},USD,\"{brand}\",\"12,400\",620\n"
            f"Generic,{hour:%Y-%m-%d},{hour.hour},USD,10.00,900,31\n"
            f"Total: Campaigns,,,,\"{Decimal(brand.replace(',', '')) + 10}\",\"13,300\",651\n")


def canonical_rows(hour: datetime) -> str:
    end = hour + timedelta(hours=1)
    return ("channel,campaign,start,end,amount,currency,impressions,clicks\n"
            f"paid_social,Retargeting,{hour.isoformat()},{end.isoformat()},20.00,EUR,5000,80\n")


def journeys(hour: datetime, rng: random.Random) -> tuple[list, dict]:
    """Sessions from the campaigns' clicks in ``hour``, some with an order; and what they
    should give (revenue, orders, new customers, cost of goods) per channel and campaign."""
    messages, expected = [], {}
    plan = [("paid_search", "Brand")] * 40 + [("paid_search", "Generic")] * 6 \
        + [("paid_social", "Retargeting")] * 12
    for n, (channel, campaign) in enumerate(plan):
        source, medium = SOURCES[channel]
        t = hour + timedelta(seconds=rng.uniform(30, 2900))
        who = {"anonymousId": f"spend-anon-{n}",
               "context": {"campaign": {"name": campaign, "source": source, "medium": medium}}}

        def at(seconds: int) -> str:
            return (t + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

        messages.append(("clickstream", {"type": "page", "messageId": f"spend-{n}-0",
                                         "timestamp": at(0), "properties": {}} | who))
        if n % 3:
            continue
        lines = [(rng.choice(list(PRICES)), rng.randrange(1, 3)) for _ in range(rng.randrange(1, 3))]
        revenue = sum((PRICES[p] * q for p, q in lines), Decimal(0))
        messages.append(("purchase", {
            "type": "track", "event": "Order Completed", "messageId": f"spend-{n}-1",
            "timestamp": at(60), "userId": f"customer-{n}",
            "properties": {"order_id": f"spend-order-{n}", "revenue": str(revenue),
                           "currency": "USD",
                           "products": [{"product_id": p, "price": str(PRICES[p]), "quantity": q}
                                        for p, q in lines]}} | who))
        key = (channel, campaign.lower())
        got = expected.setdefault(key, {"revenue": Decimal(0), "orders": 0, "cogs": Decimal(0),
                                        "costed": Decimal(0), "uncosted": 0})
        got["revenue"] += revenue
        got["orders"] += 1
        if all(p in COSTED for p, _ in lines):
            got["cogs"] += sum((COSTED[p] * q for p, q in lines), Decimal(0))
            got["costed"] += revenue
        else:
            got["uncosted"] += 1
    return messages, expected


def markers(now: datetime) -> list:
    return [(stream, {"type": "page", "messageId": f"spend-marker-{stream}-{i}",
                      "timestamp": now.isoformat(), "anonymousId": f"marker-{i}",
                      "properties": {}})
            for i in range(64) for stream in ("clickstream", "cart", "purchase")]


def import_spend(env: dict, path) -> str:
    done = subprocess.run([sys.executable, "-m", "kpiwatch", "import-spend", str(path)],
                          env={**os.environ, **env}, cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_imported_spend_gives_exact_cac_and_roas_by_channel_and_campaign(
        worker_factory, stack_settings, prometheus, tmp_path):
    now = datetime.now(UTC)
    if now.minute >= 57:  # the hour judged must stay the last settled one during the test
        time.sleep((60 - now.minute) * 60 - now.second + 5)
        now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    costs = tmp_path / "costs.csv"
    costs.write_text(COSTS)
    env = {"KPIWATCH_CAMPAIGNS": CAMPAIGNS, "KPIWATCH_CURRENCY_RATES": '{"EUR": "1.08"}',
           "KPIWATCH_PRODUCT_COSTS_FILE": str(costs), "KPIWATCH_ALLOWED_LATENESS": "0s"}
    worker = worker_factory(**env)
    env = {**worker.env}
    report, rows = tmp_path / "google.csv", tmp_path / "rows.csv"
    report.write_text(google_report(hour, "1,234.56"))
    rows.write_text(canonical_rows(hour))
    for path in (report, report, rows):  # the report twice: its rows replace themselves
        import_spend(env, path)

    messages, expected = journeys(hour, random.Random(11))
    names = worker_factory.names
    topics = {"clickstream": names["KPIWATCH_TOPIC_CLICKSTREAM"],
              "cart": names["KPIWATCH_TOPIC_CART"], "purchase": names["KPIWATCH_TOPIC_PURCHASE"]}
    produce_many(stack_settings.kafka_bootstrap_servers,
                 ((topics[stream], m["anonymousId"].encode(), orjson.dumps(m))
                  for stream, m in messages + markers(now)))

    seen = {}

    def hour_window(brand: str) -> dict | None:
        document = seen["kpis"] = httpx.get(f"{worker.url}/kpis", timeout=10).json()
        for window in document["windows"]["1h"]:
            if window["start"] == hour.isoformat().replace("+00:00", "Z") and window["settled"] \
                    and Decimal(window["values"].get("ad_spend|paid_search|brand", -1)) \
                    == Decimal(brand):
                return window
        return None

    try:
        window = wait_for(lambda: hour_window("1234.56"), timeout=120,
                          what="the hour with its spend")
    except AssertionError:
        document = seen.get("kpis") or {}
        hours = [(w["start"], w["settled"], w["values"]) for w in document["windows"]["1h"]]
        raise AssertionError(f"the hour {hour} never showed its spend: ledger "
                             f"{document.get('ad_spend')}, 1h windows {hours}\n"
                             f"{worker.log_tail(40)}") from None
    values = window["values"]
    assert values["ad_spend|paid_search|generic"] == "10"
    assert values["ad_spend|paid_social|retargeting"] == "21.6"  # 20.00 EUR at 1.08
    assert values["ad_clicks|paid_search|brand"] == 620
    assert values["ad_impressions|paid_search|brand"] == 12400

    spend = {("paid_search", "brand"): Decimal("1234.56"), ("paid_search", "generic"): Decimal("10"),
             ("paid_social", "retargeting"): Decimal("21.6")}
    for (channel, campaign), want in expected.items():
        got = window["by_campaign"][f"{channel}|{campaign}"]
        assert got["roas"] == pytest.approx(float(want["revenue"] / spend[(channel, campaign)]),
                                            rel=1e-9)
        # Every order is its customer's first: CAC = CPA.
        assert got["cac"] == pytest.approx(float(spend[(channel, campaign)] / want["orders"]),
                                           rel=1e-9)
        assert Decimal(values[f"campaign_revenue|{channel}|{campaign}"]) == want["revenue"]
    search = [w for (ch, _), w in expected.items() if ch == "paid_search"]
    costed = sum((w["costed"] for w in search), Decimal(0))
    cogs = sum((w["cogs"] for w in search), Decimal(0))
    assert Decimal(values["cogs|paid_search"]) == cogs
    assert values.get("uncosted_orders|paid_search", 0) == sum(w["uncosted"] for w in search)
    shop = window["kpis"]
    assert shop["ad_spend"] == pytest.approx(float(sum(spend.values())), rel=1e-12)
    assert shop["ctr"] == pytest.approx((620 + 31 + 80) / (12400 + 900 + 5000), rel=1e-9)

    # The same in Prometheus' recorded series (the last settled hour is this one).
    search_revenue = sum((w["revenue"] for w in search), Decimal(0))
    promql = 'channel_window:kpiwatch_roas:ratio{channel="paid_search", window="1h", ' \
             'window_state="settled"}'

    def recorded() -> float | None:
        result = prometheus_query(prometheus, promql)
        return float(result[0]["value"][1]) if result else None

    want_roas = float(search_revenue / (Decimal("1234.56") + 10))
    wait_for(lambda: (value := recorded()) is not None and abs(value - want_roas) < 1e-9 * want_roas,
             timeout=90, what=f"ROAS {want_roas} in Prometheus")
    margin = prometheus_query(prometheus, 'channel_window:kpiwatch_gross_margin:ratio{channel='
                              '"paid_search", window="1h", window_state="settled"}')
    assert float(margin[0]["value"][1]) == pytest.approx(float((costed - cogs) / costed), rel=1e-9)

    # A corrected export replaces the rows of the same campaign and hour: spend is not added.
    report.write_text(google_report(hour, "1,300.00"))
    import_spend(env, report)
    window = wait_for(lambda: hour_window("1300.00"), timeout=60, what="the corrected spend")
    assert window["values"]["ad_spend|paid_search|generic"] == "10"
