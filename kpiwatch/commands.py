"""kpiwatch's own commands on the ``kpiwatch`` CLI (beside Faust's ``worker`` and friends)."""

from __future__ import annotations

from pathlib import Path

from faust.cli import argument, option
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kpiwatch import replay as replaying
from simulator.sinks.kafka import ProduceProgress, produce
from streams.app import app, settings


@app.command(
    argument("files", nargs=-1, required=True, type=Path),
    option("--speed", type=float, default=0.0, show_default=True,
           help="Pace by event time: 0 = as fast as possible, 1 = real time, "
                "N = N times real time."),
)
async def replay(self, files: tuple[Path, ...], speed: float) -> None:
    """Replay JSONL files (canonical, Segment or GA4 events, or simulator output) into the
    input topics, keyed by user key, routed by event type. For backfills and for on-call
    replaying an incident. Each record's Kafka timestamp is its event time, so history is
    judged at ingestion as when it happened."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SystemExit(f"replay: no such file: {', '.join(missing)}")
    total = sum(1 for f in files for line in f.open("rb") if line.strip())
    topics = {"clickstream": settings.topic_clickstream, "cart": settings.topic_cart,
              "purchase": settings.topic_purchase}
    columns = (TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:>8.0f} msg/s"), TimeElapsedColumn())
    with Progress(*columns) as progress:
        task = progress.add_task("replay", total=total, rate=0.0)

        def show(report: ProduceProgress) -> None:
            progress.update(task, completed=report.sent, rate=report.per_second)

        messages = replaying.as_messages(replaying.read_records(files))
        sent = await produce(messages, topics, settings.kafka_bootstrap_servers, speed=speed,
                             on_progress=show, progress_interval=0.5)
    print(f"replayed {sent} messages from {len(files)} file(s) to "
          f"{', '.join(sorted(topics.values()))} on {settings.kafka_bootstrap_servers}")


@app.command(
    option("--worker", "workers", multiple=True, metavar="URL",
           help="A worker's base URL, repeatable: the shop is the sum of all workers "
                "(default: this machine's worker on KPIWATCH_WEB_PORT)."),
    option("--json", "as_json", is_flag=True, default=False,
           help="Print one JSON document instead of tables (for scripts)."),
)
async def status(self, workers: tuple[str, ...], as_json: bool) -> None:
    """What is off right now: each alert rule's KPI in the last settled window against its
    benchmark (alerts/rules.yaml, or KPIWATCH_RULES_FILE), and the alerts pending or firing."""
    import json

    from alerts.rules import load_rules
    from kpiwatch import status as status_view

    ruleset = load_rules(settings.rules_file)
    urls = list(workers) or [f"http://127.0.0.1:{settings.web_port}"]
    report = status_view.collect(urls, ruleset, status_view.active_alerts_from(settings, ruleset),
                                status_view.history_from(settings))
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        status_view.print_status(report, ruleset)
    if not any(report.workers.values()):
        raise SystemExit(f"status: no worker answered at {', '.join(urls)}; is `kpiwatch worker` "
                         "running? Pass --worker URL for each worker of the deployment.")
