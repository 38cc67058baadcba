"""Small PromQL builders shared by the recording rules, the alert rules and the dashboards."""

from __future__ import annotations

from collections.abc import Iterable

WINDOW_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}


def matchers(**labels: str) -> str:
    """``{a="x", b=~"y"}`` from keyword arguments; a value starting with ``~`` is a regex."""
    parts = [f'{k}=~"{v[1:]}"' if v.startswith("~") else f'{k}="{v}"'
             for k, v in labels.items()]
    return "{" + ", ".join(parts) + "}" if parts else ""


def by(labels: Iterable[str]) -> str:
    return ", ".join(labels)


def total(metric: str, labels: Iterable[str], selector: str = "") -> str:
    """Sum over partitions of a per-partition series, grouped by ``labels``.

    While a partition moves between workers both may report it for a scrape or two;
    ``max without (instance)`` keeps one copy, so the sum never counts a partition twice.
    """
    return f"sum by ({by(labels)}) (max without (instance) ({metric}{selector}))"


def rate_total(metric: str, labels: Iterable[str], selector: str = "",
               interval: str = "$__rate_interval") -> str:
    """Per-second rate of a per-partition counter, summed over partitions (same dedup)."""
    return (f"sum by ({by(labels)}) "
            f"(max without (instance) (rate({metric}{selector}[{interval}])))")


def or_zero(expr: str, like: str) -> str:
    """``expr``, or 0 where only ``like`` has a series: a count that is zero is not exported."""
    return f"({expr} or 0 * {like})"


def duration(seconds: float) -> str:
    """Prometheus duration text: 1350 -> ``22m30s``, 7200 -> ``2h``."""
    seconds = int(seconds)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"
