"""The live demo: local stack, a worker, simulated shop traffic with a scripted incident, and a
terminal board of the main KPIs against their benchmarks.

    scripts/demo                      # until Ctrl-C
    scripts/demo --duration 300       # five minutes, then stop everything it started

Everything the demo starts it stops on exit, on Ctrl-C, SIGTERM or a closed terminal (SIGHUP)
alike (the services only if it started them, and not with --keep-stack).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from alerts.goals import goals_path, load_goals
from alerts.rules import RuleSet, load_rules
from devstack import DevStack
from devstack.process import ServiceError
from devstack.prometheus import prometheus_url, write_scrape_targets
from kpiwatch import kpi_view
from kpiwatch.kpi_view import fetch_kpis
from kpiwatch.settings import ConfigError, load_settings
from kpiwatch.status import RedisReader
from simulator.sources import CAMPAIGNS

REPO = Path(__file__).resolve().parent.parent
# A conversion drop on paid search from minute 2 to 9, then from minute 10 to 20 paid search's
# clicks cost six times as much and a fifth more of them never buy (ROAS falls, orders do not).
DEFAULT_INCIDENTS = ("conversion-drop@120s+420s:channel=paid_search,drop=0.9",
                     "campaign-waste@600s+600s:channel=paid_search,factor=6")
# The simulator sends a spend row per campaign and ad account every minute, at the minute's
# start: the demo's rules judge 1-minute windows, with their spend known before they settle.
SPEND_SPAN = "1m"
# Short lateness so windows settle within the first minutes of a demo; a short source idle
# timeout so the sparse purchase partitions do not hold the watermark back (the traffic is
# real time: a source silent for 1 s is idle, not behind) and a quick evaluation tick: window
# settle -> alert decision 5.5 s with 5 s / 1 s, 2.9 s with 2 s / 1 s, 1.7 s with 1 s / 0.25 s
# (tests/integration/test_demo.py); rules that judge 1-minute windows (examples/demo/rules.yaml
# says why).
DEMO_ENV = {"KPIWATCH_ALLOWED_LATENESS": "PT20S", "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT1S",
            "KPIWATCH_ALERT_EVALUATION_INTERVAL": "PT0.25S",
            "KPIWATCH_RULES_FILE": str(REPO / "examples" / "demo" / "rules.yaml"),
            "KPIWATCH_GOALS_FILE": str(REPO / "examples" / "demo" / "goals.yaml"),
            # The simulated shop's campaigns by name, and its products' unit costs (the file is
            # `python -m simulator costs --seed 1`, the demo's seed; a few products have none).
            "KPIWATCH_CAMPAIGNS": json.dumps(CAMPAIGNS),
            "KPIWATCH_PRODUCT_COSTS_FILE": str(REPO / "examples" / "demo" / "costs.csv")}

# (label, kpi key in /kpis, format); the benchmarks beside them are those of the alert rules that
# judge each KPI (KPIWATCH_RULES_FILE; the demo's: examples/demo/rules.yaml)
BOARD = [
    ("Sessions", "sessions", "{:.0f}"),
    ("Conversion rate", "conversion_rate", "{:.1%}"),
    ("Add-to-cart rate", "add_to_cart_rate", "{:.1%}"),
    ("Bounce rate", "bounce_rate", "{:.1%}"),
    ("Orders", "orders", "{:.0f}"),
    ("Revenue (USD)", "revenue", "{:,.2f}"),
    ("Average order value", "average_order_value", "{:,.2f}"),
    ("Checkout time p95 (s)", "checkout_p95_seconds", "{:.0f}"),
    ("Payment failure rate", "payment_failure_rate", "{:.1%}"),
    ("Cart abandonment rate", "cart_abandonment_rate", "{:.1%}"),
    ("ROAS, all channels", "roas", "{:.2f}"),
    ("CAC (USD)", "cac", "{:,.2f}"),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Run kpiwatch live on this machine: starts Kafka, Redis and Prometheus "
        "(python -m devstack), one worker and the shop simulator, and shows the KPIs of the "
        "last settled windows against their benchmarks. Scripted incidents start a few minutes "
        "in: by default a conversion drop on paid search (minutes 2-9), then campaign waste "
        "on paid search (minutes 10-20: its ads cost more, its orders stay flat, ROAS falls). "
        "The simulator sends the paid campaigns' ad spend every minute and the worker reads "
        "the simulated products' costs (examples/demo/costs.csv), for ROAS, CAC and margin.",
    )
    parser.add_argument("--duration", type=float, default=0,
                        help="seconds to run, then stop everything (default: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="simulated events per second (default: 100)")
    parser.add_argument("--incident", action="append", default=None,
                        help="simulator incident spec, repeatable (default: "
                        f"{' and '.join(DEFAULT_INCIDENTS)}); 'none' for none; e.g. "
                        "campaign-waste@45s+600s:channel=paid_search,factor=6 for the waste alone. "
                        "See python -m simulator --help")
    parser.add_argument("--until-alert", nargs="?", const="", default=None, metavar="RULE",
                        help="stop as soon as a rule's alert fires, or the named rule's, or "
                        "goal:NAME for a goal's at-risk alert (a smoke test of the whole "
                        "chain); --duration still bounds the run")
    parser.add_argument("--keep-stack", action="store_true",
                        help="leave Kafka, Redis and Prometheus running on exit")
    parser.add_argument("--no-board", action="store_true",
                        help="print the last settled minute's KPIs every 10 s instead of the "
                        "live board")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.update({k: v for k, v in DEMO_ENV.items() if k not in os.environ})
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    stack = DevStack(settings)
    was_running = all(stack.status().values())
    processes: list[subprocess.Popen] = []
    _stop_on_signals()
    try:
        print("starting the local stack (Kafka, Redis, Prometheus) ...", flush=True)
        stack.up()
        write_scrape_targets(settings, [f"127.0.0.1:{settings.web_port}"])
        worker_url = f"http://127.0.0.1:{settings.web_port}"
        log_dir = settings.run_dir.resolve()
        with _signals_deferred():  # a signal now must not leave a child off the list
            processes.append(_spawn([sys.executable, "-m", "kpiwatch", "worker", "-l", "info"],
                                    log_dir / "worker.log"))
        _wait_ready(worker_url + "/health", processes[0], log_dir / "worker.log")
        incidents = ([] if args.incident == ["none"]
                     else (args.incident or list(DEFAULT_INCIDENTS)))
        simulator_argv = [sys.executable, "-m", "simulator", "--rate", str(args.rate),
                          "--duration", "0", "--speed", "1", "--format", "mixed",
                          "--spend", "--spend-span", SPEND_SPAN, "--topic-ad-spend",
                          settings.topic_ad_spend,
                          "--flat"]  # the same traffic at any hour: a demo at 3 a.m. works too
        for spec in incidents:
            simulator_argv += ["--incident", spec]
        with _signals_deferred():
            processes.append(_spawn(simulator_argv, log_dir / "simulator.log"))
        print(f"""
  worker /metrics    {worker_url}/metrics
  worker /kpis       {worker_url}/kpis
  Prometheus UI      {prometheus_url(settings)}
  logs               {log_dir}/{{worker,simulator,kafka,redis,prometheus}}.log
  alerts go to       {notification_destinations(settings)}
  alert rules        {settings.rules_file}  (kpiwatch alerts list: what is firing)
  goals              {goals_path()}  (kpiwatch goals: their progress)
  incident           {', '.join(incidents) or 'none'}
