"""Helpers of the broker and scaling fault tests (issue #24, cases 1 and 2).

- :class:`PrivateStack`: Kafka, Redis and Prometheus of their own, on free ports with their own
  run dir (as the demo's SIGHUP/SIGTERM test starts one), so that restarting or kill -9'ing the
  broker never touches the session's shared stack.
- :class:`Workers`: real ``kpiwatch worker`` processes sharing one app id and topics on such a
  stack; the private Prometheus scrapes the live ones.
- :class:`ShopRun`: the seeded shop stream of tests/integration/test_kpis_exact.py (duplicates,
  out-of-order and late events, markers at "now"), streamed at a steady rate by a producer that
  rides out a broker outage, and judged by the oracle: every settled window in the changelog,
  and the day windows summed over the workers' /metrics gauges (``max by partition``, as the
  README's Operations section says Prometheus sums them).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devstack import DevStack
from devstack.kafka import kafka_process
from devstack.process import ManagedProcess, ServiceError
from devstack.prometheus import prometheus_url, write_scrape_targets
from kpiwatch.settings import Settings
from metrics.catalog import KPI_GAUGES
from models import ParseLimits, encode_canonical, parse_message
from models.streams import STREAM_OF_TYPE
from streams.windows import window_of
from tests.integration.services import (
    Worker,
    free_port,
    metric_sum,
    prometheus_query,
    unique_names,
    wait_for,
)
from tests.integration.test_kpis_exact import _difference, changelog_state, settled_windows
from tests.kpi_oracle.oracle import recompute
from tests.kpi_oracle.shop import arrival_order, shop_events, watermark_markers

UTC_ZONE = ZoneInfo("UTC")
DAY_MS = 86_400_000
# CI size; the long variant: KPIWATCH_FAULT_EVENTS=100000.
EVENTS = int(os.environ.get("KPIWATCH_FAULT_EVENTS", "20000"))
# The on-time stream is spread over this long (whatever its size), so faults hit a live ingest.
STREAM_SECONDS = float(os.environ.get("KPIWATCH_FAULT_STREAM_SECONDS", "40"))
# How long the broker stays down.
DOWN_SECONDS = float(os.environ.get("KPIWATCH_FAULT_DOWN_SECONDS", "30"))
PARTITIONS = 4
WORKER_ENV = {"KPIWATCH_TOPIC_PARTITIONS": str(PARTITIONS), "KPIWATCH_ALLOWED_LATENESS": "PT30M",
              "KPIWATCH_SOURCE_IDLE_TIMEOUT": "PT10M", "KPIWATCH_BASE_CURRENCY": "EUR"}
GAUGE_PREFIX = {g.name: g for g in KPI_GAUGES}
PREFIXES = {g.prefix for g in KPI_GAUGES}


# -- a stack of its own ------------------------------------------------------------------------

@dataclass
class PrivateStack:
    settings: Settings
    env: dict[str, str]
    stack: DevStack

    @classmethod
    def up(cls, run_dir: Path) -> PrivateStack:
        ports = {name: free_port() for name in ("kafka", "controller", "redis", "prometheus")}
        env = {"KPIWATCH_RUN_DIR": str(run_dir),
               "KPIWATCH_KAFKA_PORT": str(ports["kafka"]),
               "KPIWATCH_KAFKA_CONTROLLER_PORT": str(ports["controller"]),
               "KPIWATCH_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['kafka']}",
               "KPIWATCH_REDIS_PORT": str(ports["redis"]),
               "KPIWATCH_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
               "KPIWATCH_PROMETHEUS_PORT": str(ports["prometheus"]),
               "KPIWATCH_SCRAPE_INTERVAL_SECONDS": "1"}
        settings = Settings(**{k.removeprefix("KPIWATCH_").lower(): v for k, v in env.items()})
        stack = DevStack(settings, log=lambda line: None)
        try:
            times = stack.up()
        except ServiceError as error:
            stack.down()
            pytest.fail(f"the fault tests' own stack did not start: {error}", pytrace=False)
        print(f"\nprivate stack in {run_dir} healthy after {max(times.values()):.1f} s "
              f"(kafka on {ports['kafka']})")
        return cls(settings, env, stack)

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap_servers

    @property
    def prometheus(self) -> str:
        return prometheus_url(self.settings)

    def kafka(self) -> ManagedProcess:
        return kafka_process(self.settings)

    def kafka_pid(self) -> int:
        pid = self.kafka().pid()
        assert pid is not None, "the private broker is not running"
        return pid

    def stop_kafka(self) -> None:
        """SIGTERM: Kafka's controlled shutdown (a rolling upgrade's restart)."""
        assert self.kafka().stop(timeout=60)

    def kill_kafka(self) -> None:
        """kill -9 of the broker's process group (the PID in its PID file)."""
        handle = self.kafka()
        os.killpg(self.kafka_pid(), signal.SIGKILL)
        wait_for(lambda: handle.pid() is None, timeout=30, interval=0.1, what="kafka to die")
        handle.pid_file.unlink(missing_ok=True)

    def start_kafka(self) -> None:
        """Launch the broker again; returns at once (the caller times the recovery)."""
        handle = self.kafka()
        handle.start_timeout = 120.0  # after a kill -9 it recovers its logs first
        handle.launch()
        self._starting = handle

    def wait_kafka_healthy(self, began: float) -> None:
        try:
            self._starting.wait_healthy(began)
        except ServiceError as error:
            pytest.fail(f"the private broker did not come back: {error}", pytrace=False)

    def down(self) -> None:
        self.stack.down()


