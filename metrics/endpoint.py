"""The worker's ``/metrics`` page, served from its own registry (never the global one)."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from metrics import latency
from metrics.collectors import (
    ConsumerLagCollector,
    DeadLetterCountsCollector,
    DedupCollector,
    EventCountsCollector,
    LastEventCollector,
    owned_states,
)
from metrics.kpi_collector import KpiCollector
from models.fields import parse_instant
from streams.app import app
from streams.kpis import readout
from streams.kpis.agent import kpi_settings, kpi_values, kpi_view
from streams.kpis.working_set import progress_key
from streams.pipeline_health import dead_letter_counts, event_counts
from streams.spend_feed import invalid_rows, ledger
from streams.topics import all_topic_names, canonical_topic, dead_letter_topic
from streams.windows import WINDOW_SIZES, to_ms


def active_partitions() -> set[tuple[str, int]]:
    return {(tp.topic, tp.partition) for tp in app.assignor.assigned_actives()}


registry = CollectorRegistry(auto_describe=False)
registry.register(EventCountsCollector(
    owned_states(event_counts, canonical_topic.get_topic_name, active_partitions)))
registry.register(DeadLetterCountsCollector(
    owned_states(dead_letter_counts, dead_letter_topic.get_topic_name, active_partitions)))


def owned_canonical_partitions() -> set[int]:
    topic = canonical_topic.get_topic_name()
    return {partition for name, partition in active_partitions() if name == topic}


def owned_progress():
    """The KPI engine's progress records (duplicates dropped, late events) of owned partitions."""
    for partition in owned_canonical_partitions():
        progress = kpi_values.get(progress_key(partition))
        if progress is not None:
            yield progress


registry.register(DedupCollector(owned_progress))
registry.register(KpiCollector(kpi_view, owned_canonical_partitions, kpi_settings.timezone))


consumer_lag = ConsumerLagCollector(lambda: set(all_topic_names()))
registry.register(LastEventCollector(
    owned_states(event_counts, canonical_topic.get_topic_name, active_partitions)))
registry.register(consumer_lag)
registry.register(latency.event_to_metric)
registry.register(latency.settle)
registry.register(latency.ignored)
registry.register(invalid_rows)


@app.page("/kpis")
async def kpis_page(web, request):
    """Every KPI of the latest windows of this worker's partitions, settled flag included."""
    document = readout.snapshot(kpi_view, owned_canonical_partitions(), kpi_settings.timezone)
    document["ad_spend"] = {"rows": len(ledger.rows), "loaded": ledger.loaded,
                            "refused": dict(ledger.rejected),
                            "without_rate": dict(ledger.unconverted)}
    return web.json(document)


@app.page("/kpis/history")
async def kpis_history_page(web, request):
    """Settled windows of one size over a range, per partition, for ``kpiwatch kpis``:
    ``?window=15m&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z`` (to: now by default)."""
    try:
        size, from_ms, to_ms = history_query(request.query)
    except ValueError as error:
        return web.json({"error": str(error)}, status=400)
    return web.json(readout.history(kpi_view, owned_canonical_partitions(), size, from_ms,
                                    to_ms, kpi_settings.timezone))


def history_query(query) -> tuple[str, int, int]:
    size = query.get("window", "")
    if size not in WINDOW_SIZES:
        raise ValueError(f"window must be one of {', '.join(WINDOW_SIZES)}, not {size!r}")
    bounds = []
    for name, default in (("from", None), ("to", datetime.now(UTC).isoformat())):
        text = query.get(name) or default
        if text is None:
            raise ValueError(f"give {name}, an ISO 8601 time such as 2026-12-01T00:00:00Z")
        bounds.append(to_ms(parse_instant(text, name)))
    return size, bounds[0], bounds[1]


@app.page("/metrics")
async def metrics_page(web, request):
    await consumer_lag.refresh(app.consumer, app.assignor.assigned_actives())
    return web.bytes(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