""", flush=True)
        _show(worker_url, args, settings)
        return 0
    except ServiceError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, and SIGHUP or SIGTERM (_Stopped)
        return 0
    finally:
        # Cleanup runs to the end: a second SIGHUP or SIGTERM (a closing terminal can send
        # both) must not cut it short and leave services running.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        for process in reversed(processes):
            _stop(process)
        if not args.keep_stack and not was_running:
            stack.down()


STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM)


class _Stopped(KeyboardInterrupt):
    """SIGHUP (the terminal closed) or SIGTERM: stop everything, as on Ctrl-C (a
    KeyboardInterrupt, so no ``except Exception`` on the way swallows it)."""


def _stop_on_signals() -> None:
    """Turn SIGHUP and SIGTERM into the Ctrl-C path, so ``main``'s cleanup runs. The worker, the
    simulator and the services run in sessions of their own (no terminal's SIGHUP reaches
    them): only the demo can stop them."""
    def stop(signum: int, _frame) -> None:
        if signum == signal.SIGHUP:
            # The terminal is gone: writing to it fails (EIO), and a failed print must not
            # abort the cleanup. What is left to say goes nowhere.
            devnull = os.open(os.devnull, os.O_WRONLY)
            for fd in (1, 2):
                os.dup2(devnull, fd)
            os.close(devnull)
        if _held is not None:
            _held.append(signum)
            return
        raise _Stopped(signal.Signals(signum).name)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)


_held: list[int] | None = None  # while a list, SIGHUP and SIGTERM wait in it


@contextmanager
def _signals_deferred():
    """SIGHUP and SIGTERM wait for the end of the block (not by the signal mask: the children
    spawned in it would inherit it, and ignore the SIGTERM that stops them)."""
    global _held
    _held = []
    try:
        yield
    finally:
        held, _held = _held, None
    if held:
        raise _Stopped(signal.Signals(held[0]).name)


def _spawn(argv: list[str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(f"the worker exited; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise ServiceError(f"the worker was not ready after {timeout:.0f} s; see {log}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def notification_destinations(settings) -> str:
    """Where each alert target's messages go (console and a local log when no webhook)."""
    from alerts.notifiers import describe_targets

    lines = describe_targets(load_rules(settings.rules_file),
                             settings.run_dir.resolve() / "notifications.log")
    return "\n                     ".join(lines)


