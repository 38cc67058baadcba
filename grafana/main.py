"""Assembles the dashboards and writes them as deterministic JSON to grafana/dashboards/."""

from __future__ import annotations

import json
from pathlib import Path

from grafana.boards import channels, checkout, economics, journey, overview, pipeline, retention

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
BOARDS = (overview, checkout, channels, retention, economics, journey, pipeline)


def dashboards() -> dict[str, dict]:
    """uid -> dashboard JSON model."""
    return {board.UID: board.build() for board in BOARDS}


def render(model: dict) -> str:
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def generated_files() -> dict[Path, str]:
    return {DASHBOARDS_DIR / f"{uid}.json": render(model) for uid, model in dashboards().items()}
