"""A service process the launcher started: its PID file, its log, its health check.

Processes start in their own session so that stopping one ends its whole process group (the
JVM and anything it forks) and nothing else: the launcher only ever signals PIDs it wrote.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class ServiceError(RuntimeError):
    """A service could not be started; the message says what to look at."""


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    run_dir: Path
    healthy: Callable[[], bool]
    env: dict[str, str] | None = None
    start_timeout: float = 60.0

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The PID we started, if that process is still alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        if _is_zombie(pid):
            return None
        return pid

    def start(self) -> float:
        """Start unless already running; wait until healthy. Returns seconds to healthy."""
        began = time.monotonic()
        self.launch()
        self.wait_healthy(began)
        return time.monotonic() - began

    def launch(self) -> None:
        """Start the process unless the one we started before is still running."""
        if self.pid() is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))

    def wait_healthy(self, began: float) -> None:
        while time.monotonic() - began < self.start_timeout:
            if self.pid() is None:
                raise ServiceError(
                    f"{self.name} exited during startup; see the last lines of {self.log_file}:\n"
                    + self.log_tail()
                )
            try:
                if self.healthy():
                    return
            except Exception:  # noqa: BLE001 - any failure of a probe means "not yet"
                pass
            time.sleep(0.25)
        raise ServiceError(
            f"{self.name} was not healthy after {self.start_timeout:.0f} s; "
            f"see {self.log_file}:\n" + self.log_tail()
        )

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM the process group we started, SIGKILL after timeout. True if one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.1)
        if self.pid() is not None:
            _signal_group(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return True
    return False
