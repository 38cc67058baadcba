"""A shopper's journey exactly as a Segment source sends it, on the real broker: the calls of
Segment's e-commerce v2 spec (https://segment.com/docs/connections/spec/ecommerce/v2/), with
`cart_id` on Product Added only (the spec's property tables list it there, not on Checkout
Started or Order Completed), the payment method on Payment Info Entered (not on the order), an
identify call at sign-in, a Product List Viewed no KPI reads, and an Order Completed sent from
the shop's server with the user id only, with `total` but no `revenue` and no `currency`
(facade reads total; Segment assumes USD).

It must give one ordered cart and no abandoned one, conversion 1, and the order under the
payment method chosen at the payment step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from tests.integration.services import produce_many, wait_for
from tests.integration.test_kpis_exact import changelog_state, settled_windows

ANONYMOUS_ID = "507f191e810c19729de860ea"
USER_ID = "97980cfea0067"


def journey(start: datetime) -> list[tuple[str, dict]]:
    def at(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")

    context = {"library": {"name": "analytics.js", "version": "next-1.70.0"},
               "page": {"url": "https://shop.example.com/?utm_source=newsletter&utm_medium=email",
                        "referrer": ""},
               "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
                            " (KHTML, like Gecko) Version/18.0 Safari/605.1.15"}
    anonymous = {"anonymousId": ANONYMOUS_ID, "context": context}
    signed_in = anonymous | {"userId": USER_ID}

    def track(n: int, name: str, properties: dict, who: dict) -> dict:
        return {"type": "track", "event": name, "messageId": f"journey-{n}",
                "timestamp": at(n * 20), "properties": properties} | who

    product = {"product_id": "507f1f77bcf86cd799439011", "sku": "G-32", "name": "Monopoly: 3rd "
               "Edition", "price": 18.99, "quantity": 1}
    return [
        ("clickstream", {"type": "page", "messageId": "journey-0", "timestamp": at(0),
                         "name": "Home", "properties": {}} | anonymous),
        ("clickstream", track(1, "Product List Viewed",
                              {"list_id": "hot_deals_1", "category": "Deals"}, anonymous)),
        ("clickstream", track(2, "Product Viewed", product, anonymous)),
        ("cart", track(3, "Product Added", product | {"cart_id": "skdjsidjsdkdj29j"}, anonymous)),
        ("clickstream", {"type": "identify", "messageId": "journey-4", "timestamp": at(80),
                         "traits": {"email": "peter@example.com"}} | signed_in),
        ("cart", track(5, "Checkout Started", {"order_id": "50314b8e9bcf000000000000",
                                               "value": 18.99, "revenue": 18.99,
                                               "products": [product]}, signed_in)),
        ("cart", track(6, "Payment Info Entered", {"checkout_id": "39f39fj39f3jf93fj9fj39fj3f",
                                                   "order_id": "50314b8e9bcf000000000000",
                                                   "step": 2, "payment_method": "Credit Card"},
                       signed_in)),
        # From the shop's server, as Segment recommends for orders: the user id only.
        ("purchase", track(7, "Order Completed", {"checkout_id": "39f39fj39f3jf93fj9fj39fj3f",
                                                  "order_id": "50314b8e9bcf000000000000",
                                                  "total": 27.5, "shipping": 3, "tax": 2,
                                                  "products": [{"sku": "G-32", "price": 18.99,
                                                                "quantity": 1}]},
                           {"userId": USER_ID, "context": {
                               "library": {"name": "analytics-python", "version": "2.3.2"}}})),
    ]


def markers(now: datetime) -> list[tuple[str, dict]]:
    """Page views at ``now`` on many user keys and every input stream: every input partition's
    event time, and so every KPI partition's watermark, moves past the journey."""
    return [(stream, {"type": "page", "messageId": f"marker-{stream}-{i}",
                      "timestamp": now.isoformat(), "anonymousId": f"marker-{i}",
                      "properties": {}})
            for i in range(64) for stream in ("clickstream", "cart", "purchase")]


def test_a_segment_spec_journey_gives_an_ordered_cart_and_its_payment_method(
        worker_factory, stack_settings):
    now = datetime.now(UTC).replace(microsecond=0)
    # Within one 5-minute window (the journey lasts 140 s), which has settled when
    # the markers at ``now`` are in.
    ten_ago = now - timedelta(minutes=10)
    start = ten_ago.replace(minute=ten_ago.minute - ten_ago.minute % 5, second=0)
    worker_factory(KPIWATCH_TOPIC_PARTITIONS="4", KPIWATCH_ALLOWED_LATENESS="30s",
                   KPIWATCH_SOURCE_IDLE_TIMEOUT="5s")
    names = worker_factory.names
    topics = {"clickstream": names["KPIWATCH_TOPIC_CLICKSTREAM"],
              "cart": names["KPIWATCH_TOPIC_CART"], "purchase": names["KPIWATCH_TOPIC_PURCHASE"]}
    bootstrap = stack_settings.kafka_bootstrap_servers
    produce_many(bootstrap, ((topics[stream], message.get("anonymousId", USER_ID).encode(),
                              orjson.dumps(message)) for stream, message in journey(start)))
    produce_many(bootstrap, ((topics[stream], message["anonymousId"].encode(),
                              orjson.dumps(message)) for stream, message in markers(now)))
    app_id = names["KPIWATCH_APP_ID"]
    journey_end = int((start + timedelta(minutes=3)).timestamp() * 1000)

    def settled() -> bool:
        state = changelog_state(bootstrap, app_id)
        progress = [v["settled_through"] for k, v in state.items() if k.startswith("progress|")]
        return len(progress) == 4 and min(progress) >= journey_end

    wait_for(settled, timeout=180, interval=2, what="the journey's minutes to settle")
    windows, _ = settled_windows(changelog_state(bootstrap, app_id))
    [totals] = [values for (size, window_start), values in windows.items()
                if size == "5m" and window_start == int(start.timestamp() * 1000)]
    assert totals["ordered_carts|email"] == 1
    assert not any(metric.startswith("abandoned_carts") for metric in totals)
    assert totals["funnel|order_completed|email"] == totals["sessions|email|desktop"] == 1
    assert totals["orders|email|card"] == 1
    assert totals["revenue|email|card"] == Decimal("27.5")
    assert totals["checkout_seconds_count"] == 1
    assert not any(metric.startswith(("unconverted", "payment_failures")) for metric in totals)
