"""The local service stack: Kafka, Redis and Prometheus as plain processes on loopback.

One way to start things: the tests' session fixture, the demo and the benchmarks all use
:class:`DevStack`, and so does ``python -m devstack``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from devstack.kafka import kafka_process
from devstack.process import ManagedProcess
from devstack.prometheus import prometheus_process
from devstack.redis import redis_process
from kpiwatch.settings import Settings

SERVICES: dict[str, Callable[[Settings], ManagedProcess]] = {
    "kafka": kafka_process,
    "redis": redis_process,
    "prometheus": prometheus_process,
}


class DevStack:
    def __init__(self, settings: Settings, log: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.log = log

    def processes(self) -> list[ManagedProcess]:
        return [factory(self.settings) for factory in SERVICES.values()]

    def up(self) -> dict[str, float]:
        """Start every service (idempotent) and wait until all are healthy.

        Returns seconds from the call to each service being healthy.
        """
        began = time.monotonic()
        processes = self.processes()
        for process in processes:
            process.launch()
        healthy_after = {}
        for process in processes:
            process.wait_healthy(began)
            healthy_after[process.name] = time.monotonic() - began
            self.log(f"{process.name:<10} healthy after {healthy_after[process.name]:5.1f} s"
                     f"  (log: {process.log_file})")
        return healthy_after

    def down(self) -> list[str]:
        """Stop what this stack started, newest first. Returns the names that were running."""
        stopped = []
        for name in reversed(SERVICES):
            process = _handle(self.settings, name)
            if process.stop():
                stopped.append(name)
                self.log(f"{name:<10} stopped")
        return stopped

    def status(self) -> dict[str, int | None]:
        return {name: _handle(self.settings, name).pid() for name in SERVICES}


def _handle(settings: Settings, name: str) -> ManagedProcess:
    """A handle on a service's PID file without resolving jars or writing configs."""
    return ManagedProcess(name, [], settings.run_dir, healthy=lambda: False)