# -- workers -----------------------------------------------------------------------------------

@dataclass
class Workers:
    """Workers of one app id and topics on a private stack; the live ones are scraped."""

    stack: PrivateStack
    log_dir: Path
    names: dict[str, str] = field(default_factory=unique_names)
    all: list[Worker] = field(default_factory=list)
    supervisors: list[Supervisor] = field(default_factory=list)

    def start(self, timeout: float = 120.0) -> Worker:
        worker = Worker(env={**self.stack.env, **self.names, **WORKER_ENV},
                        log_path=self.log_dir / f"worker-{len(self.all)}.log")
        self.all.append(worker)
        worker.start(timeout=timeout)
        self.scrape_live()
        return worker

    def live(self) -> list[Worker]:
        return [w for w in self.all if w.process is not None and w.process.poll() is None]

    def scrape_live(self) -> None:
        write_scrape_targets(self.stack.settings, [f"127.0.0.1:{w.port}" for w in self.live()])

    def stop(self, worker: Worker) -> None:
        worker.stop()
        self.scrape_live()

    def kill(self, worker: Worker) -> None:
        worker.kill()
        self.scrape_live()

    def stop_all(self) -> None:
        # Supervisors first: one left running by a failed test would start the workers again.
        for supervisor in self.supervisors:
            supervisor.stop()
        for worker in self.all:
            worker.stop()

    @property
    def app_id(self) -> str:
        return self.names["KPIWATCH_APP_ID"]

    @property
    def topics(self) -> dict[str, str]:
        return {"clickstream": self.names["KPIWATCH_TOPIC_CLICKSTREAM"],
                "cart": self.names["KPIWATCH_TOPIC_CART"],
                "purchase": self.names["KPIWATCH_TOPIC_PURCHASE"]}

    def scrapes(self) -> list[str]:
        """The /metrics text of every live worker that answers."""
        texts = []
        for worker in self.live():
            try:
                texts.append(worker.metrics_text())
            except OSError:
                pass
        return texts

    def events_counted(self) -> float:
        """kpiwatch_events_total over the live workers, ``max by partition``."""
        return dedup_sum(self.scrapes(), "kpiwatch_events_total")

    def committed(self) -> int:
        """The sum of the offsets the KPI and ingest consumer groups committed; -1 while the
        broker does not answer (each probe gives up after a few seconds)."""
        return committed_sum(self.stack.bootstrap,
                             (self.app_id, f"{self.app_id}-ingest"))

    def supervise(self) -> Supervisor:
        supervisor = Supervisor(self)
        self.supervisors.append(supervisor)
        supervisor.start()
        return supervisor

    def restarts_logged(self) -> dict[str, int]:
        """Per worker log: lines that tell of a crashed or restarted agent or service."""
        found = {}
        for worker in self.all:
            text = worker.log_path.read_text(errors="replace")
            found[worker.log_path.name] = sum(
                1 for line in text.splitlines()
                if "Restarting" in line or "crashed" in line.lower() or "Traceback" in line)
        return found


class Supervisor(threading.Thread):
    """Restarts a worker of the group that exited by itself (not stopped by the test), as
    compose's ``restart: unless-stopped`` would, and notes why it exited."""

    def __init__(self, workers: Workers) -> None:
        super().__init__(daemon=True)
        self.workers = workers
        self.watched = list(workers.all)
        self.crashes: list[str] = []
        self.at_fault = time.monotonic()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            for worker in self.watched:
                if worker.process is not None and worker.process.poll() is not None:
                    self.crashes.append(
                        f"{worker.log_path.name} exited ({worker.process.returncode}) at "
                        f"{time.monotonic() - self.at_fault:+.0f} s from the broker's start: "
                        + crash_reason(worker))
                    try:
                        worker.start(timeout=180)
                    except RuntimeError as error:
                        self.crashes.append(f"{worker.log_path.name} did not restart: {error}")
                    self.workers.scrape_live()

    def stop(self) -> None:
        self.done.set()
        if self.is_alive():
            self.join(240)


