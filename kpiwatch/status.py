"""``kpiwatch status``: what is off right now, in one screen (or one JSON document).

For on-call at 3 a.m.: every alert rule's KPI in the last settled window of its size against
its benchmark, shop-wide and per dimension where the rule judges each value separately, and
the alerts pending or firing (from the shared alert state in Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import click
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from alerts.kpi_values import format_kpi
from alerts.rules import RuleSet
from kpiwatch import kpi_view


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
            active_alerts: Callable[[], list[dict]] | None = None, history=None) -> Status:
    documents = {url: kpi_view.fetch_kpis(url) for url in worker_urls}
    merged = kpi_view.merge(list(documents.values()))
    status = Status({url: doc is not None for url, doc in documents.items()},
                    kpi_view.checks(ruleset, merged, history))
    if active_alerts is not None:
        try:
            status.alerts = active_alerts()
        except Exception as error:  # the KPI table is still worth showing
            status.alerts_error = f"{type(error).__name__}: {error}"
    return status


def fmt(value: float | None, kpi: str) -> str:
    return "-" if value is None else format_kpi(kpi, value)


SHORT_REASONS = {"low_volume": "low volume", "no_value": "no data",
                 "no_benchmark": "no history", "no_settled_window": "not settled"}


def render(status: Status, ruleset: RuleSet) -> Group:
    # Compact (no box, short cells): rule names stay whole in an 80-column terminal; the
    # windows' bounds go in the caption, one line per size.
    table = Table(title="KPIs vs benchmarks (last settled window)", expand=False,
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column, justify in (("rule", "left"), ("win", "left"), ("for", "left"),
                            ("value", "right"), ("benchmark", "right"), ("", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    windows: dict[str, str] = {}
    for check in status.checks:
        rule = ruleset.rule(check.rule)
        threshold = rule.benchmark.value if rule.benchmark.type == "static" else check.benchmark
        if threshold is not None:
            bench = ("≥" if check.condition == "below" else "≤") + fmt(threshold, check.kpi)
        elif rule.benchmark.type == "week_ago":
            bench = f"{rule.benchmark.change:+.0%}/1w"
        elif rule.benchmark.change is not None:
            bench = f"{rule.benchmark.change:+.0%}/{rule.benchmark.windows}"
        else:
            bench = f"{rule.benchmark.stddevs:g}sd/{rule.benchmark.windows}"
        mark = {True: "[bold red]BREACH[/]", False: "[green]ok[/]"}.get(
            check.breached, f"[dim]{SHORT_REASONS.get(check.reason, check.reason)}[/]")
        windows[check.window_size] = (f"from {check.window_start[11:16]} UTC"
                                      if check.window_start else "none settled yet")
        dimension = check.dimension.split("=", 1)[-1] if check.dimension else "all"
        table.add_row(check.rule, check.window_size, dimension, fmt(check.value, check.kpi),
                      bench, mark)
    table.caption = "  ".join(f"{size}: {text}" for size, text in windows.items())
    parts: list = [table]
    if status.alerts_error:
        parts.append(Text(f"alerts: alert state unavailable ({status.alerts_error})", style="red"))
    elif not status.alerts:
        parts.append(Text("alerts: none pending or firing", style="green"))
    else:
        alerts = Table(title="Active alerts", expand=False)
        for column in ("status", "rule", "dimension", "since", "value", "incident"):
            alerts.add_column(column)
        for alert in status.alerts:
            dimension = ",".join(f"{k}={v}" for k, v in alert.get("dimension", {}).items())
            value = alert.get("value")
            alerts.add_row(alert["status"], alert["rule"], dimension or "all",
                           str(alert.get("since", ""))[11:19],
                           "-" if value is None else f"{value:.4g}", alert["incident"])
        parts.append(alerts)
    down = [url for url, ok in status.workers.items() if not ok]
    if down:
        parts.append(Text(f"workers not answering: {', '.join(down)} (their partitions are "
                          "missing from the figures above)", style="bold red"))
    return Group(*parts)


def print_status(status: Status, ruleset: RuleSet, console: Console | None = None) -> None:
    (console or Console()).print(render(status, ruleset))


async def read_active_alerts(client, app_id: str, ruleset: RuleSet) -> list[dict]:
    """Pending and firing alerts from the shared alert state, as `kpiwatch alerts list`."""
    from alerts.state_store import StateStore
    from kpiwatch.alerts_cli import alert_rows

    return await alert_rows(StateStore(client, app_id), ruleset)


async def read_history(client, settings, rule, window) -> tuple[Counter | None, list[Counter]]:
    """Week-ago and trailing windows for a relative benchmark, from the evaluator's window
    history in Redis (alerts/window_store.py)."""
    from alerts.evaluator import week_ago_window
    from alerts.window_store import WindowStore
    from streams.windows import window_of

    store = WindowStore(client, settings.app_id, settings.topic_partitions)
    week_ago = await store.values(window.size, week_ago_window(window, settings.timezone).start_ms)
    trailing, previous = [], window
    if rule.benchmark.type == "trailing":
        starts = []
        for _ in range(rule.benchmark.windows):
            previous = window_of(window.size, previous.start_ms - 1, settings.timezone)
            starts.append(previous.start_ms)
        trailing = [v for v in await store.values_many(window.size, starts) if v]
    return week_ago, trailing


class RedisReader:
    """One Redis client on one event loop (KPIWATCH_REDIS_URL) for a whole `kpiwatch status`
    or the demo board's life: the alerts pending or firing, and the window history relative
    benchmarks need. After an error the client is dropped: the next read connects afresh."""

    def __init__(self, settings, ruleset: RuleSet) -> None:
        self.settings = settings
        self.ruleset = ruleset
        self.runner = asyncio.Runner()
        self.client = None

    def __enter__(self) -> RedisReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, reader: Callable[[Any], Awaitable]) -> Any:
        """``await reader(client)`` on this reader's loop and client."""
        import redis.asyncio as redis

        async def main():
            if self.client is None:
                self.client = redis.Redis.from_url(self.settings.redis_url,
                                                   socket_connect_timeout=2, socket_timeout=2)
            try:
                return await reader(self.client)
            except BaseException:
                client, self.client = self.client, None
                with contextlib.suppress(Exception):
                    await client.aclose()
                raise

        return self.runner.run(main())

    def active_alerts(self) -> list[dict]:
        return self.read(lambda client: read_active_alerts(client, self.settings.app_id,
                                                           self.ruleset))

    def goal_alerts(self) -> list[dict]:
        """Goals at risk or missed (alerts/goal_watch.py), as alert rows ``goal:<name>``."""
        from alerts.goal_watch import goal_alerts

        return self.read(lambda client: goal_alerts(client, self.settings.app_id))

    def undelivered(self) -> int:
        """Notifications waiting in the outboxes of every target (alerts/outbox.py)."""
        from alerts.outbox import Outbox, outbox_prefix

        async def depth(client) -> int:
            outbox = Outbox(client, outbox_prefix(self.settings.app_id))
            return sum([await outbox.depth(target) for target in self.ruleset.targets])

        return self.read(depth)

    def history(self, rule, window) -> tuple[Counter | None, list[Counter]]:
        """None and [] for static rules, and when Redis cannot be reached."""
        from redis.exceptions import RedisError

        if rule.benchmark.type == "static":
            return None, []
        try:
            return self.read(lambda client: read_history(client, self.settings, rule, window))
        except (RedisError, OSError):
            return None, []

    def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            self.runner.run(client.aclose())
        self.runner.close()


