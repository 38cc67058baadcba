"""Console: where notifications go when a target has no URL (no Slack webhook configured).

Each message is printed readably and appended to a log file (``<run dir>/notifications.log``),
so a demo without Slack still shows every alert, and ``tail -f`` follows them.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from alerts.notification import Notification
from alerts.notifiers.base import Attempt
from alerts.notifiers.slack import contributors_line, fallback_text, fields, window_range


def default_log_path() -> Path:
    return Path(os.environ.get("KPIWATCH_RUN_DIR") or ".run") / "notifications.log"


class ConsoleNotifier:
    min_interval = 0.0

    def __init__(self, target: str, log_path: Path | None = None, stands_in_for: str = "console",
                 stream: TextIO | None = None):
        self.target = target
        self.log_path = log_path or default_log_path()
        self.stands_in_for = stands_in_for  # "slack" when a Slack target has no webhook URL
        self.stream = stream

    async def send(self, notification: Notification) -> Attempt:
        text = render(notification, self.target, self.stands_in_for)
        print(text, file=self.stream or sys.stdout, flush=True)
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(text + "\n")
        except OSError as error:
            return Attempt("retry", None, f"cannot append to {self.log_path}: {error.strerror}")
        return Attempt("delivered")

    async def aclose(self) -> None:
        pass


def render(n: Notification, target: str, stands_in_for: str = "console") -> str:
    via = f" (no URL configured for this {stands_in_for} target)" if stands_in_for != "console" else ""
    lines = [f"--- {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC  notification to {target!r}{via}",
             fallback_text(n)]
    if n.kind == "digest":
        return "\n".join([*lines, f"id {n.id}"])
    lines += [field.replace("*", "").replace("\n", ": ", 1) for field in fields(n)]
    if n.contributors:
        lines.append("Contributing: " + contributors_line(n.contributors, n.kpi).replace("*", ""))
    lines += [f"{label}: {url}" for label, url in
              (("Dashboard", n.dashboard_url), ("Runbook", n.runbook_url)) if url]
    lines.append(f"rule {n.rule}, incident {n.incident_id}, id {n.id}, window "
                 f"{window_range(n.window_start, n.window_end)}")
    return "\n".join(lines)