def board(document: dict | None, ruleset: RuleSet | None = None,
          alerts: list[dict] | None = None) -> Group:
    ruleset = ruleset or load_rules()
    merged = kpi_view.merge([document])
    table = Table(title="kpiwatch - last settled windows", expand=False)
    table.add_column("KPI")
    # A column whose last settled window holds nothing yet (a fresh demo) shows the window in
    # progress, dimmed and headed "so far": provisional, not judged (the evaluator judges
    # settled windows only).
    shown = [(name, *kpi_view.shown(merged, size)) for name, size in (("5 min", "5m"),
                                                                        ("1 hour", "1h"))]
    for name, _, provisional in shown:
        table.add_column(f"{name} so far" if provisional else name, justify="right",
                         style="dim italic" if provisional else None)
    table.add_column("benchmark", justify="right")
    for label, key, fmt in BOARD:
        benchmark = kpi_view.benchmark_of(ruleset, key)
        cells = []
        for _, window, provisional in shown:
            value = window.kpis().get(key) if window else None
            cells.append(_cell(value, None if provisional else benchmark, fmt))
        table.add_row(label, *cells, kpi_view.benchmark_label(ruleset, key, fmt, width=22))
    spans = [f"{name} {window.start[11:16]}-{'now' if provisional else window.end[11:16]}"
             for name, window, provisional in shown if window]
    when = " · ".join(spans) + " UTC" if spans else "waiting for the first window ..."
    return Group(table, alert_lines(alerts), Panel(when + "   Ctrl-C stops the demo", expand=False))


def alert_lines(alerts: list[dict] | None, most: int = 3) -> Text:
    """Up to ``most`` active alerts, one line each (the board must fit 80x24)."""
    if alerts is None:
        return Text("alerts: state unavailable (is Redis up?)", style="yellow")
    if not alerts:
        return Text("alerts: none pending or firing", style="green")
    text = Text()
    for alert in alerts[:most]:
        dimension = ",".join(f"{k}={v}" for k, v in alert["dimension"].items()) or "all"
        value = "" if alert.get("value") is None else f" value {alert['value']:.3g}"
        style = "bold red" if alert["status"] == "firing" else "yellow"
        text.append(f"{alert['status'].upper():<7} {alert['rule']} [{dimension}] since "
                    f"{alert['since'][11:16]}{value}\n", style=style)
    if len(alerts) > most:
        text.append(f"... and {len(alerts) - most} more: kpiwatch alerts list\n")
    text.rstrip()
    return text


