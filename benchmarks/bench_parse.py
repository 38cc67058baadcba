"""How many events per second `parse_message` turns into canonical events on one core.

Builds a realistic mix (mostly page and product views, some cart, checkout and order
events; Segment, GA4 and canonical shapes), then times, over the same messages:

- orjson.loads alone: the floor, what decoding the JSON costs;
- parse_message: decode, detect, map, classify channel and device, validate, check
  limits. Well-formed messages take the msgspec fast lane (models/fast_lane.py);
- the careful lane alone (orjson, adapters, pydantic validation), which parse_message
  falls back to for anything unusual: what parsing costs without the fast lane.

Run from the repository root:  python benchmarks/bench_parse.py [--messages N]
"""

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import ParseLimits, ParseOutcome, parse_message  # noqa: E402
from models.parse import parse_carefully  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)
REFERRERS = (
    None,
    None,
    "https://www.google.com/",
    "https://l.facebook.com/",
    "https://www.bing.com/",
    "https://blog.example.org/post",
)
CAMPAIGNS = (
    {},
    {},
    {},
    {"source": "google", "medium": "cpc", "name": "brand"},
    {"source": "newsletter", "medium": "email", "name": "nov"},
)
EVENT_MIX = (
    ("page_view", 55),
    ("product_view", 22),
    ("search", 5),
    ("cart_add", 7),
    ("cart_remove", 2),
    ("checkout_started", 3),
    ("checkout_step", 3),
    ("order_completed", 2),
    ("payment_failed", 1),
)
SHAPE_MIX = (("segment", 45), ("ga4_batch", 25), ("ga4_export", 10), ("canonical", 20))

SEGMENT_NAMES = {
    "product_view": "Product Viewed",
    "search": "Products Searched",
    "cart_add": "Product Added",
    "cart_remove": "Product Removed",
    "checkout_started": "Checkout Started",
    "checkout_step": "Checkout Step Completed",
    "order_completed": "Order Completed",
    "payment_failed": "Payment Failed",
}
GA4_NAMES = {
    "page_view": "page_view",
    "product_view": "view_item",
    "search": "search",
    "cart_add": "add_to_cart",
    "cart_remove": "remove_from_cart",
    "checkout_started": "begin_checkout",
    "checkout_step": "add_shipping_info",
    "order_completed": "purchase",
    "payment_failed": "payment_failed",
}


def segment_message(rng: random.Random, event_type: str, n: int) -> dict[str, Any]:
    product = f"sku-{rng.randrange(5000)}"
    properties: dict[str, Any] = {
        "product_view": {"product_id": product, "price": 19.99},
        "search": {"query": "running shoes"},
        "cart_add": {"product_id": product, "price": 19.99, "quantity": 1, "cart_id": f"cart-{n}"},
        "cart_remove": {
            "product_id": product,
            "price": 19.99,
            "quantity": 1,
            "cart_id": f"cart-{n}",
        },
        "checkout_step": {"step": 2, "shipping_method": "dhl"},
        "order_completed": {
            "order_id": f"o-{n}",
            "revenue": 39.98,
            "shipping": 4.95,
            "tax": 7.6,
            "currency": "EUR",
            "payment_method": "card",
            "products": [{"product_id": product, "price": 19.99, "quantity": 2}],
        },
        "payment_failed": {"payment_method": "paypal", "reason": "declined"},
    }.get(event_type, {})
    message: dict[str, Any] = {
        "type": "page" if event_type == "page_view" else "track",
        "messageId": f"ajs-{n:012d}",
        "timestamp": (NOW - timedelta(seconds=rng.randrange(600)))
        .isoformat()
        .replace("+00:00", "Z"),
        "anonymousId": f"anon-{rng.randrange(20000)}",
        "properties": properties,
        "context": {
            "page": {
                "url": f"https://shop.example.com/p/{product}",
                "referrer": rng.choice(REFERRERS),
            },
            "campaign": rng.choice(CAMPAIGNS),
            "userAgent": rng.choice(USER_AGENTS),
        },
    }
    if event_type != "page_view":
        message["event"] = SEGMENT_NAMES[event_type]
    return message


