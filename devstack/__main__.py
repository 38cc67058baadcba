"""``python -m devstack up|down|status``: the local Kafka, Redis and Prometheus.

Ports, run directory and the rest come from the same KPIWATCH_* settings as the worker.
"""

from __future__ import annotations

import argparse
import sys

from devstack.process import ServiceError
from devstack.stack import DevStack
from kpiwatch.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Start, stop or inspect kpiwatch's local service stack: Apache Kafka "
        "(KRaft, jars from Maven Central), Redis and Prometheus, as processes on 127.0.0.1. "
        "Data, logs and PID files live in KPIWATCH_RUN_DIR (default .run/).",
    )
    parser.add_argument(
        "command",
        choices=["up", "down", "status"],
        help="up: start and wait until healthy (idempotent); down: stop only the processes "
        "this launcher started (by PID file); status: show which are running",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    stack = DevStack(settings)
    try:
        if args.command == "up":
            stack.up()
            print(f"kafka      {settings.kafka_bootstrap_servers}")
            print(f"redis      {settings.redis_url}")
            print(f"prometheus http://127.0.0.1:{settings.prometheus_port}")
        elif args.command == "down":
            if not stack.down():
                print("nothing was running")
        else:
            for name, pid in stack.status().items():
                print(f"{name:<10} {'running, pid ' + str(pid) if pid else 'stopped'}")
    except ServiceError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
