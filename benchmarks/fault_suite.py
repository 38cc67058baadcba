"""The fault suite of issue #24, long variants, with one table of figures at the end.

    .venv/bin/python benchmarks/fault_suite.py                 # every case, long sizes
    .venv/bin/python benchmarks/fault_suite.py --cases 1,2,5   # some of them
    .venv/bin/python benchmarks/fault_suite.py --quick         # the CI sizes

Cases 1-4 and 6 are the integration tests (run with pytest in a subprocess each, their sizes
set by environment variables; the CI runs them at their default sizes); case 5 is
benchmarks/bench_state_at_scale.py. Each test records what it measured in the file
KPIWATCH_FAULT_FIGURES names (tests/integration/fault_figures.py); the table shows, per test,
pass or fail, the events and the figures. A size already set in the environment wins over
the long variant's. KPIWATCH_TEST_PORT_OFFSET applies to the stack the tests share (cases 3,
4 and 6); cases 1, 2 and 5 start stacks of their own on free ports. Logs, JUnit reports and
figures go to a directory under .run/ (printed). Figures are printed, never asserted as
timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.fault_figures import FIGURES_ENV, read  # noqa: E402

BROKER_TESTS = "tests/integration/test_fault_broker_and_scaling.py"
# The 100,000-event ingest, spread over long enough that the faults hit it live.
LONG_INGEST = {"KPIWATCH_FAULT_EVENTS": "100000", "KPIWATCH_FAULT_STREAM_SECONDS": "100"}
STATE_SCRIPT = "benchmarks/bench_state_at_scale.py"


@dataclasses.dataclass(frozen=True)
class Case:
    number: int
    title: str
    tests: tuple[str, ...] = ()  # pytest node ids; none: the state benchmark
    long_env: dict[str, str] = dataclasses.field(default_factory=dict)


CASES = {case.number: case for case in (
    Case(1, "broker restart mid-ingest (SIGTERM, kill -9), 2 workers",
         (f"{BROKER_TESTS}::test_a_broker_restart_mid_ingest_loses_and_doubles_nothing",),
         LONG_INGEST),
    Case(2, "scaling 1 -> 2 -> 3 -> 1 workers during ingest",
         (f"{BROKER_TESTS}::test_scaling_1_2_3_1_during_ingest_moves_partitions_without_double_"
          "counting",), LONG_INGEST),
    Case(3, "Redis restarted and flushed mid-incident",
         ("tests/integration/test_alerts_redis_outage.py",)),
    Case(4, "1 % poison pills in the stream", ("tests/integration/test_fault_poison_pills.py",),
         {"KPIWATCH_FAULT_POISON_MESSAGES": "100000"}),
    Case(5, "memory and state: a day of a big shop on one worker"),
    Case(6, "secrets never in logs, /metrics, /kpis, dead letters",
         ("tests/integration/test_fault_secrets.py",)),
)}
# Case 5's size: the issue's full day (hours on a 2-core machine), or a CI-sized one.
LONG_STATE_SCALE = 1.0
QUICK_STATE_SCALE = 0.01


def parse_cases(text: str) -> list[int]:
    try:
        numbers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of case numbers: {text!r}") from None
    unknown = [n for n in numbers if n not in CASES]
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(
            f"cases are {', '.join(map(str, CASES))}; got {text!r}")
    return numbers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cases = "\n".join(f"  {c.number}  {c.title}" for c in CASES.values())
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"cases:\n{cases}\n\nlong sizes: cases 1 and 2 "
               f"{' '.join(f'{k}={v}' for k, v in LONG_INGEST.items())}; case 4 "
               f"KPIWATCH_FAULT_POISON_MESSAGES=100000; case 5 --scale {LONG_STATE_SCALE:g} "
               f"(1M users, 3M sessions); cases 3 and 6 have one size.")
    parser.add_argument("--cases", type=parse_cases, default=list(CASES), metavar="N,N,...",
                        help="the cases to run (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"the CI sizes (case 5: --scale {QUICK_STATE_SCALE:g})")
    parser.add_argument("--state-scale", type=float, default=None, metavar="F",
                        help="case 5's --scale (default: the full day, or "
                             f"{QUICK_STATE_SCALE:g} with --quick)")
    parser.add_argument("--timeout", type=float, default=4 * 3600, metavar="S",
                        help="give a case up after this long (default 4 h)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where logs, reports and figures go (default .run/fault-suite-<time>)")
    args = parser.parse_args(argv)
    if args.state_scale is None:
        args.state_scale = QUICK_STATE_SCALE if args.quick else LONG_STATE_SCALE
    if args.state_scale <= 0:
        parser.error("--state-scale must be more than 0")
    return args


@dataclasses.dataclass
class Row:
    case: int
    test: str
    result: str
    events: int | None = None
    seconds: float | None = None
    figures: str = ""


def case_env(case: Case, quick: bool, figures: Path) -> dict[str, str]:
    sizes = {} if quick else case.long_env
    return {**sizes, **os.environ, FIGURES_ENV: str(figures)}


def run_case(case: Case, args: argparse.Namespace, out: Path) -> list[Row]:
    figures = out / f"case-{case.number}.jsonl"
    log = out / f"case-{case.number}.log"
    env = case_env(case, args.quick, figures)
    if case.tests:
        report = out / f"case-{case.number}.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                   f"--junitxml={report}", *case.tests]
    else:
        summary = out / "case-5.json"
        command = [sys.executable, STATE_SCRIPT, "--scale", f"{args.state_scale:g}",
                   "--figures", str(summary)]
    sized = [f"{k}={v}" for k, v in env.items() if k.startswith("KPIWATCH_FAULT_")
             and k != FIGURES_ENV]
    print(f"case {case.number}: {case.title}\n  {' '.join([*sized, *command[1:]])}\n"
          f"  log {log}", flush=True)
    began = time.monotonic()
    with log.open("wb") as output:
        try:
            code = subprocess.run(command, cwd=REPO, env=env, stdout=output,
                                  stderr=subprocess.STDOUT, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            code = None
    elapsed = time.monotonic() - began
    rows = (test_rows(case, report, read(figures), code) if case.tests
            else [state_row(summary, code, elapsed)])
    for row in rows:
        print(f"  {row.result:<4} {row.test} ({row.seconds or elapsed:.0f} s)", flush=True)
    return rows


def test_rows(case: Case, report: Path, records: list[dict], code: int | None) -> list[Row]:
    by_name = {record["node"].split("::")[-1]: record for record in records if record.get("node")}
    rows = []
    if report.exists():
        for testcase in ET.parse(report).getroot().iter("testcase"):
            name = testcase.get("name", "?")
            failed = any(child.tag in ("failure", "error") for child in testcase)
            skipped = any(child.tag == "skipped" for child in testcase)
            record = by_name.get(name, {})
            rows.append(Row(case.number, record.get("test", name),
                            "FAIL" if failed else "skip" if skipped else "pass",
                            record.get("events"), float(testcase.get("time", 0)),
                            describe(record) if record else ""))
    if not rows:
        rows.append(Row(case.number, case.title, "FAIL",
                        figures="timed out" if code is None else f"pytest exited {code}"))
    return rows


def state_row(summary: Path, code: int | None, elapsed: float) -> Row:
    figures = json.loads(summary.read_text()) if summary.exists() else {}
    ok = code == 0 and figures.get("expiry_as_documented", False)
    return Row(5, "state at scale", "pass" if ok else "FAIL", figures.get("events"), elapsed,
               describe(figures) if figures else
               ("timed out" if code is None else f"exited {code}"))


def describe(f: dict) -> str:
    """A record's figures in a line of the table."""
    case = f.get("case")
    # Cases 1 and 2 record their fault's figures before the oracle judges, and again after:
    # a failed judgement leaves the first record only.
    judged = "settled_windows" in f
    if case == 1:
        return (f"down {f['down_s']:g} s (unavailable {f['unavailable_s']:g} s); healthy "
                f"{f['healthy_s']:g} s after its start; first commit {f['first_commit_s']:g} s, "
                f"first new count in /metrics {f['first_count_s']:g} s after it; "
                + (f"{f['settled_windows']} windows == oracle; workers restarted "
                   f"{f['workers_restarted']}" if judged else "not judged equal to the oracle"))
    if case == 2:
        return (f"{f['samples']} samples while partitions moved, {f['overlaps']} with a "
                f"partition on two workers; "
                + (f"none above the oracle, {f['settled_windows']} windows and Prometheus sums "
                   "== oracle" if judged else "not judged equal to the oracle"))
    if case == 3:
        return f"sent {', '.join(f['sent'])}; {f['duplicates']} repeated"
    if case == 4:
        return (f"{f['pills']} pills: {f['dead_letters']} dead letters ({f['reasons']} "
                "reasons); " + (f"{f['valid_pills']} valid; {f['settled_windows']} windows == "
                                f"oracle; {f['series']} series (bound {f['series_bound']}); "
                                "0 restarts" if judged else "KPIs not judged equal to the oracle"))
    if case == 5:
        return (f"{f['users']:,} users, {f['sessions']:,} sessions; {f['rate']:,} events/s; "
                f"RSS peak {f['rss_peak'] / 1e6:,.0f} MB, {f['rss_settled'] / 1e6:,.0f} MB "
                f"settled, {f['rss_recovered'] / 1e6:,.0f} MB after recovery; changelog "
                f"{f['changelog_records']:,} records, {f['changelog_disk_bytes'] / 1e6:,.0f} "
                f"MB; recovery {f['recovery_s']:g} s; expiry as documented: "
                f"{'yes' if f.get('expiry_as_documented') else 'no'}")
    if case == 6:
        return (f"{f['places']} outputs and {f['files']} files searched, {f['leaks']} "
                f"with a secret")
    return json.dumps(f)


def print_table(rows: list[Row]) -> None:
    headers = ("case", "test", "result", "events", "s", "figures")
    cells = [(str(r.case), r.test, r.result, f"{r.events:,}" if r.events else "-",
              f"{r.seconds:.0f}" if r.seconds is not None else "-", r.figures) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers[:-1])]
    for line in (headers, *cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False))
              + "  " + line[-1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or REPO / ".run" / f"fault-suite-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    print(f"fault suite, {'CI' if args.quick else 'long'} sizes, cases "
          f"{','.join(map(str, args.cases))}; output in {out}", flush=True)
    rows = []
    for number in args.cases:
        rows += run_case(CASES[number], args, out)
    print()
    print_table(rows)
    return 0 if all(row.result == "pass" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