def _cell(value, benchmark: tuple[float, str] | None, fmt: str) -> str:
    if value is None:
        return "-"
    text = fmt.format(value)
    if benchmark is None:
        return text
    threshold, condition = benchmark
    bad = value < threshold if condition == "below" else value > threshold
    return f"[bold red]{text} ✗[/]" if bad else f"[green]{text}[/]"


def _show(worker_url: str, args: argparse.Namespace, settings) -> None:
    started = time.monotonic()
    deadline = started + args.duration if args.duration else None

    def running() -> bool:
        return deadline is None or time.monotonic() < deadline

    ruleset = load_rules(settings.rules_file)
    redis_reader = RedisReader(settings, ruleset)  # one client for the board's life

    def alerts() -> list[dict] | None:
        try:
            return redis_reader.active_alerts() + redis_reader.goal_alerts()
        except Exception:  # the KPIs are still worth showing; the next read reconnects
            return None

    if args.until_alert is not None:
        plain_running = running
        wanted = args.until_alert
        known = [rule.name for rule in ruleset.rules] + [f"goal:{goal.name}" for goal in
                                                         load_goals().goals if goal.alert]
        if wanted and wanted not in known:
            raise SystemExit(f"--until-alert {wanted}: no such rule in {settings.rules_file} "
                             f"nor goal with an alert in {goals_path()}; one of: "
                             f"{', '.join(known)}")

        def fired(alert: dict) -> bool:
            if alert["status"] != "firing":
                return False
            return alert["rule"] == wanted or (not wanted and not alert["rule"].startswith("goal:"))

        def running() -> bool:
            return plain_running() and not any(fired(a) for a in alerts() or [])

    try:
        if args.no_board:
            _print_lines(worker_url, running, alerts)
        else:
            with Live(board(None, ruleset, []), refresh_per_second=1, screen=False) as live:
                while running():
                    live.update(board(fetch_kpis(worker_url), ruleset, alerts()))
                    time.sleep(2)
        if args.until_alert is not None:
            _wait_for_delivery(redis_reader)
    finally:
        redis_reader.close()


def _wait_for_delivery(redis_reader: RedisReader, timeout: float = 60.0) -> None:
    """The evaluator puts an alert's notification in the outbox before it marks the alert
    firing; stopping the worker now could leave the message undelivered until the next run.
    Wait (bounded) for the outboxes to drain, so the demo ends with the message shown."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if redis_reader.undelivered() == 0:
                return
        except Exception:  # Redis unreachable: the outbox keeps the message for the next run
            pass
        time.sleep(0.5)
    print(f"the alert's notification was not delivered within {timeout:.0f} s; it stays in the "
          "outbox and goes out when a worker runs again (kpiwatch alerts list)", flush=True)


def _print_lines(worker_url: str, running, alerts) -> None:
    """Plain lines: the last settled minute every 10 s, and every alert state change at once."""
    seen: dict[str, str] = {}
    next_kpis = 0.0

    def report_alerts() -> None:
        for alert in alerts() or []:
            if seen.get(alert["incident"]) != alert["status"]:
                seen[alert["incident"]] = alert["status"]
                dimension = ",".join(f"{k}={v}" for k, v in alert["dimension"].items()) or "all"
                print(f"{datetime.now(UTC):%H:%M:%S} ALERT {alert['status']} {alert['rule']} "
                      f"[{dimension}] value={alert.get('value')} benchmark="
                      f"{alert.get('benchmark')} incident={alert['incident']}", flush=True)

    while True:
        report_alerts()
        if time.monotonic() >= next_kpis:
            next_kpis = time.monotonic() + 10
            window = kpi_view.last_settled(kpi_view.merge([fetch_kpis(worker_url)]), "1m")
            kpis = window.kpis() if window else {}
            print(f"{datetime.now(UTC):%H:%M:%S} last settled minute "
                  f"{window.start[11:16] if window else '-'}: sessions={kpis.get('sessions')} "
                  f"conversion={kpis.get('conversion_rate')} orders={kpis.get('orders')}",
                  flush=True)
        if not running():
            report_alerts()
            return
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