def crash_reason(worker: Worker) -> str:
    lines = worker.log_path.read_text(errors="replace").splitlines()
    crashes = [line for line in lines if "Crashed reason=" in line]
    return crashes[-1].split("]", 2)[-1].strip() if crashes else worker.log_tail(3)


def committed_sum(bootstrap: str, groups, timeout: float = 8.0) -> int:
    async def probe() -> int:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            total = 0
            for group in groups:
                offsets = await admin.list_consumer_group_offsets(group)
                total += sum(meta.offset for meta in offsets.values() if meta.offset > 0)
            return total
        finally:
            await admin.close()

    async def bounded() -> int:
        return await asyncio.wait_for(probe(), timeout)

    try:
        return asyncio.run(bounded())
    except Exception:  # noqa: BLE001 - the broker is down or coming back: no reading
        return -1


def dedup_sum(texts: list[str], name: str) -> float:
    """Sum of a metric over workers where a partition reported by several counts once (the
    largest), as ``sum(max by (partition, <labels>) (name))``."""
    from prometheus_client.parser import text_string_to_metric_families

    best: dict[tuple, float] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    key = tuple(sorted(sample.labels.items()))
                    best[key] = max(best.get(key, sample.value), sample.value)
    return sum(best.values())


def day_gauges(texts: list[str]) -> tuple[dict[str, float], dict[str, float], int]:
    """The KPI gauges of the two day windows each worker shows (in progress and settled),
    summed over partitions: (max by partition, naive sum over workers, samples of a partition
    reported by more than one worker)."""
    from prometheus_client.parser import text_string_to_metric_families

    per_worker: list[dict[tuple, float]] = []
    for text in texts:
        values: dict[tuple, float] = {}
        for family in text_string_to_metric_families(text):
            gauge = GAUGE_PREFIX.get(family.name)
            if gauge is None:
                continue
            for sample in family.samples:
                labels = sample.labels
                if sample.name != family.name or labels.get("window") != "1d":
                    continue
                key = "|".join([gauge.prefix, *(labels[label] for label in gauge.labels)])
                values[(key, labels["window_state"], labels["partition"])] = sample.value
        per_worker.append(values)
    best: dict[tuple, float] = {}
    reporters: Counter = Counter()
    naive: Counter = Counter()
    for values in per_worker:
        for series, value in values.items():
            best[series] = max(best.get(series, value), value)
            reporters[series] += 1
            naive[series[0]] += value
    deduped: Counter = Counter()
    for (key, _, _), value in best.items():
        deduped[key] += value
    return dict(deduped), dict(naive), sum(1 for n in reporters.values() if n > 1)


# -- the producer ------------------------------------------------------------------------------

class SteadyProducer(threading.Thread):
    """Sends (topic, key, value) records in batches at a steady rate over ``seconds``, with an
    idempotent producer; a batch that fails (the broker is down) is sent again, whole, once a
    new producer connects: some records may then arrive twice, as a client's retries do (the
    engine drops duplicate event ids)."""

    def __init__(self, bootstrap: str, records: list, seconds: float, batch: int = 500) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.records, self.seconds, self.batch = bootstrap, records, seconds, batch
        self.sent = 0
        self.retries = 0
        self.error: BaseException | None = None

    @property
    def fraction(self) -> float:
        return self.sent / max(len(self.records), 1)

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as error:  # noqa: BLE001 - reported by result()
            self.error = error

    async def _run(self) -> None:
        from aiokafka import AIOKafkaProducer

        batches = [self.records[i:i + self.batch] for i in range(0, len(self.records), self.batch)]
        interval = self.seconds / max(len(batches), 1)
        began = time.monotonic()
        producer = None
        for n, batch in enumerate(batches):
            delay = began + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            deadline = time.monotonic() + 300
            while True:
                try:
                    if producer is None:
                        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap,
                                                    enable_idempotence=True, linger_ms=5,
                                                    request_timeout_ms=15_000)
                        await producer.start()
                    for topic, key, value in batch:
                        await producer.send(topic, value, key=key)
                    await producer.flush()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    self.retries += 1
                    if producer is not None:
                        try:
                            await producer.stop()
                        except Exception:  # noqa: BLE001, S110 - it is being replaced
                            pass
                    producer = None
                    await asyncio.sleep(1.0)
            self.sent += len(batch)
        if producer is not None:
            await producer.stop()

    def result(self, timeout: float = 600) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the producer did not finish"
        if self.error is not None:
            raise self.error


