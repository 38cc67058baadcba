"""``kpiwatch goals``: each goal of the goals file with its progress (alerts/goals.py).

A goal's value is summed from the settled windows of the workers' tables over its span, as
``kpiwatch kpis`` reads them: whole business days first, then the hours settled since the last
whole day, then the alert rules' shorter windows (as the workers' goal gauges are, so both
give the same figure), each only while every partition has settled it (a gap stops the sum
there, and ``covered_until`` says how far the value goes).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import click

from alerts.goal_watch import watched_sizes
from alerts.goals import Span, load_goals, progress_of
from alerts.rules import load_rules
from kpiwatch.history_cli import fetch_history, merge
from streams.windows import iso, to_ms


def span_of(window: dict) -> Span:
    return (to_ms(datetime.fromisoformat(window["start"])),
            to_ms(datetime.fromisoformat(window["end"])), bool(window["missing"]),
            window["values"])


@click.command("goals")
@click.option("--worker", "workers", multiple=True, metavar="URL",
              help="A worker's base URL, repeatable: give every worker of the deployment "
                   "(default: this machine's worker on KPIWATCH_WEB_PORT).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (for scripts).")
def goals(workers: tuple[str, ...], as_json: bool) -> None:
    """The goals of KPIWATCH_GOALS_FILE (default alerts/goals.yaml), each with its value so
    far, where a straight path to the target would be now, and its status: on_track, at_risk,
    achieved, missed, not_started or no_data."""
    from kpiwatch.settings import load_settings

    settings = load_settings()
    goal_set = load_goals()
    if not goal_set.goals:
        click.echo("no goals: add them to alerts/goals.yaml or KPIWATCH_GOALS_FILE "
                   "(schema: alerts/goals.py)")
        return
    urls = list(workers) or [f"http://127.0.0.1:{settings.web_port}"]

    async def fetch(size: str, from_ms: int, to_ms_: int) -> list[Span]:
        documents = [fetch_history(url, size, iso(from_ms), iso(to_ms_)) for url in urls]
        return [span_of(w) for w in merge(documents, settings.topic_partitions)]

    async def report_all() -> list:
        now = to_ms(datetime.now(UTC))
        sizes = watched_sizes([rule.window for rule in load_rules(settings.rules_file).rules])
        return [await progress_of(goal, now, fetch, settings.timezone, sizes)
                for goal in goal_set.goals]

    report = asyncio.run(report_all())
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in report], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    colours = {"on_track": "green", "achieved": "green", "at_risk": "bold red",
               "missed": "red"}
    table = Table(title="Goals")
    for column in ("goal", "kpi", "span", "value", "path now", "target", "status"):
        table.add_column(column, justify="right" if column in ("value", "path now", "target")
                         else "left")
    for p in report:
        kpi = p.kpi + (f" ({p.channel})" if p.channel else "")
        value = "-" if p.value is None else f"{p.value:,.4g}"
        colour = colours.get(p.status, "dim")
        table.add_row(p.goal, kpi, f"{p.start} to {p.deadline}", value, f"{p.expected:,.4g}",
                      f"{p.target:,.4g}", f"[{colour}]{p.status}[/]")
    Console().print(table)
