"""Judging a window: static, week-ago and trailing benchmarks, min volume, dimensions."""

from collections import Counter

import pytest

from alerts.benchmarks import judge
from alerts.compose import compose, contributor_text, contributors
from alerts.kpi_values import dimension_key, kpi_value, parse_dimension_key
from tests.unit.alerts.factories import rule, values, window


def test_static_benchmark_breach_and_recovery_threshold():
    r = rule(recovery={"threshold": 0.033}, min_volume={"sessions": 100})
    low = judge(r, window(0), {}, values({"direct": 1000}, {"direct": 20}), None, [])
    assert (low.breached, low.value, low.threshold, low.reason) == (True, 0.02, 0.03, "breached")
    band = judge(r, window(0), {}, values({"direct": 1000}, {"direct": 31}), None, [])
    assert (band.breached, band.recovered) == (False, False)
    back = judge(r, window(0), {}, values({"direct": 1000}, {"direct": 34}), None, [])
    assert (back.breached, back.recovered) == (False, True)


def test_low_volume_is_not_judged():
    r = rule(min_volume={"sessions": 200})
    j = judge(r, window(0), {}, values({"direct": 150}, {}), None, [])
    assert (j.breached, j.reason) == (None, "low_volume")


def test_no_sessions_is_not_judged():
    assert judge(rule(), window(0), {}, Counter(), None, []).reason == "no_value"


def test_week_ago_benchmark_per_channel():
    r = rule(per="channel", benchmark={"type": "week_ago", "change": -0.30})
    now = values({"paid_search": 500, "email": 200}, {"paid_search": 5, "email": 10})
    before = values({"paid_search": 500, "email": 200}, {"paid_search": 20, "email": 10})
    paid = judge(r, window(0), {"channel": "paid_search"}, now, before, [])
    assert paid.breached and paid.week_ago == 0.04 and paid.threshold == pytest.approx(0.028)
    assert not judge(r, window(0), {"channel": "email"}, now, before, []).breached
    assert judge(r, window(0), {"channel": "email"}, now, None, []).reason == "no_benchmark"


def test_trailing_benchmark_needs_three_windows_and_uses_stddevs():
    r = rule(benchmark={"type": "trailing", "windows": 4, "stddevs": 2})
    history = [values({"direct": 1000}, {"direct": n}) for n in (30, 32, 28, 30)]
    j = judge(r, window(0), {}, values({"direct": 1000}, {"direct": 20}), None, history)
    assert j.breached and j.threshold == pytest.approx(0.03 - 2 * 0.001414, abs=1e-5)
    assert judge(r, window(0), {}, values({"direct": 1000}, {"direct": 20}), None,
                 history[:2]).reason == "no_benchmark"


def test_payment_failure_rate_per_method():
    v = Counter({"orders|direct|card": 90, "payment_failures|card": 10, "orders|direct|paypal": 50})
    assert kpi_value(v, "payment_failure_rate", {"payment_method": "card"}) == 0.1
    assert kpi_value(v, "payment_failure_rate", {"payment_method": "paypal"}) == 0.0


def test_dimension_keys_round_trip():
    assert dimension_key({}) == "all"
    assert parse_dimension_key(dimension_key({"channel": "email"})) == {"channel": "email"}


def test_contributors_name_the_channel_that_dropped():
    r = rule()
    now = values({"paid_search": 500, "email": 200, "direct": 300},
                 {"paid_search": 6, "email": 10, "direct": 9})
    before = values({"paid_search": 500, "email": 200, "direct": 300},
                    {"paid_search": 16, "email": 10, "direct": 9})
    found = contributors(r, now, before)
    assert found[0].label == "paid_search" and found[0].change == pytest.approx(-0.625)
    assert contributor_text(r, found) == "paid_search -62%, others normal"


def test_composed_notification_links_the_incident_time_range():
    r = rule(runbook_url="https://runbooks/x", dashboard="kpiwatch-overview")
    now = values({"paid_search": 500}, {"paid_search": 5})
    j = judge(r, window(3), {}, now, None, [])
    n = compose(r, "firing", j, "conversion_low|all|1", 0, window(2).start_ms, now, None,
                "http://grafana:3000/")
    assert n.id == "conversion_low|all|1:firing:0"
    assert n.dashboard_url == (f"http://grafana:3000/d/kpiwatch-overview?from="
                               f"{window(0).start_ms}&to={window(3).end_ms}")
    assert "1.00%" in n.summary and "3.00%" in n.summary and n.runbook_url == "https://runbooks/x"
