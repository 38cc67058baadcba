"""The KPIs that take weeks to settle (churn, lapsed users' lifetime, the activation cohort,
the weekly retention cohorts, frequency of use) equal the batch recomputation over four months
of a small shop whose users come and go: some daily, some weekly, some once, some back after
40 or 70 days (forgotten after 61, so new again)."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from streams.kpis.context import ALL_TIME
from streams.kpis.engine import PartitionEngine
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.readout import all_time
from streams.windows import MINUTE_MS
from tests.kpi_oracle.oracle import recompute, retention_cohorts
from tests.kpi_oracle.shop import event
from tests.unit.kpis.test_engine_against_oracle import RecordingTable, settled_aggregates

pytestmark = pytest.mark.unit

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday
DAYS = 120
SETTINGS = KpiSettings(timezone=UTC, allowed_lateness_ms=MINUTE_MS, base_currency="EUR",
                       activation_ms=3 * 24 * 3_600_000)


def months_of_events():
    rng = random.Random(5)
    events, n = [], 0
    habits = {f"u{i}": rng.choice(["daily", "weekly", "once", "gone40", "gone70", "monthly"])
              for i in range(40)}
    for day in range(DAYS):
        for user, habit in habits.items():
            joined = int(user[1:]) % 30
            if day < joined:
                continue
            active = {"daily": rng.random() < 0.7, "weekly": (day - joined) % 7 == 0,
                      "once": day == joined, "gone40": day in (joined, joined + 40),
                      "gone70": day in (joined, joined + 1, joined + 70),
                      "monthly": (day - joined) % 29 == 0}[habit]
            if not active:
                continue
            t = START + timedelta(days=day, minutes=rng.randrange(600))
            kinds = ["page_view"]
            if day == joined and rng.random() < 0.6:
                kinds.append("signup")
            if rng.random() < 0.2:
                kinds.append("order_completed")
            for kind in kinds:
                extra = {}
                if kind == "order_completed":
                    extra = {"order_id": f"o{n}", "revenue": "10.00", "currency": "EUR"}
                events.append(event(kind, n, t, user, **extra))
                n, t = n + 1, t + timedelta(minutes=1)
    return sorted(events, key=lambda e: (e.timestamp, e.event_id))


def test_churn_lifetime_cohorts_and_activation_equal_the_recomputation():
    events = months_of_events()
    table = RecordingTable()
    engine = PartitionEngine(table, 0, SETTINGS)
    for origin, e in enumerate(events):
        engine.receive(origin, e)
    # A marker far past the data: every day and timer of the data settles.
    engine.receive(len(events), event("page_view", 10**6, START + timedelta(days=DAYS + 70),
                                      "marker"))
    engine.checkpoint()
    limit = table["progress|0"]["settled_through"] + MINUTE_MS
    got = {key: values for key, values in settled_aggregates(table).items() if key[0] == "1d"}
    want = {key: +values for key, values in recompute(
        events, UTC, base="EUR", activation_ms=SETTINGS.activation_ms).items()
        if key[0] == "1d" and +values}
    want = {key: values for key, values in want.items() if key[1] + 24 * 3_600_000 <= limit}
    got = {key: +Counter({k: v for k, v in values.items() if not k.startswith("marker")})
           for key, values in got.items() if key in want or +values}
    marker_day = int((START + timedelta(days=DAYS + 70)).replace(hour=0, minute=0)
                     .timestamp() * 1000)
    got.pop(("1d", marker_day), None)  # (the marker's own day, if settled: not in the data)
    compared = {metric for values in want.values() for metric in values}
    assert {"churned_users", "previous_mau", "lapsed_users", "lapsed_lifetime_days",
            "active_days_30d", "activation_cohort", "activation_cohort_activated",
            "activations", "new_users", "mau"} <= compared
    mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                  if got.get(k) != want.get(k)}
    assert not mismatched, sorted(mismatched.items())[:2]
    cohorts = {k: v for k, v in all_time(table, 0).items() if k.startswith("retention_cohort|")}
    marker_week = (START + timedelta(days=DAYS + 70)).date()
    marker_week -= timedelta(days=marker_week.weekday())
    cohorts.pop(f"retention_cohort|{marker_week.isoformat()}|0", None)
    assert cohorts == dict(retention_cohorts(events, UTC))
    assert any(k.endswith("|8") for k in cohorts)
    assert ALL_TIME.size == "all"
