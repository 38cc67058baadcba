"""Prometheus scraping the kpiwatch workers, with the project's rule files loaded.

Workers are found through a file_sd targets file, so tests and the demo can point Prometheus at
whatever worker ports they use without restarting it (see :func:`write_scrape_targets`).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import yaml

from devstack.prerequisites import require
from devstack.process import ManagedProcess
from kpiwatch.settings import Settings

REPO_RULES = Path(__file__).resolve().parent.parent / "prometheus" / "rules"


def targets_file(settings: Settings) -> Path:
    return (settings.run_dir / "prometheus" / "targets" / "workers.json").resolve()


def write_scrape_targets(settings: Settings, targets: Iterable[str]) -> None:
    """Point Prometheus at these worker host:port pairs (picked up within seconds)."""
    path = targets_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"targets": sorted(targets), "labels": {"job": "kpiwatch"}}]))
    tmp.replace(path)


def prometheus_config(settings: Settings) -> dict:
    interval = f"{settings.scrape_interval_seconds:g}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(REPO_RULES / "*.yml")],
        "scrape_configs": [
            {
                "job_name": "kpiwatch",
                "file_sd_configs": [
                    {"files": [str(targets_file(settings))], "refresh_interval": "5s"}
                ],
            }
        ],
    }


def prometheus_process(settings: Settings) -> ManagedProcess:
    binary = require("prometheus")["prometheus"]
    prom_dir = (settings.run_dir / "prometheus").resolve()
    prom_dir.mkdir(parents=True, exist_ok=True)
    config = prom_dir / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(settings), sort_keys=False))
    if not targets_file(settings).exists():
        write_scrape_targets(settings, [f"127.0.0.1:{settings.web_port}"])
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={prom_dir / 'data'}",
        f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=2d",
    ]
    return ManagedProcess(
        "prometheus", argv, settings.run_dir, healthy=lambda: _ready(settings.prometheus_port)
    )


def prometheus_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.prometheus_port}"


def _ready(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as response:
        return response.status == 200
