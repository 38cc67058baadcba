"""The demo board's pure parts: the benchmark shown beside each KPI (from the rules that judge
it, any window) and the window in progress shown as provisional until one has settled."""

from rich.console import Console

from alerts.rules import RuleSet
from kpiwatch import kpi_view
from kpiwatch.demo import board


def rules(*specs: dict) -> RuleSet:
    return RuleSet.model_validate({"rules": [
        {"name": f"rule_{i}", "window": "15m", **spec} for i, spec in enumerate(specs)]})


def static(value: float) -> dict:
    return {"type": "static", "value": value}


def test_the_tightest_benchmark_of_a_scope_and_every_scope_compactly():
    ruleset = rules(
        {"kpi": "conversion_rate", "condition": "below", "benchmark": static(0.02)},
        {"kpi": "conversion_rate", "condition": "below", "benchmark": static(0.03), "window": "1h"},
        {"kpi": "conversion_rate", "condition": "below", "benchmark": static(0.01),
         "where": {"channel": "paid_search"}, "window": "1m"},
        {"kpi": "checkout_p95_seconds", "condition": "above", "benchmark": static(600)},
        {"kpi": "checkout_p95_seconds", "condition": "above", "benchmark": static(300)},
    )
    assert kpi_view.benchmark_label(ruleset, "conversion_rate", "{:.1%}", width=40) == \
        "≥ 3.0% · paid_search ≥ 1.0%"
    assert kpi_view.benchmark_label(ruleset, "checkout_p95_seconds", "{:.0f}") == "≤ 300"
    assert kpi_view.benchmark_label(ruleset, "orders", "{:.0f}") == ""


def test_relative_and_per_dimension_benchmarks_and_the_fallback_when_too_long():
    ruleset = rules(
        {"kpi": "conversion_rate", "condition": "below", "benchmark": static(0.03)},
        {"kpi": "conversion_rate", "condition": "below", "per": "channel",
         "benchmark": {"type": "week_ago", "change": -0.30}},
        {"kpi": "conversion_rate", "condition": "below", "per": "channel",
         "benchmark": {"type": "week_ago", "change": -0.50}},
        {"kpi": "payment_failure_rate", "condition": "above", "per": "payment_method",
         "benchmark": static(0.05)},
        {"kpi": "sessions", "condition": "below",
         "benchmark": {"type": "trailing", "windows": 12, "stddevs": 3}},
    )
    assert kpi_view.benchmark_label(ruleset, "conversion_rate", "{:.1%}", width=80) == \
        "≥ 3.0% · per channel ≥ wk ago -30%"  # -30 % is tighter than -50 %
    assert kpi_view.benchmark_label(ruleset, "conversion_rate", "{:.1%}", width=22) == \
        "≥ 3.0% +1 more"
    assert kpi_view.benchmark_label(ruleset, "payment_failure_rate", "{:.1%}") == \
        "per method ≤ 5.0%"
    assert kpi_view.benchmark_label(ruleset, "sessions", "{:.0f}") == "≥ avg -3σ"


def window(start: str, end: str, settled: bool, values: dict) -> dict:
    return {"start": start, "end": end, "settled": settled, "values": values}


VALUES = {"sessions|direct|desktop": 1234, "funnel|order_completed|direct": 26,
          "orders|direct|card": 26, "revenue|direct|card": "2561.00"}


def test_the_hour_in_progress_is_shown_so_far_until_an_hour_with_data_has_settled():
    now = window("2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z", False, VALUES)
    before_the_demo = window("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z", True, {})
    merged = kpi_view.merge([{"windows": {"1h": [now, before_the_demo]}}])
    shown, provisional = kpi_view.shown(merged, "1h")
    assert (shown.start, provisional) == (now["start"], True)

    settled = window("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z", True, VALUES)
    merged = kpi_view.merge([{"windows": {"1h": [now, settled]}}])
    shown, provisional = kpi_view.shown(merged, "1h")
    assert (shown.start, provisional) == (settled["start"], False)

    assert kpi_view.shown(kpi_view.merge([None]), "1h") == (None, False)


def test_the_board_marks_the_provisional_column_and_does_not_judge_it():
    five = window("2026-11-23T10:35:00Z", "2026-11-23T10:40:00Z", True, VALUES)
    now = window("2026-11-23T10:00:00Z", "2026-11-23T11:00:00Z", False, VALUES)
    before_the_demo = window("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z", True, {})
    document = {"windows": {"5m": [five], "1h": [now, before_the_demo]}}
    console = Console(width=80, record=True, color_system=None)
    console.print(board(document, rules(
        {"kpi": "conversion_rate", "condition": "below", "benchmark": static(0.03)}), []))
    text = console.export_text()
    assert "1 hour so far" in text and "5 min so far" not in text
    conversion = next(line for line in text.splitlines() if "Conversion rate" in line)
    # 26 orders of 1234 sessions: 2.1 %, under the 3 % floor: flagged in the settled 5 minutes,
    # not in the hour so far (the evaluator judges settled windows only).
    assert conversion.count("2.1%") == 2 and conversion.count("✗") == 1
    assert "5 min 10:35-10:40 · 1 hour 10:00-now UTC" in text
    sessions = next(line for line in text.splitlines() if "Sessions" in line)
    assert sessions.count("1234") == 2  # not "0" or "-" for the hour before the demo
