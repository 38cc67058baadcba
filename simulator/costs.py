"""What the simulated shop pays for its goods: a unit cost per product, as a shop's ERP
exports it for gross margin (`KPIWATCH_PRODUCT_COSTS_FILE`, read by `models.product_costs`).

Each product costs 40 to 70 % of its price (a retailer's usual cost of goods), fixed by its
id, so the same seed gives the same file. One product in twenty has no cost yet, as new
arrivals not yet in the ERP: orders with one of them are kpiwatch's "uncosted orders", left
out of the margin.

    python -m simulator costs --out costs.csv --seed 1
"""

import csv
import hashlib
import random
from decimal import Decimal
from pathlib import Path

from simulator.catalog import CURRENCY, Catalog

LOWEST_COST_SHARE = Decimal("0.40")
HIGHEST_COST_SHARE = Decimal("0.70")
UNCOSTED_ONE_IN = 20
"""One product in this many has no cost in the file."""

HEADER = ("product_id", "unit_cost", "currency", "valid_from")
_CENT = Decimal("0.01")


def shop_catalog(seed: int) -> Catalog:
    """The catalogue a run with `seed` sells: the run builds it first from its seeded
    generator (`simulator.run.SimulationRun`), so a fresh generator of the seed gives it."""
    return Catalog(random.Random(seed))


def unit_costs(seed: int = 1) -> dict[str, Decimal | None]:
    """Product id -> unit cost in the shop's currency (None: not known), in catalogue order."""
    costs: dict[str, Decimal | None] = {}
    for product in shop_catalog(seed).products:
        digest = int.from_bytes(hashlib.blake2b(product.product_id.encode(), digest_size=8).digest())
        if digest % UNCOSTED_ONE_IN == 0:
            costs[product.product_id] = None
            continue
        # A share from the id's hash, in steps of 0.1 %: the same product, the same cost.
        fraction = Decimal(digest // UNCOSTED_ONE_IN % 1001) / 1000
        share = LOWEST_COST_SHARE + (HIGHEST_COST_SHARE - LOWEST_COST_SHARE) * fraction
        costs[product.product_id] = (product.price * share).quantize(_CENT)
    return costs


def cost_rows(seed: int = 1) -> list[tuple[str, str, str, str]]:
    """The rows of the cost file, sorted by product id; products without a cost are left out."""
    return [
        (product_id, str(cost), CURRENCY, "")
        for product_id, cost in sorted(unit_costs(seed).items())
        if cost is not None
    ]


def write_cost_file(path: Path, seed: int = 1) -> int:
    """Write the cost CSV of `seed`'s catalogue to `path` (replacing it); returns its rows."""
    rows = cost_rows(seed)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return len(rows)
