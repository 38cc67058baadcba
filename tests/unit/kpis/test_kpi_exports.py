"""The cart, checkout-abandonment and session-duration KPIs reach /kpis and /metrics under the
names other parts (dashboards, alert rules) are built on."""

from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from metrics.kpi_collector import KpiCollector
from streams.kpis import readout
from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import KpiSettings
from tests.kpi_oracle.shop import shop_events

SETTINGS = KpiSettings(base_currency="EUR", currency_rates={"USD": Decimal("0.92")})


def _table() -> dict:
    table: dict = {}
    engine = PartitionEngine(table, 0, SETTINGS)
    for origin, event in enumerate(shop_events(3000)):
        engine.receive(origin, event, wall_s=0)
    return table


def test_gauges_carry_the_new_kpis_with_the_common_labels():
    registry = CollectorRegistry()
    registry.register(KpiCollector(_table(), lambda: [0], SETTINGS.timezone))
    names = {(m.name, m.type) for m in registry.collect()}
    for name in ("kpiwatch_abandoned_carts", "kpiwatch_abandoned_cart_value",
                 "kpiwatch_ordered_carts", "kpiwatch_recovered_carts",
                 "kpiwatch_checkout_abandonments"):
        assert (name, "gauge") in names
    assert ("kpiwatch_session_duration_seconds", "gaugehistogram") in names
    samples = [s for m in registry.collect() for s in m.samples
               if s.name.startswith("kpiwatch_session_duration_seconds")
               and s.labels.get("window") == "1d"]
    assert samples and {"window", "window_state", "partition"} <= set(samples[0].labels)
    steps = {s.labels["step"] for m in registry.collect() for s in m.samples
             if s.name == "kpiwatch_checkout_abandonments"}
    assert steps <= {"shipping", "payment", "other", "none"} and steps


def test_kpis_document_derives_the_cart_and_session_figures():
    table = _table()
    days = readout.snapshot(table, [0], SETTINGS.timezone)["windows"]["1d"]
    kpis = max((w["kpis"] for w in days), key=lambda k: k["abandoned_carts"])
    assert kpis["abandoned_carts"] > 0 and kpis["abandoned_cart_value"] > 0
    rate = kpis["cart_abandonment_rate"]
    assert rate == pytest.approx(
        kpis["abandoned_carts"] / (kpis["abandoned_carts"] + kpis["ordered_carts"]), rel=1e-12)
    assert sum(kpis["checkout_abandonments"].values()) > 0
    assert kpis["session_duration_p50_seconds"] is not None
    assert set(kpis["payment_failure_rate_by_method"]) >= {"card", "other"}


def test_only_the_latest_retention_cohorts_are_exported():
    from datetime import date, timedelta

    from metrics.catalog import RETAINED_COHORTS
    from metrics.kpi_collector import recent_cohorts

    weeks = [(date(2026, 1, 5) + timedelta(weeks=k)).isoformat() for k in range(20)]
    values = {f"retention_cohort|{week}|0": 10 for week in weeks} | {"customers|direct": 3}
    kept = recent_cohorts(values)
    assert {key.split("|")[1] for key in kept if key.startswith("retention_cohort|")} \
        == set(weeks[-RETAINED_COHORTS:])
    assert kept["customers|direct"] == 3
