"""The worker's ``/metrics`` page: its own registry, never the process-global one."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from streams.app import app
from streams.pipeline_health import events_consumed
from metrics.collectors import EventsConsumedCollector

registry = CollectorRegistry(auto_describe=False)


def active_partitions() -> set[tuple[str, int]]:
    return {(tp.topic, tp.partition) for tp in app.assignor.assigned_actives()}


registry.register(EventsConsumedCollector(events_consumed, active_partitions))


@app.page("/metrics")
async def metrics_page(web, request):
    return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
