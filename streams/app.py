"""The Faust application every agent hangs off.

``faust -A streams.app worker`` (or ``kpiwatch worker``) looks for an attribute named ``app``
here; importing :mod:`streams.agents` registers the agents on it.

Guarantees we rely on, and the ones we deliberately do not:
- at-least-once processing (Faust's default). ``exactly_once`` has open duplicate bugs;
  replays are made harmless by offset-guarded table updates instead (streams/applied_once.py).
- every agent runs with concurrency 1, so an offset is never committed past an event that is
  still in flight.
- changelog records are delivered before the offsets of their events are committed, and a
  partition is read again from its committed offset after a rebalance: the durability rule,
  kept by kpiwatch's Faust transport (streams/transport.py), whose broker URL the app uses.
"""

from __future__ import annotations

import faust
from faust.transport import drivers

from kpiwatch.settings import Settings, load_settings
from streams import transport


class KpiwatchApp(faust.App):
    # Topics whose offsets have no holes (no transactions, no compaction): the consumer commits
    # them strictly in order and reads them again from the committed offset after a rebalance
    # (streams/transport.py).
    gapless_topics: frozenset[str] = frozenset()

    async def on_first_start(self) -> None:
        # Runs before the consumer joins the group (see streams/admin.py for why).
        from streams.admin import COMPACTED, ensure_topics
        from streams.topics import all_topic_names

        await ensure_topics(settings.kafka_bootstrap_servers, all_topic_names(),
                            settings.topic_partitions)
        # One partition: the spend rows are few, and every worker reads them all.
        await ensure_topics(settings.kafka_bootstrap_servers, [settings.topic_ad_spend], 1,
                            configs=COMPACTED)
        await super().on_first_start()

    def on_init_dependencies(self):
        dependencies = super().on_init_dependencies()
        # Faust's Monitor sensor keeps statistics on every message and every table get, set
        # and delete (for Faust's own /stats page), a noticeable share of a busy worker's time.
        # kpiwatch exports its own metrics (metrics/), so it is left out.
        self.sensors.remove(self.monitor)
        return dependencies


def create_app(settings: Settings) -> faust.App:
    _check_transport(settings.faust_broker)
    datadir = settings.run_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # Faust makes the last level only
    app = KpiwatchApp(
        settings.app_id,
        broker=settings.faust_broker,
        store="memory://",
        # Faust creates its data directory even for in-memory tables: under the run dir, not
        # "<app id>-data" in whatever directory the worker was started from.
        datadir=str(datadir / settings.app_id),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        table_standby_replicas=0,
        # A killed worker's partitions move to the others after this long, not after 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        # The KPI engine holds events unacknowledged until their minute settles (allowed
        # lateness + 1 min): that is expected, not a stuck commit.
        broker_commit_livelock_soft_timeout=settings.allowed_lateness.total_seconds() + 600,
        # ... and for the same reason a rebalance must not wait for them to be acknowledged
        # (it would wait forever: nothing settles while the consumer is paused). Unacknowledged
        # events are simply consumed again by the partition's next owner.
        stream_wait_empty=False,
        # The agents read batches (streams/batches.py, up to 512 KiB): fetch one whole.
        consumer_max_fetch_size=1024 * 1024,
        # Batch table changelog writes and forwarded events for 10 ms: without it each write
        # becomes its own produce request, and socket writes take a large share of a busy
        # worker's time.
        producer_linger=0.01,
        # A KPI engine's checkpoint writes thousands of changelog records into one partition
        # at once, and a produce request carries one batch per partition: with Faust's 16 KiB
        # batches they drain slower than a busy live shop makes them ("producer buffer full"
        # in the log).
        producer_max_batch_size=256 * 1024,
    )
    app.gapless_topics = frozenset((settings.topic_canonical, settings.topic_dead_letter))
    return app


def _check_transport(broker: str) -> None:
    """Faust finds kpiwatch's transport by the broker URL's scheme, through the entry point
    the installed package declares (pyproject.toml): without it, the numbers are not exact."""
    try:
        found = drivers.by_url(broker)
    except Exception as error:  # noqa: BLE001 - Faust raises several kinds for an unknown name
        found = error
    if found is not transport.Transport:
        raise RuntimeError(
            f"Faust resolves the broker URL {broker!r} to {found!r}, not kpiwatch's transport "
            "(streams.transport:Transport, entry point 'faust.transports' in pyproject.toml): "
            "install the package (scripts/install-python) and run the worker from its virtualenv")


settings = load_settings()
app = create_app(settings)