# -- the shop, its stream and its judge -----------------------------------------------------

class ShopRun:
    """test_kpis_exact.py's seeded canonical stream, 70 minutes old at its end (so every cart
    and session timer of the data falls due before the markers' watermark)."""

    def __init__(self, count: int = EVENTS) -> None:
        self.now = now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(minutes=110)
        self.events = shop_events(count, seed=5, span=timedelta(minutes=40), start=start)
        arrived, self.late_ids = arrival_order(self.events, seed=6, jitter_s=60, late_share=0.05,
                                               late_before=start + timedelta(minutes=5))
        assert self.late_ids
        rng = random.Random(7)
        self.messages = []
        for event in arrived:
            raw = encode_canonical(event)
            self.messages.append((event, raw))
            if rng.random() < 0.05:
                self.messages.append((event, raw))  # a client retry
        self.markers = watermark_markers(now)
        self.on_time = [(e, raw) for e, raw in self.messages if e.event_id not in self.late_ids]
        self.late = [(e, raw) for e, raw in self.messages if e.event_id in self.late_ids]
        self.data_end = int(max(e.timestamp for e in self.events).timestamp() * 1000)
        self.parsed = [parse_message(encode_canonical(e), now=now, limits=ParseLimits()).events[0]
                       for e in self.events if e.event_id not in self.late_ids]
        self._days = None
        self._windows: dict[str, dict] = {}
        # The oracle's recomputations, while the pipeline works (they take seconds).
        self._oracle_thread = threading.Thread(target=self._recompute, daemon=True)
        self._oracle_thread.start()

    def _recompute(self) -> None:
        self._windows["data"] = recompute(self.parsed, UTC_ZONE, partitions=PARTITIONS)
        self._windows["all"] = {k: +v for k, v in recompute(self.parsed + self.markers,
                                                            UTC_ZONE, partitions=PARTITIONS
                                                            ).items() if +v}

    def _computed(self, which: str) -> dict:
        self._oracle_thread.join()
        return self._windows[which]

    @staticmethod
    def records(topics: dict[str, str], batch) -> list:
        return [(topics[STREAM_OF_TYPE[event.type]], event.user_key.encode(), raw)
                for event, raw in batch]

    def stream_on_time(self, workers: Workers, seconds: float = STREAM_SECONDS) -> SteadyProducer:
        producer = SteadyProducer(workers.stack.bootstrap, self.records(workers.topics,
                                                                        self.on_time), seconds)
        producer.start()
        return producer

    def settled_through(self, workers: Workers) -> int:
        state = changelog_state(workers.stack.bootstrap, workers.app_id)
        progress = [v["settled_through"] for k, v in state.items() if k.startswith("progress|")]
        return min(progress) if len(progress) == PARTITIONS else 0

    def finish(self, workers: Workers, producer: SteadyProducer) -> None:
        """After the on-time stream: the late events once it is caught up, then the markers;
        waits until every partition settled past the data and its timers."""
        producer.result()
        caught_up = self.data_end - 35 * 60_000
        wait_for(lambda: self.settled_through(workers) >= caught_up, timeout=600, interval=5,
                 what="the pipeline to catch up with the on-time data")
        tail = SteadyProducer(workers.stack.bootstrap, self.records(workers.topics, self.late)
                              + self.records(workers.topics,
                                             [(m, encode_canonical(m)) for m in self.markers]), 0)
        tail.start()
        tail.result()
        # Past the data's end + its timers (30 min session timeout and cart abandonment).
        self.final_settled = wait_for(
            lambda: (s := self.settled_through(workers)) >= self.data_end + 31 * 60_000 and s,
            timeout=600, interval=5, what="every partition to settle the data and its timers")

    def oracle(self) -> dict:
        return self._computed("all")

    def assert_changelog_equals_oracle(self, workers: Workers) -> int:
        """Every settled window in the KPI state changelog == the oracle; returns how many."""
        got, limit = settled_windows(changelog_state(workers.stack.bootstrap, workers.app_id))
        want = {k: v for k, v in self.oracle().items()
                if window_of(k[0], k[1], UTC_ZONE).end_ms <= limit}
        assert len(want) >= 50
        compared = {m.split("|")[0] for values in want.values() for m in values}
        assert {"abandoned_carts", "checkout_abandonments", "session_seconds_count",
                "ordered_carts"} <= compared
        mismatched = {k: (got.get(k), want.get(k)) for k in set(got) | set(want)
                      if got.get(k) != want.get(k)}
        assert not mismatched, (f"{len(mismatched)} of {len(want)} settled windows differ from "
                                "the oracle; first: " + "; ".join(
                                    f"{k}: {_difference(*v)}" for k, v in
                                    sorted(mismatched.items())[:3]))
        return len(want)

    def oracle_days(self) -> dict[str, Decimal]:
        """The oracle's two day windows the gauges show (the one of the last settled minute
        and the day before), summed, for the KPIs exported as gauges. Data only: the markers
        at "now" are past the watermark, not applied yet."""
        if self._days is not None:
            return self._days
        data = self._computed("data")
        today = window_of("1d", self.final_settled, UTC_ZONE).start_ms
        total: Counter = Counter()
        for (size, start), values in data.items():
            if size == "1d" and start in (today, today - DAY_MS):
                total.update({k: v for k, v in values.items() if k.split("|")[0] in PREFIXES})
        self._days = {k: v for k, v in total.items() if v}
        return self._days

    def gauge_mismatches(self, texts: list[str]) -> dict:
        got, _, _ = day_gauges(texts)
        got = {k: v for k, v in got.items() if v}
        want = self.oracle_days()
        return {k: (got.get(k), float(want[k]) if k in want else None)
                for k in set(got) | set(want)
                if k not in got or k not in want
                or abs(got[k] - float(want[k])) > 1e-6 * max(1.0, abs(float(want[k])))}

    def assert_gauges_equal_oracle(self, workers: Workers, timeout: float = 90) -> int:
        """The day windows' gauges over the live workers' /metrics (max by partition, summed)
        == the oracle; returns how many series were compared."""
        last: dict = {}

        def matches() -> bool:
            nonlocal last
            last = self.gauge_mismatches(workers.scrapes())
            return not last

        try:
            wait_for(matches, timeout=timeout, interval=2, what="the gauges to equal the oracle")
        except AssertionError:
            first = dict(sorted(last.items())[:8])
            raise AssertionError(f"{len(last)} day-window gauge sums differ from the oracle "
                                 f"(got, want); first: {first}") from None
        return len(self.oracle_days())

    def prometheus_totals(self, workers: Workers) -> dict[str, float]:
        """Whole-shop day totals from the private Prometheus, summed as the README says:
        ``sum(max by (partition, ...) (...))`` with the instance label gone."""
        out = {}
        for gauge in KPI_GAUGES:
            if gauge.prefix not in ("page_view", "sessions", "orders", "revenue", "users",
                                    "funnel", "abandoned_carts"):
                continue
            by = ", ".join(("window_state", "partition", *gauge.labels))
            result = prometheus_query(workers.stack.prometheus,
                                      f'sum(max by ({by}) ({gauge.name}{{window="1d"}}))')
            out[gauge.prefix] = float(result[0]["value"][1]) if result else 0.0
        return out

    def oracle_prefix_totals(self) -> dict[str, float]:
        totals: defaultdict = defaultdict(float)
        for key, value in self.oracle_days().items():
            totals[key.split("|")[0]] += float(value)
        return dict(totals)

    def assert_prometheus_equals_oracle(self, workers: Workers, timeout: float = 60) -> dict:
        want = self.oracle_prefix_totals()
        last: dict = {}

        def matches() -> bool:
            nonlocal last
            got = self.prometheus_totals(workers)
            last = {k: (v, want.get(k, 0.0)) for k, v in got.items()
                    if abs(v - want.get(k, 0.0)) > 1e-6 * max(1.0, abs(want.get(k, 0.0)))}
            return not last

        try:
            wait_for(matches, timeout=timeout, interval=2, what="Prometheus sums to equal the oracle")
        except AssertionError:
            raise AssertionError(f"Prometheus sums (got, want) differ: {last}") from None
        return {k: want.get(k, 0.0) for k in self.prometheus_totals(workers)}


def metric_progress(workers: Workers) -> float:
    """Events counted so far by the live workers (kpiwatch_events_total, max by partition)."""
    return dedup_sum(workers.scrapes(), "kpiwatch_events_total")


__all__ = ["EVENTS", "PrivateStack", "ShopRun", "SteadyProducer", "Workers", "dedup_sum",
           "day_gauges", "metric_progress", "metric_sum"]
