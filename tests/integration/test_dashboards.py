"""Every dashboard panel's query returns data from the real Prometheus, loaded with the generated
recording and alert rules and scraping a live worker fed by the simulator.

One and a half to two and a half hours of backdated traffic are sent as fast as possible, so
settled windows of every size exist within a minute or two instead of an hour; the business
time zone is chosen so that a business day ended inside that traffic (the settled-day panels:
DAU, WAU, MAU, stickiness). Hourly ad spend rows cover the same hours on the paid channels'
campaigns (the spend topic, as ``kpiwatch import-spend`` writes it), and a cost file costs most
of the simulator's products, so the economics panels have spend, campaigns, new customers,
costed and uncosted orders. The simulator's journey events (invitations and referred signups,
feature uses, NPS and CSAT answers, comparisons, demo requests) are reported under its feature
and survey names, and the activation window is half an hour, so the activation cohort of the
traffic's first signups settles within it.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import json
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from alerts.rules import load_rules
from grafana.main import dashboards
from grafana.queries import DEFAULTS, annotation_queries, panel_queries, substitute
from models.channels import Channel
from models.spend import AdSpend, spend_id_of
from prometheus.pipeline_alerts import pipeline_groups
from simulator.catalog import Catalog
from simulator.journey import FEATURES, SURVEYS
from simulator.sources import SOURCES, TrafficSource, landing_url
from streams.admin import ensure_topics
from tests.integration.services import REPO, produce, prometheus_query

# Traffic starts this long before the business midnight: enough for the settled day's DAU.
BEFORE_MIDNIGHT = timedelta(minutes=15)
# Longer than the input topics drift apart while the backfill is read much faster than real
# time; shorter than the history, so the last hours settle.
ALLOWED_LATENESS = timedelta(minutes=10)
# The 1 h window holds enough carts and checkouts to have every breakdown; a week of history
# cannot be made in a test, so the week-ago benchmark is read one minute back instead.
VALUES = {**DEFAULTS, "window": "1h"}
ECONOMICS = "kpiwatch / Acquisition and economics"
JOURNEY = "kpiwatch / Journey and goals"
# Short enough that the signups of the traffic's first half hour end theirs in the last
# settled hour (the activation cohort and rate); the default is 7 days.
ACTIVATION_WINDOW = timedelta(minutes=30)
NO_30_DAYS_AGO = "needs users active 30 to 59 days before the last settled day: a test has hours"
# Queries that cannot have data in a test of minutes, each with the reason: (dashboard, panel,
# query ref) -> why. They must still run; every other query must return data.
NO_DATA_IN_A_TEST = {
    (ECONOMICS, "Revenue growth vs last week", "A"):
        "the recorded series compares with Prometheus' own samples of a week ago",
    (ECONOMICS, "Revenue growth vs last week", "B"):
        "the recorded series compares with Prometheus' own samples of a week ago",
    (ECONOMICS, "Revenue growth vs the previous window", "A"):
        "the 1 h window's series compares with Prometheus' samples of an hour ago (offset 1h)",
    (ECONOMICS, "Revenue growth vs the previous window", "B"):
        "the 1 h window's series compares with Prometheus' samples of an hour ago (offset 1h)",
    (ECONOMICS, "CAC and CPA by channel", "C"):
        "cac_high's trailing mean is over Prometheus' samples of the day to an hour ago",
    (JOURNEY, "Churn rate (30 days)", "A"): NO_30_DAYS_AGO,
    (JOURNEY, "Churned and lapsed users", "A"): NO_30_DAYS_AGO,
    (JOURNEY, "Churned and lapsed users", "B"): NO_30_DAYS_AGO,
    (JOURNEY, "Active lifetime of lapsed users", "A"): NO_30_DAYS_AGO,
}
# Campaigns reported by name; the simulator's other campaigns are reported as other.
PAID = ("paid_search", "paid_social", "display")
# Every third product has no cost: orders with it are left out of the margin (uncosted).
UNCOSTED_EVERY = 3
# A quarter of an hour: every hour settled, even the last one cut short by the traffic's end
# (at least 20 minutes long, traffic_end), has new customers on every paid campaign.
NEW_CUSTOMERS_EVERY = timedelta(minutes=15)


def traffic_end(now: datetime) -> datetime:
    """Where the backfill stops: at least 20 minutes past an hour boundary once the lateness
    is taken off, so the last whole hour settles. The watermark is the slowest input
    partition's latest event, and a sparse one's (purchases) can be minutes before the end: a
    margin of 3 minutes left the hour unsettled in a CI run at 09:15."""
    settled = now - ALLOWED_LATENESS
    return now - timedelta(minutes=settled.minute + 1) if settled.minute < 20 else now


def recent_midnight(end: datetime) -> datetime:
    """The start of the last settled hour, made a business midnight: the day before it is
    settled too, and the hour has users first seen on that earlier day (returning users)."""
    settled_hour_end = (end - ALLOWED_LATENESS).replace(minute=0, second=0, microsecond=0)
    return settled_hour_end - timedelta(hours=1)


def business_zone(midnight: datetime) -> str:
    """The fixed-offset zone in which ``midnight`` (a whole UTC hour) is 00:00."""
    offset = -midnight.hour % 24
    if offset > 14:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def send_backdated_traffic(bootstrap: str, names: dict[str, str], start: datetime,
                           end: datetime, workdir: Path, products: list) -> None:
    """The simulator's traffic, with the new customers of ``paid_orders`` merged in by event
    time (as a shop would send them), replayed as fast as possible."""
    traffic = workdir / "traffic.jsonl"
    subprocess.run(
        [sys.executable, "-m", "simulator", "--start", start.isoformat(),
         "--duration", f"{int((end - start).total_seconds())}s", "--rate", "1",
         "--flat", "--seed", "7", "--format", "mixed",
         "--incident", "payment-outage@15m+150m:method=card",
         "--incident", "bad-events@5m+5m:share=0.2", "--out", str(traffic)],
        cwd=REPO, check=True, capture_output=True, timeout=180)
    lines = traffic.read_bytes().splitlines(keepends=True)
    times = [orjson.loads(line)["event_time"] for line in lines]
    for extra in paid_orders(start, end, products):
        at = bisect.bisect_right(times, extra["event_time"])
        times.insert(at, extra["event_time"])
        lines.insert(at, orjson.dumps(extra) + b"\n")
    traffic.write_bytes(b"".join(lines))
    subprocess.run(
        [sys.executable, "-m", "simulator", "--replay", str(traffic), "--speed", "0",
         "--bootstrap-servers", bootstrap,
         "--topic-clickstream", names["KPIWATCH_TOPIC_CLICKSTREAM"],
         "--topic-cart", names["KPIWATCH_TOPIC_CART"],
         "--topic-purchase", names["KPIWATCH_TOPIC_PURCHASE"]],
        cwd=REPO, check=True, capture_output=True, timeout=180)


def paid_sources() -> dict[tuple[str, str], TrafficSource]:
    """(channel, utm_campaign) -> a source the simulator tags that campaign's sessions with."""
    return {(str(channel), source.utm_campaign): source
            for channel in PAID for source, _ in SOURCES[channel]}


