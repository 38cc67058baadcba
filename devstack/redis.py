"""Redis for alert state: a throwaway server on loopback, nothing persisted."""

from __future__ import annotations

import socket

from devstack.prerequisites import require
from devstack.process import ManagedProcess
from kpiwatch.settings import Settings


def redis_process(settings: Settings) -> ManagedProcess:
    binary = require("redis-server")["redis-server"]
    data_dir = settings.run_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(settings.redis_port),
        "--dir", str(data_dir.resolve()),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--protected-mode", "yes",
    ]
    return ManagedProcess(
        "redis", argv, settings.run_dir, healthy=lambda: _pings(settings.redis_port)
    )


def _pings(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(16).startswith(b"+PONG")
