"""Factories for the alert unit tests: rules, window values and judgements."""

from __future__ import annotations

from collections import Counter

from alerts.benchmarks import Judgement
from alerts.rules import Rule
from streams.windows import Window

WINDOW_MS = 15 * 60_000
BASE_MS = 1_764_000_000_000 - 1_764_000_000_000 % WINDOW_MS


def rule(**overrides) -> Rule:
    fields = {"name": "conversion_low", "kpi": "conversion_rate", "condition": "below",
              "benchmark": {"type": "static", "value": 0.03}, "window": "15m", "for": 2}
    return Rule.model_validate({**fields, **overrides})


def window(n: int) -> Window:
    return Window("15m", BASE_MS + n * WINDOW_MS, BASE_MS + (n + 1) * WINDOW_MS)


def values(channel_sessions: dict[str, int], channel_orders: dict[str, int]) -> Counter:
    """Window values as the engine stores them: sessions and completed orders per channel."""
    out = Counter()
    for channel, sessions in channel_sessions.items():
        out[f"sessions|{channel}|desktop"] = sessions
    for channel, orders in channel_orders.items():
        out[f"funnel|order_completed|{channel}"] = orders
        out[f"orders|{channel}|card"] = orders
    return out


def judgement(n: int, breached: bool | None, recovered: bool | None = None,
              value: float = 0.01) -> Judgement:
    if recovered is None:
        recovered = breached is False
    return Judgement(window(n), {}, value, 0.03, breached, recovered, None,
                     {None: "low_volume", True: "breached", False: "ok"}[breached])