@click.command("status")
@click.option("--worker", "workers", multiple=True, metavar="URL",
              help="A worker's base URL, repeatable: the shop is the sum of all workers "
                   "(default: this machine's worker on KPIWATCH_WEB_PORT).")
@click.option("--json", "as_json", is_flag=True, default=False,
              help="Print one JSON document instead of tables (for scripts).")
def status_command(workers: tuple[str, ...], as_json: bool) -> None:
    """What is off right now: each alert rule's KPI in the last settled window against its
    benchmark (alerts/rules.yaml, or KPIWATCH_RULES_FILE; relative benchmarks use the window
    history in Redis), and the alerts pending or firing (Redis)."""
    import json

    from alerts.rules import load_rules
    from kpiwatch.settings import load_settings

    settings = load_settings()
    ruleset = load_rules(settings.rules_file)
    urls = list(workers) or [f"http://127.0.0.1:{settings.web_port}"]
    with RedisReader(settings, ruleset) as redis_reader:
        report = collect(urls, ruleset, redis_reader.active_alerts, redis_reader.history)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print_status(report, ruleset)
    if not any(report.workers.values()):
        raise SystemExit(f"status: no worker answered at {', '.join(urls)}; is `kpiwatch worker` "
                         "running? Pass --worker URL for each worker of the deployment.")
