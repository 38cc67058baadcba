"""Pipeline health: is the monitor itself telling the truth?"""

from grafana.common import Target, dashboard, stat, timeseries
from prometheus.promql import rate_total

UID = "kpiwatch-pipeline"


def throughput():
    return timeseries(
        "Throughput by stream", "Valid, deduplicated events per second by input stream.", "cps",
        Target(rate_total("kpiwatch_events_total", ("stream",)), "{{stream}}"), min=0)


def events_by_type():
    return timeseries(
        "Events by type", "Valid events per second by canonical event type.", "cps",
        Target(rate_total("kpiwatch_events_total", ("type",)), "{{type}}"), min=0)


def invalid_events():
    return timeseries(
        "Invalid events by reason", "Messages sent to the dead-letter topic per second, by "
        "reason code (late events included).", "cps",
        Target(rate_total("kpiwatch_invalid_events_total", ("reason",)), "{{reason}}"), min=0)


def late_events():
    # Zero is the usual answer: show it rather than "No data".
    return timeseries(
        "Late events", "Events later than the allowed lateness per second: counted, kept in the "
        "dead-letter topic, never changing a settled window.", "cps",
        Target(rate_total("kpiwatch_invalid_events_total", (), '{reason="late_event"}')
               + " or vector(0)", "late"), min=0)


def duplicates():
    return timeseries(
        "Duplicates dropped", "Repeated event_ids and order_ids dropped per second.", "cps",
        Target(rate_total("kpiwatch_duplicate_events_total", ("key",)), "{{key}}"),
        Target(rate_total("kpiwatch_bot_events_total", ()), "bot events"), min=0)


def last_event_age():
    return timeseries(
        "Age of the last event", "Wall clock minus the newest event time seen (the "
        "watermark), on the most and least advanced partition: a growing age means input "
        "stopped or the workers fell behind.", "s",
        Target("time() - max(kpiwatch_watermark_timestamp_seconds)", "newest partition"),
        Target("time() - min(kpiwatch_watermark_timestamp_seconds)", "slowest partition"),
        min=0)


def settle_lag():
    return timeseries(
        "Settle lag", "Wall clock minus the end of the last settled minute, slowest partition: "
        "how old the newest settled KPI is (allowed lateness plus input delay).", "s",
        Target("time() - min(kpiwatch_settled_through_timestamp_seconds)", "settle lag"), min=0)


def workers_up():
    return stat("Workers up", "Workers Prometheus scrapes successfully.", "short",
                Target('count(up{job="kpiwatch"} == 1)'), width=6)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Pipeline health",
        "Throughput, invalid, late and duplicate events, and how far behind the settled KPIs "
        "are.",
        [workers_up(), throughput(), events_by_type(), invalid_events(), late_events(),
         duplicates(), last_event_age(), settle_lag()])