def campaigns_setting() -> str:
    """KPIWATCH_CAMPAIGNS: the paid campaigns but the last of each channel (those are other)."""
    by_channel: dict[str, list[str]] = {}
    for channel, campaign in sorted(paid_sources()):
        by_channel.setdefault(channel, []).append(campaign)
    return json.dumps([name for names in by_channel.values() for name in names[:-1]])


def simulated_products() -> list:
    """The simulator's catalogue (its product ids do not depend on the seed), by id."""
    return sorted(Catalog(random.Random(0)).products, key=lambda p: p.product_id)


def costed(number: int) -> bool:
    return number % UNCOSTED_EVERY != 0


def write_cost_file(path: Path, products: list) -> Path:
    """Unit costs (40 % of the price) of the products :func:`costed` says have one."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "unit_cost", "currency", "valid_from"])
        for number, product in enumerate(products):
            if costed(number):
                writer.writerow([product.product_id, f"{product.price * Decimal('0.4'):.2f}",
                                 "", ""])
    return path


def paid_orders(start: datetime, end: datetime, products: list) -> list[dict]:
    """Every ``NEW_CUSTOMERS_EVERY`` of event time: a new customer's order on each paid
    campaign (a costed product), and a guest order of an uncosted product; the first of those
    customers signed up referred (:func:`referred_signup`). The simulator's traffic has few
    logged-in orders on paid channels, too few for every settled hour to have a CAC by channel
    and campaign, or a referred signup's first order (referred customers)."""
    good = next(p for n, p in enumerate(products) if costed(n))
    uncosted = next(p for n, p in enumerate(products) if not costed(n))
    out = []
    at, round_number = start + NEW_CUSTOMERS_EVERY / 2, 0
    while at < end:
        orders = [(source, good, f"customer-{round_number}-{number}")
                  for number, source in enumerate(paid_sources().values())]
        orders.append((TrafficSource(Channel.DIRECT), uncosted, None))
        for number, (source, product, user_id) in enumerate(orders):
            moment = at + timedelta(seconds=number)
            visitor = f"anon-dash-{round_number}-{number}"
            event = {"type": "order_completed", "event_id": f"evt-dash-{round_number}-{number}",
                     "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                     "anonymous_id": visitor, "session_id": f"sess-{visitor}",
                     "url": landing_url(source, "/checkout/complete"),
                     "utm_source": source.utm_source, "utm_medium": source.utm_medium,
                     "utm_campaign": source.utm_campaign,
                     "order_id": f"ord-dash-{round_number}-{number}",
                     "revenue": str(product.price), "currency": "USD",
                     "items": [{"product_id": product.product_id, "price": str(product.price),
                                "quantity": 1}], "payment_method": "paypal"}
            if user_id is not None:
                event["user_id"] = user_id
            if number == 0:  # referred by another of the round's customers
                out.append(referred_signup(event, f"customer-{round_number}-{len(orders) - 2}"))
            out.append({"stream": "purchase", "key": visitor, "event_time": event["timestamp"],
                        "value": {k: v for k, v in event.items() if v is not None}})
        at, round_number = at + NEW_CUSTOMERS_EVERY, round_number + 1
    return out


