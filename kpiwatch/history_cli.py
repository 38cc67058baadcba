"""``kpiwatch kpis``: the KPIs of past settled windows, from every worker's table.

Prometheus stores what it scraped when it scraped it: a window's value shows at the time it
settled, not at the window's own time, and a backfill's history never appears there at its
event time. The workers' tables keep the windows themselves (for their size's retention,
``KpiSettings.window_retention_ms``), so this reads them: each worker's ``/kpis/history``
lists its partitions' settled windows, and the shop is the sum over partitions, each counted
once however many workers report it (one may be moving between two). A window some partition
has not settled, or no worker reports, is marked incomplete rather than summed short.
"""

from __future__ import annotations

import csv
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import click

from streams.kpis import readout
from streams.windows import WINDOW_SIZES

# The columns of the table and CSV forms (every KPI is in --format json).
COLUMNS = ("sessions", "conversion_rate", "orders", "revenue", "average_order_value",
           "cart_abandonment_rate", "ad_spend", "roas", "cac")


def fetch_history(url: str, size: str, start: str, end: str, timeout: float = 30.0) -> dict:
    query = urllib.parse.urlencode({"window": size, "from": start, "to": end})
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/kpis/history?{query}",
                                    timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise click.ClickException(f"{url}: {json.load(error).get('error', error)}") from None
    except (OSError, ValueError) as error:
        raise click.ClickException(f"no answer from {url} ({error}); is `kpiwatch worker` "
                                   "running there? Pass --worker URL for each worker.") from None


def merge(documents: list[dict], partitions: int) -> list[dict]:
    """Windows oldest first: values summed over partitions (each once), and which of the
    ``partitions`` are missing from each."""
    by_window: dict[tuple[str, str], dict[str, dict]] = {}
    for document in documents:
        for window in document["windows"]:
            parts = by_window.setdefault((window["start"], window["end"]), {})
            for partition, values in window["partitions"].items():
                parts.setdefault(partition, values)
    out = []
    for (start, end), parts in sorted(by_window.items()):
        values: Counter = Counter()
        for part in parts.values():
            values.update(readout.decoded(part))
        missing = sorted(set(map(str, range(partitions))) - set(parts), key=int)
        out.append({"start": start, "end": end, "values": values, "missing": missing})
    return out


def rows(windows: list[dict], by: str | None) -> list[dict]:
    out = []
    for window in windows:
        values = window["values"]
        keys = [None] if by is None else sorted(
            {k.split("|")[1] for k in values if k.startswith(("sessions|", "orders|",
                                                              "ad_spend|"))})
        for channel in keys:
            kpis = readout.derived(values, channel)
            out.append({"start": window["start"], "end": window["end"],
                        **({"channel": channel} if by else {}),
                        "complete": not window["missing"], "kpis": kpis,
                        **({} if by else {"values": {k: str(v) if isinstance(v, Decimal) else v
                                                     for k, v in sorted(values.items())}})})
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def columns_of(chosen: str | None) -> tuple[str, ...]:
    """The --kpi columns, checked against the KPIs a window has (a UsageError names them)."""
    if chosen is None:
        return COLUMNS
    known = [name for name, value in readout.derived({}).items() if not isinstance(value, dict)]
    names = tuple(name.strip() for name in chosen.split(",") if name.strip())
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise click.UsageError(f"--kpi {chosen!r}: unknown {', '.join(unknown) or 'empty'}; "
                               f"one or more of: {', '.join(known)}")
    return names


def _retention() -> str:
    from streams.kpis.kpi_settings import DAY_MS, WINDOW_RETENTION_MS

    return ", ".join(f"{size}: {ms // DAY_MS} days" for size, ms in WINDOW_RETENTION_MS.items())


HELP = f"""KPIs of the settled windows of a past range, summed over every worker's partitions.

    For reports and for backfills: Prometheus shows a window when it was scraped, this shows
    it at its own time, for as long as the workers keep windows of that size ({_retention()})."""


@click.command("kpis", help=HELP)
@click.option("--window", "size", type=click.Choice(WINDOW_SIZES), default="1h",
              show_default=True, help="The window size.")
@click.option("--from", "start", required=True, metavar="TIME",
              help="From this time (ISO 8601 with a zone, e.g. 2026-12-01T00:00:00Z).")
@click.option("--to", "end", default=None, metavar="TIME", help="Up to this time (default: now).")
@click.option("--by", type=click.Choice(["channel"]), default=None,
              help="One row per window and channel.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="json has every KPI and the raw counts.")
@click.option("--kpi", "chosen", default=None, metavar="NAME,...",
              help="The columns of the table and CSV forms, e.g. nps,csat,churn_rate "
                   f"(default: {','.join(COLUMNS)}); any KPI of the json form.")
@click.option("--worker", "workers", multiple=True, metavar="URL",
              help="A worker's base URL, repeatable: give every worker of the deployment "
                   "(default: this machine's worker on KPIWATCH_WEB_PORT).")
def kpis(size: str, start: str, end: str | None, by: str | None, fmt: str,
         chosen: str | None, workers: tuple[str, ...]) -> None:
    from kpiwatch.settings import load_settings

    columns = columns_of(chosen)

    settings = load_settings()
    end = end or datetime.now(UTC).isoformat()
    urls = list(workers) or [f"http://127.0.0.1:{settings.web_port}"]
    documents = [fetch_history(url, size, start, end) for url in urls]
    windows = merge(documents, settings.topic_partitions)
    incomplete = [w for w in windows if w["missing"]]
    if incomplete:
        click.echo(f"kpiwatch kpis: {len(incomplete)} of {len(windows)} windows lack partitions "
                   f"(e.g. {incomplete[0]['start']}: {', '.join(incomplete[0]['missing'])}): "
                   "not settled there yet, or no worker given owns them", err=True)
    if any(d.get("truncated") for d in documents):
        click.echo(f"kpiwatch kpis: more than {readout.MAX_HISTORY_WINDOWS} windows; narrow "
                   "--from/--to", err=True)
    out = rows(windows, by)
    if fmt == "json":
        click.echo(json.dumps(out, indent=2, default=str))
        return
    header = ["start", *(["channel"] if by else []), *columns, "complete"]
    lines = [[r["start"], *([r["channel"]] if by else []),
              *(_cell(r["kpis"].get(c)) for c in columns), "yes" if r["complete"] else "no"]
             for r in out]
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(lines)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{size} windows from {start} to {end}")
    for column in header:
        table.add_column(column, justify="left" if column in ("start", "channel") else "right")
    for line in lines:
        table.add_row(*line)
    Console().print(table)
    if not out:
        click.echo("no settled window in that range (older than the workers keep, or not "
                   "settled yet)")
