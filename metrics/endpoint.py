"""The worker's ``/metrics`` page, served from its own registry (never the global one)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from metrics.collectors import (
    DeadLetterCountsCollector,
    DedupCollector,
    EventCountsCollector,
    owned_states,
)
from streams.app import app
from streams.dedup import dedup_summary
from streams.pipeline_health import dead_letter_counts, event_counts
from streams.topics import canonical_topic, dead_letter_topic, validated_topic


def active_partitions() -> set[tuple[str, int]]:
    return {(tp.topic, tp.partition) for tp in app.assignor.assigned_actives()}


registry = CollectorRegistry(auto_describe=False)
registry.register(EventCountsCollector(
    owned_states(event_counts, canonical_topic.get_topic_name, active_partitions)))
registry.register(DeadLetterCountsCollector(
    owned_states(dead_letter_counts, dead_letter_topic.get_topic_name, active_partitions)))
registry.register(DedupCollector(
    owned_states(dedup_summary, validated_topic.get_topic_name, active_partitions)))


@app.page("/metrics")
async def metrics_page(web, request):
    return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
