"""All input stops: the last minutes received still settle (the ingesters go on reporting their
progress, and event time goes on at the wall clock's pace once every input partition is
silent past the idle timeout). Before, they waited for traffic to resume: a monitor whose
input fell to zero showed nothing new at all."""

import urllib.request
from datetime import UTC, datetime, timedelta

import orjson

from kpiwatch.kpi_view import fetch_kpis, merge
from streams.windows import iso, to_ms
from tests.integration.services import metric_sum, produce, wait_for


def test_the_last_minute_received_settles_after_the_input_stops(worker_factory, stack_settings):
    worker = worker_factory(KPIWATCH_ALLOWED_LATENESS="PT5S", KPIWATCH_SOURCE_IDLE_TIMEOUT="PT3S")
    names = worker_factory.names
    minute = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    events = [{"event_id": f"silence-{n}", "type": "page_view", "anonymous_id": f"user-{n}",
               "timestamp": (minute + timedelta(seconds=n)).isoformat(),
               "url": "https://shop.example/"} for n in range(10)]
    # The last event is 9 s into the minute: no later event ever moves the watermark past it.
    produce(stack_settings.kafka_bootstrap_servers, names["KPIWATCH_TOPIC_CLICKSTREAM"],
            ((None, orjson.dumps(e)) for e in events))

    def the_minute():
        windows = merge([fetch_kpis(worker.url)]).get("1m", [])
        return next((w for w in windows if w.start == iso(to_ms(minute)) and w.settled), None)

    window = wait_for(the_minute, timeout=150, what="the last minute received, settled")
    assert window.kpis()["sessions"] == 10

    def settled_through() -> float:
        with urllib.request.urlopen(worker.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        return min(metric_sum(text, "kpiwatch_settled_through_timestamp_seconds",
                              partition=str(p)) for p in range(4))  # the default 4 partitions

    # The empty minutes after it settle too, on every partition (a traffic drop to zero
    # shows as such).
    later = to_ms(minute) / 1000 + 180
    wait_for(lambda: settled_through() >= later, timeout=240,
             what="empty minutes settled after the input stopped")
