"""Product unit costs, for gross margin: a CSV a shop exports from its ERP or catalogue.

    product_id,unit_cost,currency,valid_from
    sku-1,12.40,EUR,2026-01-01T00:00:00Z
    sku-1,13.10,EUR,2026-07-01T00:00:00Z
    sku-2,3.05,,

``currency`` may be empty (the base currency) and ``valid_from`` too (since always). A product
listed more than once is versioned by ``valid_from``: an order is costed with the cost valid at
its event time, so a cost change never rewrites the margin of earlier orders.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from models.currencies import ISO_4217_CODES
from models.fields import parse_instant

REQUIRED = ("product_id", "unit_cost")
SINCE_ALWAYS_MS = -(2**62)


class CostFileError(ValueError):
    pass


# product id -> ([valid_from ms ascending], [(unit cost, currency)])
CostTable = dict[str, tuple[list[int], list[tuple[Decimal, str | None]]]]


def read_cost_file(path: Path) -> CostTable:
    """The cost table of ``path``; a wrong line raises :class:`CostFileError` naming it."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return parse_costs(csv.DictReader(handle), str(path))
    except OSError as error:
        raise CostFileError(f"cannot read {path}: {error.strerror}; give the path of a CSV "
                            "with columns product_id,unit_cost[,currency,valid_from]") from None


def parse_costs(rows: Iterable[dict], name: str = "costs") -> CostTable:
    versions: dict[str, list[tuple[int, Decimal, str | None]]] = {}
    reader_fields = getattr(rows, "fieldnames", None)
    if reader_fields is not None:
        missing = [c for c in REQUIRED if c not in (reader_fields or ())]
        if missing:
            raise CostFileError(f"{name}: no column {', '.join(missing)} in the header "
                                f"({', '.join(reader_fields or ())}); the columns are "
                                "product_id,unit_cost[,currency,valid_from]")
    for line, row in enumerate(rows, start=2):
        product = (row.get("product_id") or "").strip()
        if not product:
            raise CostFileError(f"{name} line {line}: product_id is empty")
        try:
            cost = Decimal((row.get("unit_cost") or "").strip())
        except InvalidOperation:
            raise CostFileError(f"{name} line {line}: unit_cost {row.get('unit_cost')!r} is "
                                "not a number (write 12.40, no currency sign)") from None
        if not cost.is_finite() or cost < 0:
            raise CostFileError(f"{name} line {line}: unit_cost must be a number >= 0")
        currency = (row.get("currency") or "").strip().upper() or None
        if currency is not None and currency not in ISO_4217_CODES:
            raise CostFileError(f"{name} line {line}: currency {currency!r} is not an ISO 4217 "
                                "code (USD, EUR, ...)")
        since = (row.get("valid_from") or "").strip()
        versions.setdefault(product, []).append((_ms(since, name, line), cost, currency))
    table: CostTable = {}
    for product, rows_of in versions.items():
        rows_of.sort(key=lambda version: version[0])
        table[product] = ([v[0] for v in rows_of], [(v[1], v[2]) for v in rows_of])
    return table


def _ms(text: str, name: str, line: int) -> int:
    if not text:
        return SINCE_ALWAYS_MS
    try:
        moment = parse_instant(text, "valid_from")
    except ValueError as error:
        raise CostFileError(f"{name} line {line}: {error}") from None
    return int(moment.timestamp() * 1000)


def cost_at(table: CostTable, product_id: str, at_ms: int) -> tuple[Decimal, str | None] | None:
    """The unit cost (and its currency, None: the base currency) valid at ``at_ms``."""
    found = table.get(product_id)
    if found is None:
        return None
    starts, costs = found
    index = bisect.bisect_right(starts, at_ms) - 1
    return None if index < 0 else costs[index]


__all__ = ["CostFileError", "CostTable", "cost_at", "parse_costs", "read_cost_file"]
