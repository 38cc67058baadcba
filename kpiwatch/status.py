"""``kpiwatch status``: what is off right now, in one screen (or one JSON document).

For on-call at 3 a.m.: every alert rule's KPI in the last settled window of its size against
its benchmark, shop-wide and per dimension where the rule judges each value separately, and
the alerts pending or firing (from the shared alert state in Redis).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from alerts.rules import RuleSet
from kpiwatch import kpi_view

FORMATS = {"ratio": "{:.2%}", "seconds": "{:.0f} s", "amount": "{:,.2f}", "count": "{:,.0f}"}


@dataclass
class Status:
    workers: dict[str, bool]  # url -> answered
    checks: list[kpi_view.Check]
    alerts: list[dict] = field(default_factory=list)
    alerts_error: str | None = None

    @property
    def breached(self) -> list[kpi_view.Check]:
        return [c for c in self.checks if c.breached]

    def as_dict(self) -> dict:
        return {"workers": self.workers, "checks": [c.as_dict() for c in self.checks],
                "breached": len(self.breached), "alerts": self.alerts,
                "alerts_error": self.alerts_error}


def collect(worker_urls: list[str], ruleset: RuleSet,
            active_alerts: Callable[[], list[dict]] | None = None) -> Status:
    documents = {url: kpi_view.fetch_kpis(url) for url in worker_urls}
    merged = kpi_view.merge(list(documents.values()))
    status = Status({url: doc is not None for url, doc in documents.items()},
                    kpi_view.checks(ruleset, merged))
    if active_alerts is not None:
        try:
            status.alerts = active_alerts()
        except Exception as error:  # the KPI table is still worth showing
            status.alerts_error = f"{type(error).__name__}: {error}"
    return status


def fmt(value: float | None, kpi: str) -> str:
    if value is None:
        return "-"
    from alerts.rules import KPIS

    return FORMATS[KPIS[kpi]["kind"]].format(value)


def render(status: Status, ruleset: RuleSet) -> Group:
    table = Table(title="KPIs vs benchmarks (last settled window)", expand=False)
    for column, justify in (("rule", "left"), ("window", "left"), ("dimension", "left"),
                            ("value", "right"), ("benchmark", "right"), ("", "left")):
        table.add_column(column, justify=justify)
    for check in status.checks:
        rule = ruleset.rule(check.rule)
        if check.benchmark is not None:
            bench = ("≥ " if check.condition == "below" else "≤ ") + fmt(check.benchmark, check.kpi)
        else:
            change = rule.benchmark.model_dump()
            bench = "relative" if not change.get("change") else \
                f"{change['change']:+.0%} vs week ago"
        mark = {True: "[bold red]BREACH[/]", False: "[green]ok[/]", None: "[dim]-[/]"}[check.breached]
        start = check.window_start[11:16] if check.window_start else "none settled"
        table.add_row(check.rule, f"{check.window_size} {start}", check.dimension or "all",
                      fmt(check.value, check.kpi), bench, mark)
    parts: list = [table]
    if status.alerts_error:
        parts.append(Text(f"alerts: alert state unavailable ({status.alerts_error})", style="red"))
    elif not status.alerts:
        parts.append(Text("alerts: none pending or firing", style="green"))
    else:
        alerts = Table(title="Active alerts", expand=False)
        for column in ("state", "rule", "dimension", "since", "value", "incident"):
            alerts.add_column(column)
        for alert in status.alerts:
            alerts.add_row(str(alert.get("state", "")), str(alert.get("rule", "")),
                           str(alert.get("dimension", "") or "all"), str(alert.get("since", "")),
                           str(alert.get("value", "")), str(alert.get("incident_id", "")))
        parts.append(alerts)
    down = [url for url, ok in status.workers.items() if not ok]
    if down:
        parts.append(Text(f"workers not answering: {', '.join(down)} (their partitions are "
                          "missing from the figures above)", style="bold red"))
    return Group(*parts)


def print_status(status: Status, ruleset: RuleSet, console: Console | None = None) -> None:
    (console or Console()).print(render(status, ruleset))


def active_alerts_from(settings) -> Callable[[], list[dict]] | None:
    """Reads pending and firing alerts from the shared alert state, once it is built."""
    try:
        from alerts.store import active_alerts  # noqa: F401  (the evaluator's Redis state)
    except ImportError:
        return None
    return lambda: active_alerts(settings)
