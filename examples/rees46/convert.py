"""Maps the public REES46 e-commerce event log (one CSV row per event) to kpiwatch's canonical
events, so a real shop's data can run through the pipeline and be checked against the oracle.

    python -m examples.rees46.convert rees46-2019-10-01-head.csv > rees46.jsonl
    kpiwatch replay rees46.jsonl

The mapping, and why:
- ``view`` -> product_view, ``cart`` -> cart_add (quantity 1: the log has no quantity),
  ``purchase`` -> order_completed. Prices are USD.
- The log has no order id and writes one ``purchase`` row per product: consecutive purchase
  rows of one session with the same timestamp become one order with several items; its id is
  derived from the session and the time.
- ``event_id`` is a hash of the row, so the log's exact duplicate rows stay duplicates and the
  KPI engine drops them.
- ``user_id`` is the user key (``anonymous_id``); ``user_session`` the session. A session id
  shared by two users is two sessions (kpiwatch keys sessions by device).
- No traffic source or device columns: every session is channel ``direct``, device ``other``.
- ``category_id`` exceeds 2^53: it is read as text and not used.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import orjson

TYPES = {"view": "product_view", "cart": "cart_add", "purchase": "order_completed"}


def read_rows(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        yield from csv.DictReader(handle)


def _event_id(row: dict) -> str:
    raw = ",".join(row[k] for k in sorted(row)).encode()
    return "rees46-" + hashlib.blake2b(raw, digest_size=10).hexdigest()


def _timestamp(value: str) -> str:
    return value.replace(" UTC", "Z").replace(" ", "T")


def convert(rows: Iterable[dict]) -> Iterator[dict]:
    """Canonical events in the log's order; purchase rows grouped into orders."""
    order: dict | None = None
    for row in rows:
        if order is not None and not (row["event_type"] == "purchase"
                                      and row["user_session"] == order["session_id"]
                                      and _timestamp(row["event_time"]) == order["timestamp"]):
            yield order
            order = None
        base = {"event_id": _event_id(row), "type": TYPES[row["event_type"]],
                "timestamp": _timestamp(row["event_time"]), "anonymous_id": row["user_id"],
                "session_id": row["user_session"]}
        if row["event_type"] == "view":
            yield {**base, "product_id": row["product_id"]}
        elif row["event_type"] == "cart":
            yield {**base, "product_id": row["product_id"], "price": row["price"],
                   "quantity": 1, "currency": "USD"}
        elif order is None:
            order = {**base, "order_id": f"{row['user_session']}@{base['timestamp']}",
                     "revenue": row["price"], "currency": "USD",
                     "items": [{"product_id": row["product_id"], "price": row["price"]}]}
        else:
            order["revenue"] = str(Decimal(order["revenue"]) + Decimal(row["price"]))
            order["items"].append({"product_id": row["product_id"], "price": row["price"]})
    if order is not None:
        yield order


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    for event in convert(read_rows(Path(argv[0]))):
        out.write(orjson.dumps(event) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