def ga4_params(
    rng: random.Random, event_type: str, n: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    product = f"sku-{rng.randrange(5000)}"
    items = [{"item_id": product, "item_name": "Trail Shoe", "price": 89.0, "quantity": 1}]
    params: dict[str, Any] = {
        "page_location": f"https://shop.example.com/p/{product}",
        "page_referrer": rng.choice(REFERRERS) or "",
        "ga_session_id": 1795000000 + rng.randrange(1000),
    }
    if event_type == "order_completed":
        params |= {
            "transaction_id": f"T-{n}",
            "value": 89.0,
            "currency": "EUR",
            "shipping": 4.95,
            "tax": 14.2,
        }
    elif event_type in ("cart_add", "cart_remove"):
        params |= {"currency": "EUR", "value": 89.0}
    elif event_type == "search":
        params["search_term"] = "trail shoes"
    if not params["page_referrer"]:
        del params["page_referrer"]
    return params, items if event_type in (
        "product_view",
        "cart_add",
        "cart_remove",
        "order_completed",
    ) else []


def ga4_batch_message(rng: random.Random, event_type: str, n: int) -> dict[str, Any]:
    params, items = ga4_params(rng, event_type, n)
    params["session_id"] = params.pop("ga_session_id")
    if items:
        params["items"] = items
    micros = int((NOW - timedelta(seconds=rng.randrange(600))).timestamp() * 1_000_000)
    return {
        "client_id": f"{rng.randrange(10**9)}.{rng.randrange(10**9)}",
        "timestamp_micros": micros,
        "events": [{"name": GA4_NAMES[event_type], "params": params}],
    }


def ga4_export_message(rng: random.Random, event_type: str, n: int) -> dict[str, Any]:
    params, items = ga4_params(rng, event_type, n)
    return {
        "event_name": GA4_NAMES[event_type],
        "event_timestamp": int(
            (NOW - timedelta(seconds=rng.randrange(600))).timestamp() * 1_000_000
        ),
        "user_pseudo_id": f"{rng.randrange(10**9)}.{rng.randrange(10**9)}",
        "event_params": [
            {
                "key": key,
                "value": {"int_value": value}
                if isinstance(value, int)
                else {"string_value": value}
                if isinstance(value, str)
                else {"double_value": value},
            }
            for key, value in params.items()
        ],
        "items": items,
        "device": {"category": rng.choice(("desktop", "mobile", "tablet"))},
    }


def canonical_message(rng: random.Random, event_type: str, n: int) -> dict[str, Any]:
    product = f"sku-{rng.randrange(5000)}"
    message: dict[str, Any] = {
        "type": event_type,
        "event_id": f"evt-{n:012d}",
        "timestamp": (NOW - timedelta(seconds=rng.randrange(600))).isoformat(),
        "anonymous_id": f"anon-{rng.randrange(20000)}",
        "session_id": f"s-{rng.randrange(5000)}",
        "url": f"https://shop.example.com/p/{product}",
        "referrer": rng.choice(REFERRERS),
        "user_agent": rng.choice(USER_AGENTS),
    }
    message |= {
        "product_view": {"product_id": product},
        "search": {"query": "boots"},
        "cart_add": {"product_id": product, "price": "19.99", "quantity": 1, "currency": "EUR"},
        "cart_remove": {"product_id": product, "price": "19.99", "quantity": 1, "currency": "EUR"},
        "checkout_step": {"step": "payment"},
        "order_completed": {
            "order_id": f"o-{n}",
            "revenue": "39.98",
            "currency": "EUR",
            "items": [{"product_id": product, "price": "19.99", "quantity": 2}],
        },
        "payment_failed": {"payment_method": "card", "reason": "insufficient_funds"},
    }.get(event_type, {})
    return message


BUILDERS: dict[str, Callable[[random.Random, str, int], dict[str, Any]]] = {
    "segment": segment_message,
    "ga4_batch": ga4_batch_message,
    "ga4_export": ga4_export_message,
    "canonical": canonical_message,
}


def realistic_messages(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    event_types, event_weights = zip(*EVENT_MIX, strict=True)
    shapes, shape_weights = zip(*SHAPE_MIX, strict=True)
    return [
        orjson.dumps(
            BUILDERS[rng.choices(shapes, shape_weights)[0]](
                rng, rng.choices(event_types, event_weights)[0], n
            )
        )
        for n in range(count)
    ]


def best_rates(runs: dict[str, Callable[[], int]], repeats: int) -> dict[str, tuple[float, int]]:
    """Items per second of each run, best of `repeats`, and the items one run produced.
    Runs are interleaved so that a noisy neighbour slows them all alike."""
    best = dict.fromkeys(runs, float("inf"))
    produced = dict.fromkeys(runs, 0)
    for _ in range(repeats):
        for name, work in runs.items():
            gc.collect()
            started = time.perf_counter()
            produced[name] = work()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: (produced[name] / best[name], produced[name]) for name in runs}


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--messages", type=int, default=50_000)
    arguments.add_argument("--repeats", type=int, default=5)
    options = arguments.parse_args()

    messages = realistic_messages(options.messages)
    limits = ParseLimits()

    def decode_only() -> int:
        for raw in messages:
            orjson.loads(raw)
        return len(messages)

    def count_events(parse: Callable[[bytes], ParseOutcome]) -> Callable[[], int]:
        def run() -> int:
            events = rejections = 0
            for raw in messages:
                outcome = parse(raw)
                events += len(outcome.events)
                rejections += len(outcome.rejections)
            assert rejections == 0, f"{rejections} rejections in a clean mix"
            return events

        return run

    runs = {
        "orjson.loads alone": decode_only,
        "parse_message": count_events(lambda raw: parse_message(raw, now=NOW, limits=limits)),
        "careful lane only": count_events(lambda raw: parse_carefully(raw, NOW, limits)),
    }
    runs["parse_message"]()  # warm the user-agent and referrer caches, as a running worker has them
    rates = best_rates(runs, options.repeats)
    baseline = rates["orjson.loads alone"][0]
    size = sum(map(len, messages)) / len(messages)
    events = rates["parse_message"][1]
    print(
        f"{len(messages)} messages ({events} events), mean {size:.0f} bytes, "
        f"best of {options.repeats}, one core"
    )
    print(f"{'orjson.loads alone':<40}{baseline:>12,.0f} messages/s")
    for name, label in (
        ("parse_message", "parse_message (msgspec fast lane)"),
        ("careful lane only", "careful lane only (orjson + pydantic)"),
    ):
        rate = rates[name][0]
        print(
            f"{label:<40}{rate:>12,.0f} events/s   {baseline / rate:5.1f}x the cost of orjson.loads"
        )


if __name__ == "__main__":
    main()
