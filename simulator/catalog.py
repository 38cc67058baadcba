"""What the simulated shop sells and how it takes money: products, prices, payment methods.

Everything is built from the run's seeded `random.Random`, so the same seed gives the same
shop. Popularity is Zipf-like: a few best sellers get most of the product views, as in
real shops.
"""

import bisect
import itertools
import random
from dataclasses import dataclass
from decimal import Decimal

CURRENCY = "USD"

SHOP_URL = "https://shop.example.com"

CATEGORIES: dict[str, tuple[str, ...]] = {
    "shoes": ("trail-shoe", "road-runner", "hiking-boot", "approach-shoe", "sandal"),
    "jackets": ("rain-shell", "down-jacket", "softshell", "insulated-vest", "windbreaker"),
    "packs": ("daypack", "running-vest", "duffel", "hip-pack", "trekking-pack"),
    "accessories": ("wool-socks", "beanie", "headlamp", "water-bottle", "gaiters"),
    "camping": ("tent", "sleeping-bag", "stove", "camp-chair", "sleeping-mat"),
}
"""Category -> product kinds; each kind comes in a few variants."""

SEARCH_TERMS: tuple[str, ...] = (
    "trail running shoes",
    "waterproof jacket",
    "gore-tex",
    "merino socks",
    "headlamp",
    "ultralight tent",
    "down jacket women",
    "hiking boots wide",
    "running vest 10l",
    "sale",
)

PAYMENT_METHODS: tuple[str, ...] = ("card", "paypal", "apple_pay", "klarna")
"""The payment methods shoppers choose from; incidents name one of these."""

FAILURE_REASONS: dict[str, tuple[str, ...]] = {
    "card": ("card_declined", "insufficient_funds", "authentication_failed"),
    "paypal": ("payment_cancelled", "funding_source_declined"),
    "apple_pay": ("authentication_failed", "card_declined"),
    "klarna": ("credit_check_failed", "payment_cancelled"),
}
"""Everyday reasons a payment of each method fails."""

OUTAGE_REASONS: tuple[str, ...] = ("provider_unavailable", "gateway_timeout")
"""What failures read like while a payment provider is down."""

_VARIANTS_PER_KIND = 8
_MEDIAN_PRICE = 45.0
_PRICE_SPREAD = 0.8


@dataclass(frozen=True, slots=True)
class Product:
    product_id: str
    category: str
    url: str
    price: Decimal


class Catalog:
    """The shop's products, and a popularity-weighted way to pick one."""

    def __init__(self, rng: random.Random) -> None:
        products = []
        for category, kinds in CATEGORIES.items():
            for kind, variant in itertools.product(kinds, range(1, _VARIANTS_PER_KIND + 1)):
                number = 1000 + len(products)
                products.append(
                    Product(
                        product_id=f"sku-{number}",
                        category=category,
                        url=f"{SHOP_URL}/products/{kind}-{variant}",
                        price=_shop_price(rng.lognormvariate(0, _PRICE_SPREAD) * _MEDIAN_PRICE),
                    )
                )
        rng.shuffle(products)
        self.products: tuple[Product, ...] = tuple(products)
        # Zipf with exponent 1: the n-th best seller is viewed 1/n as often as the first.
        self._cumulative_weights = list(
            itertools.accumulate(1 / rank for rank in range(1, len(products) + 1))
        )

    def pick(self, rng: random.Random) -> Product:
        """A product, best sellers more often."""
        point = rng.random() * self._cumulative_weights[-1]
        return self.products[bisect.bisect_left(self._cumulative_weights, point)]


def category_url(category: str) -> str:
    return f"{SHOP_URL}/collections/{category}"


def _shop_price(amount: float) -> Decimal:
    """A price as shops write them: whole euros ending in .90 or .99, at least 4.90."""
    euros = max(4, int(amount))
    return Decimal(f"{euros}.{'99' if euros % 2 else '90'}")
