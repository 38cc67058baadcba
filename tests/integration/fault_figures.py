"""The figures a fault test measured, for benchmarks/fault_suite.py's table.

Each call appends one JSON line to the file KPIWATCH_FAULT_FIGURES names (the suite sets it
for each case it runs); without it, nothing is written. The tests print their figures too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES_ENV = "KPIWATCH_FAULT_FIGURES"


def record(case: int, test: str, **figures) -> None:
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return
    # pytest names the running test here: "<node id> (call)".
    node = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    line = json.dumps({"case": case, "test": test, "node": node, **figures}, default=str)
    with Path(path).open("a") as out:
        out.write(line + "\n")


def read(path: Path) -> list[dict]:
    """The records in a figures file, oldest first; none if it was never written."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
