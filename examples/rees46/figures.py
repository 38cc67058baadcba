"""Runs the REES46 log through the KPI engine (one partition, in log order, after exact
deduplication as the KPI engine does) and through the independent batch recomputation, and
prints the KPIs of the settled part side by side. The log is closed by a page view 37 minutes
after its end, so that its carts and sessions resolve (abandoned or not) and are compared too.

    python -m examples.rees46.figures tests/fixtures/rees46/rees46-2019-10-01-head.csv.gz
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from examples.rees46.convert import convert, read_rows
from models import ParseLimits, parse_message
from models.events import PageView
from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.readout import histogram_quantile
from streams.windows import MINUTE_MS, iso

UTC = ZoneInfo("UTC")
SETTINGS = KpiSettings(timezone=UTC, base_currency="USD")


def canonical_events(path: Path) -> tuple[list, dict]:
    """Parsed events after exact dedup of event_id and order_id, and what was dropped."""
    events, seen, dropped = [], set(), Counter()
    for raw in convert(read_rows(path)):
        outcome = parse_message(orjson.dumps(raw), now=_time(raw),
                                limits=ParseLimits(replay_horizon=timedelta(days=1)))
        dropped.update(r.reason.value for r in outcome.rejections)
        for event in outcome.events:
            keys = {("e", event.event_id)} | ({("o", event.order_id)}
                                              if event.type == "order_completed" else set())
            if keys & seen:
                dropped["duplicate"] += 1
                continue
            seen |= keys
            events.append(event)
    return events, dict(dropped)


def _time(raw: dict):
    from datetime import datetime

    return datetime.fromisoformat(raw["timestamp"].replace("Z", "+00:00"))


def engine_windows(events, close: bool = False) -> tuple[dict, int]:
    """The engine's settled windows. ``close``: then one synthetic page view (its own user)
    late enough after the log that every cart and session of the log has resolved, as if the
    shop's traffic went on: its own windows are not settled, so nothing of it is compared."""
    table: dict = {}
    engine = PartitionEngine(table, 0, SETTINGS)
    for origin, event in enumerate(events):
        engine.receive(origin, event, wall_s=0)
    if close and events:
        after = (max(SETTINGS.abandon_after_ms, SETTINGS.session_timeout_ms)
                 + SETTINGS.allowed_lateness_ms + 2 * MINUTE_MS)
        at = max(e.timestamp for e in events) + timedelta(milliseconds=after)
        marker = PageView(event_id="end-of-log", timestamp=at, anonymous_id="end-of-log")
        engine.receive(len(events), marker, wall_s=0)
    limit = table["progress|0"]["settled_through"] + MINUTE_MS
    windows = {}
    for key, state in table.items():
        if key.startswith("agg|") and state["size"] != "all" and state["end"] <= limit:
            windows[(state["size"], state["start"])] = +Counter(
                {k: Decimal(v) if isinstance(v, str) else v for k, v in state["values"].items()})
    return windows, limit


def kpis(values: Counter) -> dict:
    sessions = sum(v for k, v in values.items() if k.startswith("sessions|"))
    converted = sum(v for k, v in values.items() if k.startswith("funnel|order_completed|"))
    return {
        "sessions": sessions,
        "conversion rate": f"{converted / sessions:.4f}" if sessions else None,
        "orders": sum(v for k, v in values.items() if k.startswith("orders|")),
        "revenue USD": sum((v for k, v in values.items() if k.startswith("revenue|")),
                           Decimal(0)),
        "cart adds": sum(v for k, v in values.items() if k.startswith("funnel|cart_add|")),
        "abandoned carts": sum(v for k, v in values.items() if k.startswith("abandoned_carts|")),
        "ordered carts": sum(v for k, v in values.items() if k.startswith("ordered_carts|")),
        "recovered carts": sum(v for k, v in values.items() if k.startswith("recovered_carts|")),
    }


def report_keys(windows: dict) -> list:
    """The settled hours, then the settled quarter hours after the last of them: disjoint."""
    hours = sorted(k for k in windows if k[0] == "1h")
    after = hours[-1][1] + 3_600_000 if hours else 0
    return hours + sorted(k for k in windows if k[0] == "15m" and k[1] >= after)


def summary(windows: dict) -> dict:
    """Abandoned carts and the cart -> order time over the reported (disjoint) windows."""
    whole: Counter = Counter()
    for key in report_keys(windows):
        whole.update(windows[key])
    return {"abandoned carts": whole["abandoned_carts|direct"],
            "abandoned cart value USD": whole["abandoned_cart_value|direct"],
            "ordered carts": whole["ordered_carts|direct"],
            "recovered carts": whole["recovered_carts|direct"],
            "carts ordered, cart -> order p50 (s, from the histogram)": histogram_quantile(
                whole, 0.5, "cart_to_order_seconds")}


def report(windows: dict) -> list[str]:
    keys = report_keys(windows)
    return [f"{size:>3} {iso(start)}  {kpis(windows[(size, start)])}" for size, start in keys]


def cart_to_order_seconds(events, until_ms: int) -> float | None:
    """Median time from a session's first cart_add to its first later order (oracle only)."""
    first_cart, durations = {}, []
    for event in sorted(events, key=lambda e: (e.timestamp, e.event_id)):
        ms = int(event.timestamp.timestamp() * 1000)
        key = (event.user_key, event.session_id)
        if ms >= until_ms:
            break
        if event.type == "cart_add":
            first_cart.setdefault(key, ms)
        elif event.type == "order_completed" and key in first_cart:
            durations.append((ms - first_cart.pop(key)) / 1000)
    return statistics.median(durations) if durations else None


def main(argv: list[str]) -> int:
    from tests.kpi_oracle.oracle import recompute

    events, dropped = canonical_events(Path(argv[0]))
    got, limit = engine_windows(events, close=True)
    settled = [e for e in events if int(e.timestamp.timestamp() * 1000) < limit]
    want = {k: +v for k, v in recompute(settled, UTC, base="USD").items()
            if k in got or k[0] != "1d"}
    want = {k: v for k, v in want.items() if v and (k in got or _ends_before(k, limit))}
    print(f"events after dedup: {len(events)}; dropped: {dropped}")
    print(f"settled through: {limit} ms; settled windows compared: {len(want)}")
    mismatched = [k for k in set(got) | set(want) if got.get(k) != want.get(k)]
    print(f"windows that differ between engine and oracle: {len(mismatched)}")
    print("engine, settled windows:")
    print("\n".join(report(got)))
    print("oracle agrees on every one of them" if not mismatched else "oracle DIFFERS")
    print("carts, engine:       ", summary(got))
    print("carts, recomputation:", summary(want))
    print("median cart_add -> order (s), exact, recomputation:",
          cart_to_order_seconds(events, limit))
    return 1 if mismatched else 0


def _ends_before(key, limit) -> bool:
    from streams.windows import window_of

    return window_of(key[0], key[1], UTC).end_ms <= limit


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
