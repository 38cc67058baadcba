"""How many messages per second the simulator generates on one core, per format:
sessions, encoding and JSON, without any sink. Kafka and the file are not timed.

Run from the repository root:  python benchmarks/bench_simulator.py [--minutes N] [--rate R]
"""

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import FORMAT_CHOICES, ShopSimulator, parse_incident  # noqa: E402

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--minutes", type=float, default=60, help="event time simulated per format (default: 60)"
    )
    parser.add_argument(
        "--rate", type=float, default=100, help="events per second of event time (default: 100)"
    )
    options = parser.parse_args()
    duration = timedelta(minutes=options.minutes)
    print(f"{'format':<12} {'messages':>10} {'seconds':>8} {'messages/s':>11}")
    for message_format in FORMAT_CHOICES:
        _measure(
            message_format, ShopSimulator(message_format=message_format), duration, options.rate
        )
    spoiled = ShopSimulator(incidents=(parse_incident("bad-events@0+1d:share=0.2"),))
    _measure("bad-events", spoiled, duration, options.rate)


def _measure(label: str, simulator: ShopSimulator, duration: timedelta, rate: float) -> None:
    started = time.perf_counter()
    count = sum(1 for _ in simulator.generate(START, duration, rate))
    elapsed = time.perf_counter() - started
    print(f"{label:<12} {count:>10,} {elapsed:>8.2f} {count / elapsed:>11,.0f}")


if __name__ == "__main__":
    main()
