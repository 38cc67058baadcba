"""``python -m grafana``: regenerate grafana/dashboards/*.json (``--check``: fail on drift)."""

from __future__ import annotations

import argparse
import sys

from grafana.main import DASHBOARDS_DIR, generated_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grafana", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed dashboard differs from what would be generated")
    args = parser.parse_args(argv)
    files = generated_files()
    drifted = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    stale = [p for p in DASHBOARDS_DIR.glob("*.json") if p not in files]
    if args.check:
        for path in (*drifted, *stale):
            print(f"{path} is out of date: run python -m grafana", file=sys.stderr)
        return 1 if drifted or stale else 0
    for path in drifted:
        path.write_text(files[path])
        print(f"wrote {path}")
    for path in stale:
        path.unlink()
        print(f"removed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
