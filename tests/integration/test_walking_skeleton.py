"""Event -> Kafka -> Faust -> /metrics -> Prometheus, with an exact count."""

from tests.integration.services import produce, prometheus_query, wait_for

EVENTS = 1_000


def test_every_produced_event_is_counted_once_in_prometheus(worker_factory, stack_settings,
                                                            prometheus):
    worker_factory()
    topic = worker_factory.names["KPIWATCH_TOPIC_CLICKSTREAM"]

    produced = produce(
        stack_settings.kafka_bootstrap_servers,
        topic,
        ((f"user-{i % 37}".encode(), b'{"n": %d}' % i) for i in range(EVENTS)),
    )
    assert produced == EVENTS

    promql = (
        f'sum(max by (stream, partition) '
        f'(kpiwatch_events_consumed_total{{stream="{topic}"}}))'
    )

    def counted():
        result = prometheus_query(prometheus, promql)
        return int(float(result[0]["value"][1])) if result else 0

    assert wait_for(lambda: counted() == EVENTS, timeout=60, what=f"{EVENTS} in Prometheus")
    assert counted() == EVENTS
