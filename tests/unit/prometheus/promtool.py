"""``promtool test rules`` on a test file written from a dict (the unit tests' one runner)."""

import subprocess
from pathlib import Path

import yaml


def promtool_test(tmp_path: Path, rule_files: list[Path], tests: list[dict],
                  name: str = "rules_test.yml") -> None:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"rule_files": [str(p) for p in rule_files],
                                    "evaluation_interval": "1m", "tests": tests},
                                   sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
