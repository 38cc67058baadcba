"""Every dashboard panel's query returns data from the real Prometheus, loaded with the generated
recording and alert rules and scraping a live worker fed by the simulator.

One and a half to two and a half hours of backdated traffic are sent as fast as possible, so
settled windows of every size exist within a minute or two instead of an hour; the business
time zone is chosen so that a business day ended inside that traffic (the settled-day panels:
DAU, WAU, MAU, stickiness).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from alerts.rules import load_rules
from grafana.main import dashboards
from grafana.queries import DEFAULTS, annotation_queries, panel_queries, substitute
from prometheus.pipeline_alerts import pipeline_groups
from tests.integration.services import REPO, prometheus_query

# Traffic starts this long before the business midnight: enough for the settled day's DAU.
BEFORE_MIDNIGHT = timedelta(minutes=15)
# Longer than the input topics drift apart while the backfill is read much faster than real
# time; shorter than the history, so the last hours settle.
ALLOWED_LATENESS = timedelta(minutes=10)
# The 1 h window holds enough carts and checkouts to have every breakdown; a week of history
# cannot be made in a test, so the week-ago benchmark is read one minute back instead.
VALUES = {**DEFAULTS, "window": "1h"}


def traffic_end(now: datetime) -> datetime:
    """Where the backfill stops: at least 20 minutes past an hour boundary once the lateness
    is taken off, so the last whole hour settles. The watermark is the slowest input
    partition's latest event, and a sparse one's (purchases) can be minutes before the end: a
    margin of 3 minutes left the hour unsettled in a CI run at 09:15."""
    settled = now - ALLOWED_LATENESS
    return now - timedelta(minutes=settled.minute + 1) if settled.minute < 20 else now


def recent_midnight(end: datetime) -> datetime:
    """The start of the last settled hour, made a business midnight: the day before it is
    settled too, and the hour has users first seen on that earlier day (returning users)."""
    settled_hour_end = (end - ALLOWED_LATENESS).replace(minute=0, second=0, microsecond=0)
    return settled_hour_end - timedelta(hours=1)


def business_zone(midnight: datetime) -> str:
    """The fixed-offset zone in which ``midnight`` (a whole UTC hour) is 00:00."""
    offset = -midnight.hour % 24
    if offset > 14:
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def send_backdated_traffic(bootstrap: str, names: dict[str, str], start: datetime,
                           end: datetime) -> None:
    subprocess.run(
        [sys.executable, "-m", "simulator", "--start", start.isoformat(),
         "--duration", f"{int((end - start).total_seconds())}s", "--speed", "0", "--rate", "1",
         "--flat", "--seed", "7", "--format", "mixed",
         "--incident", "payment-outage@15m+150m:method=card",
         "--incident", "bad-events@5m+5m:share=0.2",
         "--bootstrap-servers", bootstrap,
         "--topic-clickstream", names["KPIWATCH_TOPIC_CLICKSTREAM"],
         "--topic-cart", names["KPIWATCH_TOPIC_CART"],
         "--topic-purchase", names["KPIWATCH_TOPIC_PURCHASE"]],
        cwd=REPO, check=True, capture_output=True, timeout=180)


def run(prometheus: str, expr: str) -> list | str:
    """The query's series, or Prometheus' error message."""
    try:
        return prometheus_query(prometheus, expr)
    except urllib.error.HTTPError as error:  # 400 bad_data: the query does not parse
        return error.read().decode(errors="replace")


def as_tested(expr: str) -> str:
    return substitute(expr, VALUES).replace("offset 1w", "offset 1m")


def test_every_dashboard_panel_query_returns_data(worker_factory, prometheus, stack_settings):
    end = traffic_end(datetime.now(UTC).replace(microsecond=0))
    midnight = recent_midnight(end)
    worker_factory(
        KPIWATCH_ALLOWED_LATENESS=f"PT{int(ALLOWED_LATENESS.total_seconds())}S",
        KPIWATCH_BUSINESS_TIMEZONE=business_zone(midnight))
    send_backdated_traffic(stack_settings.kafka_bootstrap_servers, worker_factory.names,
                           midnight - BEFORE_MIDNIGHT, end)

    models = dashboards()
    queries = [q for model in models.values() for q in panel_queries(model)]
    missing = {q: "" for q in queries}
    started = time.monotonic()
    deadline = started + 240
    last = None
    while missing and time.monotonic() < deadline:
        for query in list(missing):
            result = run(prometheus, as_tested(query.expr))
            if isinstance(result, list) and result:
                del missing[query]
                last = (round(time.monotonic() - started), query.where())
            else:
                missing[query] = result if isinstance(result, str) else "no series"
        time.sleep(2)
    print(f"\nqueries had data {time.monotonic() - started:.0f} s after the backfill was sent;"
          f" the last one: {last}")
    report = [f"{q.where()}: {why}\n    {as_tested(q.expr)}" for q, why in missing.items()]
    assert not missing, f"{len(missing)} of {len(queries)} queries without data:\n" + \
        "\n".join(report)

    # The generated alert rules, the KPIs' and kpiwatch's own, are loaded (a rule Prometheus
    # rejects would be missing) ...
    with urllib.request.urlopen(f"{prometheus}/api/v1/rules?type=alert", timeout=5) as response:
        groups = json.load(response)["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    pipeline = {rule["alert"] for group in pipeline_groups("") for rule in group["rules"]}
    assert loaded == {rule.name for rule in load_rules().rules} | pipeline
    # ... and the annotations showing them run (none need be firing).
    for query in (q for model in models.values() for q in annotation_queries(model)):
        assert isinstance(run(prometheus, as_tested(query.expr)), list), query.where()
