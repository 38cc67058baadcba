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

