"""benchmarks/bench_engine.py runs and prints its figures (it asserts nothing itself)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_engine_benchmark_prints_its_figures():
    result = subprocess.run([sys.executable, "benchmarks/bench_engine.py", "--events", "2000"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "µs per event" in line]
    assert [line.split(":")[0].strip() for line in lines] == [
        "decode_canonical (pydantic)", "decode_stored", "engine, backlog", "engine, live"]