def referred_signup(order: dict, referrer_id: str) -> dict:
    """The signup, a minute before ``order`` in its session, of the order's user, naming
    ``referrer_id`` as who invited them: the order is then a referred customer's."""
    moment = datetime.strptime(order["timestamp"], "%Y-%m-%dT%H:%M:%S.000Z") - timedelta(minutes=1)
    at = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    event = {"type": "signup", "event_id": f"{order['event_id']}-signup", "timestamp": at,
             "anonymous_id": order["anonymous_id"], "user_id": order["user_id"],
             "session_id": order["session_id"],
             "url": order["url"].replace("/checkout/complete", "/account/register"),
             "referrer_id": referrer_id}
    return {"stream": "clickstream", "key": order["anonymous_id"], "event_time": at,
            "value": event}


def spend_rows(start: datetime, end: datetime) -> list[AdSpend]:
    """One row per paid campaign and hour, from the hour of ``start`` to past ``end``."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    rows = []
    while hour < end:
        span_end = hour + timedelta(hours=1)
        for number, (channel, campaign) in enumerate(sorted(paid_sources())):
            rows.append(AdSpend(
                spend_id=spend_id_of(channel, campaign, hour, span_end), channel=channel,
                campaign=campaign, start=hour, end=span_end,
                amount=Decimal("12.50") * (number + 1), currency="USD",
                impressions=4000, clicks=120 + 10 * number))
        hour = span_end
    return rows


def send_spend(bootstrap: str, topic: str, rows: list[AdSpend]) -> None:
    """As kpiwatch import-spend writes them: keyed by spend id, to the spend topic (created
    here if the worker has not)."""
    asyncio.run(ensure_topics(bootstrap, [topic], 1))
    produce(bootstrap, topic, ((row.spend_id.encode(), row.encode()) for row in rows))


def run(prometheus: str, expr: str) -> list | str:
    """The query's series, or Prometheus' error message."""
    try:
        return prometheus_query(prometheus, expr)
    except urllib.error.HTTPError as error:  # 400 bad_data: the query does not parse
        return error.read().decode(errors="replace")


def as_tested(expr: str) -> str:
    return substitute(expr, VALUES).replace("offset 1w", "offset 1m")


def write_goals_file(path: Path) -> Path:
    """A goal for the business day that starts at the backfill's midnight: its first hour is
    settled, so the goal has a value (the goal panels read it)."""
    path.write_text("goals:\n  - {name: orders_today, kpi: orders, target: 5000, period: day}\n"
                    "  - {name: paid_conversion_today, kpi: conversion_rate, channel: paid_search,"
                    " target: 0.02, period: day}\n")
    return path


def test_every_dashboard_panel_query_returns_data(worker_factory, prometheus, stack_settings,
                                                  tmp_path):
    end = traffic_end(datetime.now(UTC).replace(microsecond=0))
    midnight = recent_midnight(end)
    start = midnight - BEFORE_MIDNIGHT
    spend_topic = worker_factory.names["KPIWATCH_TOPIC_AD_SPEND"]
    products = simulated_products()
    bootstrap = stack_settings.kafka_bootstrap_servers
    worker_factory(
        KPIWATCH_ALLOWED_LATENESS=f"PT{int(ALLOWED_LATENESS.total_seconds())}S",
        KPIWATCH_BUSINESS_TIMEZONE=business_zone(midnight),
        KPIWATCH_CAMPAIGNS=campaigns_setting(),
        KPIWATCH_FEATURES=json.dumps(list(FEATURES)), KPIWATCH_SURVEYS=json.dumps(list(SURVEYS)),
        KPIWATCH_ACTIVATION_WINDOW=f"PT{int(ACTIVATION_WINDOW.total_seconds())}S",
        KPIWATCH_PRODUCT_COSTS_FILE=str(write_cost_file(tmp_path / "costs.csv", products)),
        KPIWATCH_GOALS_FILE=str(write_goals_file(tmp_path / "goals.yaml")))
    send_spend(bootstrap, spend_topic, spend_rows(start, end))
    send_backdated_traffic(bootstrap, worker_factory.names, start, end, tmp_path, products)

    models = dashboards()
    queries = [q for model in models.values() for q in panel_queries(model)]
    may_be_empty = [q for q in queries if (q.dashboard, q.panel, q.ref) in NO_DATA_IN_A_TEST]
    assert len(may_be_empty) == len(NO_DATA_IN_A_TEST), "a query NO_DATA_IN_A_TEST names is gone"
    missing = {q: "" for q in queries if q not in may_be_empty}
    started = time.monotonic()
    deadline = started + 240
    last = None
    while missing and time.monotonic() < deadline:
        for query in list(missing):
            result = run(prometheus, as_tested(query.expr))
            if isinstance(result, list) and result:
                del missing[query]
                last = (round(time.monotonic() - started), query.where())
            else:
                missing[query] = result if isinstance(result, str) else "no series"
        time.sleep(2)
    print(f"\nqueries had data {time.monotonic() - started:.0f} s after the backfill was sent;"
          f" the last one: {last}")
    report = [f"{q.where()}: {why}\n    {as_tested(q.expr)}" for q, why in missing.items()]
    assert not missing, f"{len(missing)} of {len(queries)} queries without data:\n" + \
        "\n".join(report)
    for query in may_be_empty:
        assert isinstance(result := run(prometheus, as_tested(query.expr)), list), (
            f"{query.where()}: {result}")

    # The generated alert rules, the KPIs' and kpiwatch's own, are loaded (a rule Prometheus
    # rejects would be missing) ...
    with urllib.request.urlopen(f"{prometheus}/api/v1/rules?type=alert", timeout=5) as response:
        groups = json.load(response)["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    pipeline = {rule["alert"] for group in pipeline_groups("") for rule in group["rules"]}
    assert loaded == {rule.name for rule in load_rules().rules} | pipeline
    # ... and the annotations showing them run (none need be firing).
    for query in (q for model in models.values() for q in annotation_queries(model)):
        assert isinstance(run(prometheus, as_tested(query.expr)), list), query.where()
