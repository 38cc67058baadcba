"""Every query of the generated dashboards, with Grafana's variables substituted, so tests can
parse them (promtool) and run them against a real Prometheus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# What Grafana would put in: all channels and devices, the default window, and a rate
# interval that covers several scrapes.
DEFAULTS = {"window": "15m", "channel": ".*", "device": ".*", "__rate_interval": "1m",
            "datasource": "kpiwatch-prometheus"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    ref: str
    expr: str

    def where(self) -> str:
        return f"dashboard {self.dashboard!r}, panel {self.panel!r}, query {self.ref}"


def substitute(expr: str, values: dict[str, str] = DEFAULTS) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def panel_queries(model: dict) -> Iterator[Query]:
    for panel in model["panels"]:
        for target in panel.get("targets", ()):  # (a text panel has none)
            yield Query(model["title"], panel["title"], target["refId"], target["expr"])


def annotation_queries(model: dict) -> Iterator[Query]:
    for annotation in model["annotations"]["list"]:
        if "expr" in annotation:
            yield Query(model["title"], f"annotation {annotation['name']}", "-",
                        annotation["expr"])
