"""Pipeline health: is the monitor itself telling the truth?"""

from grafana.common import Target, dashboard, stat, timeseries
from prometheus.promql import rate_total

UID = "kpiwatch-pipeline"


def throughput():
    return timeseries(
        "Throughput by stream",
        "Valid events received per second by input stream (duplicates included).", "cps",
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
        "Age of the last event", "Wall clock minus the newest event time seen, and minus the "
        "watermark of the slowest partition (the latest event time of its slowest input): a "
        "growing age means input stopped or the workers fell behind.", "s",
        Target("time() - max(max without (instance) (kpiwatch_last_event_timestamp_seconds))",
               "last event"),
        Target("time() - min(max without (instance) (kpiwatch_watermark_timestamp_seconds))",
               "slowest watermark"),
        min=0)


def consumer_lag():
    return timeseries(
        "Consumer lag", "Messages not yet fetched (highwater minus position) by topic, on the "
        "workers owning the partitions.", "short",
        Target("sum by (topic) (max without (instance) (kpiwatch_consumer_lag_messages))",
               "{{topic}}"), min=0)


def _quantile(histogram: str, q: float) -> str:
    # Process-local histograms: each worker observes what it applied; sum their rates.
    return (f"histogram_quantile({q}, sum by (le) "
            f"(rate({histogram}_bucket[$__rate_interval])))")


def event_to_metric_latency():
    name = "kpiwatch_event_to_metric_latency_seconds"
    return timeseries(
        "Event-to-metric latency", "Wall time from an input message's Kafka timestamp to its "
        "minute being visible in /metrics, including the wait for the minute to settle "
        "(allowed lateness).", "s",
        Target(_quantile(name, 0.5), "p50"), Target(_quantile(name, 0.99), "p99"), min=0)


def settle_latency():
    name = "kpiwatch_settle_latency_seconds"
    return timeseries(
        "Settle latency (pipeline's own delay)", "Wall time from the input message that moved "
        "the watermark past a minute (plus lateness) to that minute being visible in /metrics.",
        "s", Target(_quantile(name, 0.5), "p50"), Target(_quantile(name, 0.99), "p99"), min=0)


def settle_lag():
    return timeseries(
        "Windows settled: lag", "Wall clock minus the end of the last settled minute, slowest "
        "partition: how old the newest final KPI is (allowed lateness plus input delay).", "s",
        Target("time() - min(max without (instance) "
               "(kpiwatch_settled_through_timestamp_seconds))", "settle lag"), min=0)


def alert_evaluations():
    return timeseries(
        "Alert evaluations by outcome", "Rule x dimension x window judgements per second by "
        "the workers' evaluator: breached, ok, low_volume, no_value, no_benchmark, fail_open "
        "(judged from a worker's own table while Redis was down).", "cps",
        Target("sum by (outcome) (rate(kpiwatch_alert_evaluations_total[$__rate_interval]))",
               "{{outcome}}"), min=0)


def alerts_firing():
    # Zero is the normal state: show it rather than "No data".
    return stat("Alerts firing", "Rule x dimension values firing in the workers' evaluator.",
                "short",
                Target('count(max by (rule) (kpiwatch_alerts_active{state="firing"}) > 0)'
                       " or vector(0)"), width=12, height=8)


def outbox_depth():
    return timeseries(
        "Notification outbox", "Notifications waiting in the Redis outbox per target: grows "
        "while Slack is down or rate-limits, drains in order once it is back.", "short",
        Target("max by (target) (kpiwatch_outbox_depth)", "{{target}}"), min=0)


def workers_up():
    return stat("Workers up", "Workers Prometheus scrapes successfully.", "short",
                Target('count(up{job="kpiwatch"} == 1)'), width=12, height=8)


def build() -> dict:
    return dashboard(
        UID, "kpiwatch / Pipeline health",
        "Throughput, consumer lag, invalid, late and duplicate events, latency, how far "
        "behind the settled KPIs are, and the alert evaluator and notification outbox.",
        [workers_up(), throughput(), events_by_type(), consumer_lag(), last_event_age(),
         event_to_metric_latency(), settle_latency(), settle_lag(), invalid_events(),
         late_events(), duplicates(), alerts_firing(), alert_evaluations(), outbox_depth()])
