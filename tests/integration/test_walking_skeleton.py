"""Event -> Kafka -> Faust -> /metrics -> Prometheus, with an exact count."""

from datetime import UTC, datetime

import orjson

from tests.integration.services import produce, prometheus_query, wait_for

EVENTS = 1_000


def page_view(n: int) -> bytes:
    return orjson.dumps({
        "event_id": f"skeleton-{n}",
        "type": "page_view",
        "timestamp": datetime.now(UTC).isoformat(),
        "anonymous_id": f"user-{n % 37}",
        "url": "https://shop.example/",
    })


def test_every_produced_event_is_counted_once_in_prometheus(worker_factory, stack_settings,
                                                            prometheus):
    worker_factory()
    topic = worker_factory.names["KPIWATCH_TOPIC_CLICKSTREAM"]

    produced = produce(stack_settings.kafka_bootstrap_servers, topic,
                       ((None, page_view(n)) for n in range(EVENTS)))
    assert produced == EVENTS

    promql = (f'sum(max by (stream, type, partition) '
              f'(kpiwatch_events_total{{stream="{topic}", type="page_view"}}))')

    def counted():
        result = prometheus_query(prometheus, promql)
        return int(float(result[0]["value"][1])) if result else 0

    wait_for(lambda: counted() == EVENTS, timeout=60, what=f"{EVENTS} events in Prometheus")
    assert counted() == EVENTS
