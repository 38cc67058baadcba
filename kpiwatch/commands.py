"""kpiwatch's own commands on the ``kpiwatch`` CLI (beside Faust's ``worker`` and friends)."""

from __future__ import annotations

from pathlib import Path

from faust.cli import argument, option
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kpiwatch import replay as replaying
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
    replaying an incident. Old events are judged by KPIWATCH_REPLAY_HORIZON at ingestion:
    raise it for a backfill of older data."""
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

        def show(sent: int) -> None:
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, completed=sent, rate=sent / elapsed)

        sent = await replaying.replay(replaying.read_records(files), topics, settings.kafka_bootstrap_servers,
                            speed=speed, on_progress=show)
    print(f"replayed {sent} messages from {len(files)} file(s) to "
          f"{', '.join(sorted(topics.values()))} on {settings.kafka_bootstrap_servers}")
