"""The KPI engine alone, without Kafka or Faust: µs of CPU per event on one core.

Simulated shop traffic is parsed to canonical JSON and split over the KPI partitions as the
ingester splits it (by user key), then, per partition, read back and put through a
PartitionEngine the way the KPI agent does (streams/kpis/agent.py): a batch of events
received, the watermark moved to the latest event time, then ``settle``. Two shapes:

  backlog  batches of 250, 5 minutes of allowed lateness, a checkpoint per 5,000 events, and
           at the end the watermark jumps two hours ahead (every session, cart and checkout
           timer of the data fires), as when a worker catches up on old input;
  live     batches of 40, no allowed lateness, a checkpoint per 1,650 events (what 2 s of
           3,300 events/s give one of 4 partitions): each event applied as it arrives.

It also times reading the canonical JSON back both ways (pydantic's ``decode_canonical``,
``models.stored.decode_stored``). Figures, not assertions: the full pipeline's benchmark is
benchmarks/bench_pipeline.py; this one isolates the engine for work on it.

    .venv/bin/python benchmarks/bench_engine.py [--events 50000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import ParseLimits, decode_canonical, encode_canonical, parse_message  # noqa: E402
from models.stored import decode_stored  # noqa: E402
from simulator import ShopSimulator  # noqa: E402
from streams.batches import partition_of  # noqa: E402
from streams.kpis.engine import PartitionEngine  # noqa: E402
from streams.kpis.kpi_settings import KpiSettings  # noqa: E402
from streams.windows import MINUTE_MS  # noqa: E402

PARTITIONS = 4
SHAPES = {  # name: (events per batch, allowed lateness ms, events per checkpoint, final jump)
    "backlog": (250, 5 * MINUTE_MS, 5_000, True),
    "live": (40, 0, 1_650, False),
}


def canonical_events(count: int) -> list[list[bytes]]:
    """``count`` events of simulated traffic as canonical JSON, per KPI partition."""
    now = datetime.now(UTC)
    simulator = ShopSimulator(seed=3, diurnal=False)
    parts: list[list[bytes]] = [[] for _ in range(PARTITIONS)]
    made = 0
    for message in simulator.generate(now - timedelta(hours=2), None, 200):
        for event in parse_message(message.value, now=now, limits=ParseLimits()).events:
            parts[partition_of(event.user_key, PARTITIONS)].append(encode_canonical(event))
            made += 1
        if made >= count:
            return parts
    return parts


def run_engines(parts: list[list[bytes]], shape: str) -> float:
    """CPU seconds to put every partition's events through its engine."""
    batch, lateness_ms, checkpoint_events, jump = SHAPES[shape]
    settings = KpiSettings(timezone=ZoneInfo("Europe/Berlin"), allowed_lateness_ms=lateness_ms,
                           checkpoint_every_s=float("inf"))
    started = time.process_time()
    for partition, lines in enumerate(parts):
        engine = PartitionEngine({}, partition, settings)
        engine.checkpoint_events = checkpoint_events
        latest = 0
        for first in range(0, len(lines), batch):
            progress = engine.progress()
            for index, raw in enumerate(lines[first:first + batch]):
                event = decode_stored(raw)
                if event.is_bot:
                    continue
                latest = max(latest, int(event.timestamp.timestamp() * 1000))
                engine.receive(first + index, event, source=None, settle=False,
                               progress=progress)
            engine.observe_sources({"input:0": latest})
            engine.settle(progress)
        if jump:
            engine.observe_sources({"input:0": latest + 2 * 3_600_000})
            engine.settle(engine.progress())
        engine.checkpoint()
    return time.process_time() - started


def time_decoding(parts: list[list[bytes]], decode) -> float:
    started = time.process_time()
    for lines in parts:
        for raw in lines:
            decode(raw)
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000,
                        help="simulated events (default 50,000)")
    args = parser.parse_args()
    print(f"making {args.events:,} events of simulated traffic ...", flush=True)
    parts = canonical_events(args.events)
    count = sum(map(len, parts))
    gc.collect()
    gc.freeze()  # as the worker does (kpiwatch/cli.py)
    gc.set_threshold(50_000, 20, 20)
    for name, decode in (("decode_canonical (pydantic)", decode_canonical),
                         ("decode_stored", decode_stored)):
        seconds = time_decoding(parts, decode)
        print(f"{name:<32}: {seconds / count * 1e6:6.1f} µs per event")
    for shape in SHAPES:
        seconds = run_engines(parts, shape)
        print(f"engine, {shape:<24}: {seconds / count * 1e6:6.1f} µs per event "
              f"(decoding included; {count:,} events, {PARTITIONS} partitions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
