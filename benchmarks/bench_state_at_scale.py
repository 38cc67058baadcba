"""Memory and state at scale (issue #24, case 5): a day of a big shop replayed fast into one worker.

Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_state_at_scale.py --scale 0.05
    .venv/bin/python benchmarks/bench_state_at_scale.py --scale 1      # the full day: hours

The full size is the issue's: 1,000,000 users and 3,000,000 sessions in one day (the
simulator's shop makes about 5 events a session: 15 million events). ``--scale`` takes a
fraction of both; ``--users`` and ``--sessions`` set them apart.

It starts a stack of its own (Kafka, Redis and Prometheus on free ports, in a fresh run dir
under .run/, removed at the end unless ``--keep``), so the changelog on disk is this run's
alone. Then:

1. the simulator's shop (simulator/, seeded, with its daily traffic shape) generates one UTC
   day of events about 410 days ago, with enough returning visitors for the users asked for,
   and they are produced into fresh input topics as a backlog, before the worker starts
   (``KPIWATCH_REPLAY_HORIZON`` is raised to admit them);
2. one ``kpiwatch worker`` reads the backlog; events on every input partition past the day's
   end plus the allowed lateness (markers) settle it. Printed: events, users, sessions,
   the worker's resident memory (VmRSS at start and at the end, VmHWM: its peak), the rate,
   the KPI state changelog (records: end offsets; bytes of its partitions' log dirs);
3. recovery: the worker is stopped (SIGTERM) and a new one started on the same app id;
   printed, the time to ready (/health) and until its /metrics shows every partition's
   settled progress again (the table read back from the changelog);
4. expiry: markers move the watermark past each documented horizon in turn (docs/design.md,
   "State that expires": sessions end after the session timeout, orders are remembered for
   the dedup horizon, carts 7 days after their abandonment, identity links after 31 days,
   users after 61, window aggregates after their size's retention, ``WINDOW_RETENTION_MS``); after
   each step the changelog is read and the live table keys of the day are counted by kind
   (the markers' own users and windows left out), next to what the documentation says
   should be left.

``--figures PATH`` also writes the figures as JSON (benchmarks/fault_suite.py reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator import ShopProfile, ShopSimulator  # noqa: E402
from streams.kpis.kpi_settings import WINDOW_RETENTION_MS, KpiSettings  # noqa: E402
from streams.windows import MINUTE_MS  # noqa: E402
from tests.integration.fault_stack import PrivateStack  # noqa: E402
from tests.integration.services import REPO, Worker, metric_sum, unique_names  # noqa: E402

FULL_USERS = 1_000_000
FULL_SESSIONS = 3_000_000
DAY = timedelta(days=1)
# The replayed day lies this far back, so that the watermark can pass the longest horizon
# (a day window's 400 days) without running ahead of the wall clock.
DAY_AGE = timedelta(days=410)
REPLAY_HORIZON = "P420D"
SETTLED = "kpiwatch_settled_through_timestamp_seconds"
MARKER_USERS = 64
ENTITY_KINDS = ("session", "cart", "order", "user", "link", "customer")
WINDOW_SIZES = ("1m", "5m", "15m", "1h", "1d", "all")


@dataclasses.dataclass(frozen=True)
class Horizon:
    """A step of the expiry part: the watermark is moved past ``after`` (from the day's end),
    and what the documentation says is gone by then."""

    label: str
    after: timedelta
    gone: tuple[str, ...]


def horizons(settings: KpiSettings) -> list[Horizon]:
    ms = timedelta(milliseconds=1)
    retention = {size: WINDOW_RETENTION_MS[size] * ms for size in WINDOW_RETENTION_MS}
    # Sessions end a session timeout after their last event; a cart is abandoned
    # abandon_after after its last activity, and forgotten cart_recovery after that.
    session_end = settings.session_timeout_ms * ms
    cart_gone = (settings.abandon_after_ms + settings.cart_recovery_ms) * ms
    return [
        Horizon("day settled", timedelta(0), ()),
        Horizon("+ session timeout, abandonment", max(session_end, settings.abandon_after_ms * ms),
                ("session",)),
        Horizon("+ dedup horizon, 1m retention", max(settings.dedup_horizon_ms * ms,
                                                     retention["1m"]), ("session", "order", "1m")),
        Horizon("+ cart recovery, 5m/15m retention", max(cart_gone, retention["5m"],
                                                         retention["15m"]),
                ("session", "order", "cart", "1m", "5m", "15m")),
        Horizon("+ link ttl", max(settings.link_ttl_ms * ms, 31 * DAY),
                ("session", "order", "cart", "link", "1m", "5m", "15m")),
        Horizon("+ 1h retention", retention["1h"],
                ("session", "order", "cart", "link", "1m", "5m", "15m", "1h")),
        Horizon("+ user ttl", max(settings.user_ttl_ms * ms, 61 * DAY),
                ("session", "order", "cart", "user", "link", "1m", "5m", "15m", "1h")),
        Horizon("+ 1d retention", retention["1d"],
                ("session", "order", "cart", "user", "link", "1m", "5m", "15m", "1h", "1d")),
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=f"Full size (the issue's): --scale 1, i.e. --users {FULL_USERS} --sessions "
               f"{FULL_SESSIONS}.")
    parser.add_argument("--scale", type=float, default=0.05,
                        help="fraction of the full day's users and sessions (default 0.05)")
    parser.add_argument("--users", type=int, default=None,
                        help=f"distinct visitors in the day (default: scale x {FULL_USERS:,})")
    parser.add_argument("--sessions", type=int, default=None,
                        help=f"sessions in the day (default: scale x {FULL_SESSIONS:,})")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of every topic")
    parser.add_argument("--allowed-lateness", default="PT5M",
                        help="KPIWATCH_ALLOWED_LATENESS of the worker (default PT5M, the default)")
    parser.add_argument("--pace", type=float, default=None, metavar="EVENTS_PER_S",
                        help="produce the day while the worker reads it, at this rate (below "
                             "the worker's: live-shaped traffic, the input partitions in step); "
                             "default: all of it first, a backlog the worker catches up on")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--no-expiry", action="store_true", help="skip the expiry part")
    parser.add_argument("--figures", type=Path, default=None, metavar="PATH",
                        help="also write the figures as JSON to PATH")
    parser.add_argument("--keep", action="store_true",
                        help="leave the stack running and its run dir in place")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be more than 0")
    args.users = args.users if args.users is not None else round(FULL_USERS * args.scale)
    args.sessions = args.sessions if args.sessions is not None else round(FULL_SESSIONS * args.scale)
    if args.sessions < 1 or not 1 <= args.users <= args.sessions:
        parser.error("need 1 <= --users <= --sessions")
    if args.partitions < 1:
        parser.error("--partitions must be at least 1")
    if args.pace is not None and args.pace <= 0:
        parser.error("--pace must be more than 0")
    return args


def shop_profile(users: int, sessions: int) -> ShopProfile:
    """The simulator's shop with as many returning visitors as give ``users`` distinct
    visitors in ``sessions`` sessions: bots and the shop's known visitors are new user keys
    too, the rest of the new ones come from the human sessions that are not returning."""
    base = ShopProfile()
    known = min(base.known_visitors, users // 10)  # a small shop knows fewer
    new_human = users - base.bot_share * sessions - known
    returning = 1 - max(new_human, 0) / ((1 - base.bot_share) * sessions)
    return dataclasses.replace(base, returning_share=min(max(returning, 0.0), 0.95),
                               known_visitors=known,
                               largest_visitor_pool=max(users, base.largest_visitor_pool))


# -- the day ----------------------------------------------------------------------------------

@dataclasses.dataclass
class DayCensus:
    events: int = 0
    by_stream: Counter = dataclasses.field(default_factory=Counter)
    users: set = dataclasses.field(default_factory=set)
    sessions: set = dataclasses.field(default_factory=set)
    carts: set = dataclasses.field(default_factory=set)
    orders: int = 0
    last_event: datetime | None = None

    def note(self, labelled) -> None:
        event = labelled.event
        self.events += 1
        self.by_stream[labelled.message.stream] += 1
        # Hashes, not the ids: the full day has millions of them.
        self.users.add(hash(event.anonymous_id))
        if event.session_id:
            self.sessions.add(hash(event.session_id))
        if event.cart_id:
            self.carts.add(hash(event.cart_id))
        self.orders += event.type == "order_completed"
        self.last_event = event.event_time


async def produce_day(bootstrap: str, topics: dict[str, str], simulator: ShopSimulator,
                      start: datetime, rate: float, census: DayCensus,
                      pace: float | None = None) -> None:
    """The day's messages in event-time order, as fast as the broker takes them, or ``pace``
    messages a second."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                max_batch_size=256 * 1024)
    await producer.start()
    pending = []
    began = time.monotonic()
    try:
        for labelled in simulator.labelled(start, DAY, rate):
            census.note(labelled)
            message = labelled.message
            pending.append(await producer.send(topics[message.stream], message.value,
                                               key=message.key))
            if pace and census.events % 1000 == 0:
                ahead = began + census.events / pace - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def markers(tag: str, at: datetime) -> list[tuple[str, bytes, bytes]]:
    """(stream, key, value): events at ``at`` on many user keys and every input stream, which
    move every input partition's event time, and so every KPI partition's watermark, there.
    Each step's have ids of their own (the same ids would be dropped as duplicates)."""
    kinds = (("clickstream", "page_view", {}), ("cart", "checkout_started", {}),
             ("purchase", "payment_failed", {"payment_method": "card"}))
    return [(stream, f"marker-{i}".encode(), orjson.dumps({
        "event_id": f"marker-{tag}-{stream}-{i}", "type": kind, "timestamp": at.isoformat(),
        "anonymous_id": f"marker-{i}", **extra}))
        for i in range(MARKER_USERS) for stream, kind, extra in kinds]


def send(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    async def run() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        await producer.start()
        try:
            for topic, key, value in records:
                await producer.send(topic, value, key=key)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(run())


# -- the worker and its state -------------------------------------------------------------------

def memory(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak resident) of a process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def settled_through(worker: Worker) -> dict[str, float]:
    """Per partition, the end of its last settled minute (s), as the worker's /metrics shows
    it; empty while the worker does not answer (busy in a long settle, or recovering)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = worker.metrics_text()
    except OSError:
        return {}
    return {sample.labels["partition"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == SETTLED}


def wait_settled(worker: Worker, partitions: int, through_s: float, timeout: float) -> float:
    """Seconds until every partition settled through ``through_s``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        shown = settled_through(worker)
        if len(shown) == partitions and min(shown.values()) >= through_s:
            return time.monotonic() - began
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        time.sleep(2.0)  # a scrape costs the worker too
    raise RuntimeError(f"not settled through {through_s} after {timeout} s: {shown}\n"
                       f"{worker.log_tail()}")


class Changelog:
    """The KPI state changelog, read incrementally: the latest record of every key, as the
    class of a live key ("session", "agg 1m", ...) or None for a key ended or deleted."""

    def __init__(self, bootstrap: str, app_id: str, partitions: int, data_dir: Path,
                 day: tuple[int, int]) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions  # the table's, as the canonical topic's
        self.topic = f"{app_id}-kpi-state-v1-changelog"
        self.data_dir = data_dir
        self.day = day
        self.next_offsets: dict[int, int] = {}
        self.live: dict[str, str | None] = {}

    def end_offsets(self) -> dict[int, int]:
        async def run() -> dict[int, int]:
            from aiokafka import AIOKafkaConsumer, TopicPartition

            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap)
            await consumer.start()
            try:
                partitions = [TopicPartition(self.topic, p) for p in range(self.partitions)]
                return {tp.partition: offset
                        for tp, offset in (await consumer.end_offsets(partitions)).items()}
            finally:
                await consumer.stop()

        return asyncio.run(run())

    def records(self) -> int:
        return sum(self.end_offsets().values())

    def wait_quiet(self, seconds: float = 3.0, timeout: float = 120.0) -> None:
        """Until no record was added for ``seconds`` (the checkpoint's writes and the sweep's
        deletions are in)."""
        last, since, began = self.records(), time.monotonic(), time.monotonic()
        while time.monotonic() - since < seconds and time.monotonic() - began < timeout:
            time.sleep(1.0)
            now = self.records()
            if now != last:
                last, since = now, time.monotonic()

    def disk_bytes(self) -> tuple[int, int]:
        """(bytes on disk, as du counts them; bytes of the .log segments) of the topic's
        partition directories in the broker's data dir."""
        on_disk = logs = 0
        for directory in self.data_dir.glob(f"{self.topic}-*"):
            for path in directory.iterdir():
                stat = path.stat()
                on_disk += stat.st_blocks * 512
                logs += stat.st_size if path.suffix == ".log" else 0
        return on_disk, logs

    def read(self) -> None:
        """Reads what was added since the last read, up to the end offsets of now."""

        async def run(ends: dict[int, int]) -> None:
            from aiokafka import AIOKafkaConsumer, TopicPartition

            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                        enable_auto_commit=False, max_partition_fetch_bytes=4 << 20)
            await consumer.start()
            try:
                partitions = [TopicPartition(self.topic, p) for p in ends]
                consumer.assign(partitions)
                for tp in partitions:
                    consumer.seek(tp, self.next_offsets.get(tp.partition, 0))
                left = {tp.partition for tp in partitions
                        if self.next_offsets.get(tp.partition, 0) < ends[tp.partition]}
                while left:
                    for tp, batch in (await consumer.getmany(timeout_ms=1000,
                                                             max_records=50_000)).items():
                        for record in batch:
                            key = orjson.loads(record.key)
                            self.live[key] = self._class_of(key, record.value)
                        self.next_offsets[tp.partition] = batch[-1].offset + 1
                        if self.next_offsets[tp.partition] >= ends[tp.partition]:
                            left.discard(tp.partition)
            finally:
                await consumer.stop()

        asyncio.run(run(self.end_offsets()))

    def _class_of(self, key: str, value: bytes | None) -> str | None:
        if value is None:
            return None
        kind, _, rest = key.partition("|")
        if kind == "agg":
            _, size, start = rest.split("|")
            if size != "all" and not self.day[0] <= int(start) < self.day[1]:
                return None  # the markers' own windows
            return f"agg {size}"
        if kind in ("progress", "timers") or "marker-" in rest:
            return None
        return None if orjson.loads(value).get("ended") else kind

    def counts(self) -> Counter:
        return Counter(kind for kind in self.live.values() if kind is not None)


# -- the run ------------------------------------------------------------------------------------

def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A fresh topic's leaders take a moment: aiokafka retries, and would say so every time.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    began = time.monotonic()
    figures: dict = {"case": 5, "users_asked": args.users, "sessions_asked": args.sessions}
    lateness = args.allowed_lateness
    run_dir = Path(tempfile.mkdtemp(prefix="state-at-scale-", dir=REPO / ".run"))
    stack = PrivateStack.up(run_dir)
    names = unique_names()
    env = {**stack.env, **names, "KPIWATCH_TOPIC_PARTITIONS": str(args.partitions),
           "KPIWATCH_REPLAY_HORIZON": REPLAY_HORIZON, "KPIWATCH_ALLOWED_LATENESS": lateness,
           "KPIWATCH_LOG_LEVEL": "warning"}
    workers: list[Worker] = []
    try:
        figures.update(run(args, stack, names, env, workers, run_dir))
    finally:
        for worker in workers:
            worker.stop()
        if args.keep:
            print(f"kept: the stack (KPIWATCH_RUN_DIR={run_dir} .venv/bin/python -m devstack "
                  f"down) and {run_dir}")
        else:
            stack.down()
            shutil.rmtree(run_dir, ignore_errors=True)
    figures["runtime_s"] = round(time.monotonic() - began)
    print(f"runtime {figures['runtime_s']} s")
    if args.figures is not None:
        args.figures.write_text(json.dumps(figures, indent=1))
    return 0


def run(args, stack: PrivateStack, names: dict, env: dict, workers: list[Worker],
        run_dir: Path) -> dict:
    from kpiwatch.settings import Settings
    from streams.admin import ensure_topics

    settings = KpiSettings.from_settings(Settings(
        **{k.removeprefix("KPIWATCH_").lower(): v for k, v in env.items()}))
    bootstrap = stack.bootstrap
    topics = {s: names[f"KPIWATCH_TOPIC_{s.upper()}"] for s in ("clickstream", "cart", "purchase")}
    asyncio.run(ensure_topics(bootstrap, list(topics.values()), args.partitions))
    profile = shop_profile(args.users, args.sessions)
    simulator = ShopSimulator(seed=args.seed, profile=profile)
    day_start = (datetime.now(UTC) - DAY_AGE).replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = day_start + DAY
    rate = args.sessions * profile.events_per_session / DAY.total_seconds()
    census = DayCensus()
    log_dir = run_dir / "workers"
    log_dir.mkdir()
    worker = Worker(env=env, log_path=log_dir / "worker-0.log")
    workers.append(worker)

    def start_worker() -> tuple[float, float, int]:
        started = time.monotonic()
        worker.start(timeout=180)
        ready = time.monotonic()
        return ready - started, ready, memory(worker.process.pid)["VmRSS"]

    if args.pace is not None:  # live-shaped: the worker reads the day while it is produced
        ready_s, ready_at, at_ready = start_worker()
    produced_at = time.monotonic()
    asyncio.run(produce_day(bootstrap, topics, simulator, day_start, rate, census, args.pace))
    produce_s = time.monotonic() - produced_at
    if args.pace is None:  # a backlog: all of the day waits in the input topics
        ready_s, ready_at, at_ready = start_worker()
    print(f"day {day_start:%Y-%m-%d} (UTC) generated and produced in {produce_s:.0f} s"
          f"{f' (paced at {args.pace:,.0f} events/s)' if args.pace else ''}: "
          f"{census.events:,} events ({dict(census.by_stream)}), {len(census.users):,} users, "
          f"{len(census.sessions):,} sessions, {len(census.carts):,} carts, "
          f"{census.orders:,} orders; returning share {profile.returning_share:.3f}")
    figures = {"mode": "paced" if args.pace else "backlog", "events": census.events,
               "users": len(census.users),
               "sessions": len(census.sessions), "carts": len(census.carts),
               "orders": census.orders, "produce_s": round(produce_s)}

    changelog = Changelog(bootstrap, names["KPIWATCH_APP_ID"], args.partitions,
                          run_dir / "kafka" / "data",
                          (int(day_start.timestamp() * 1000), int(day_end.timestamp() * 1000)))
    lateness_ms = settings.allowed_lateness_ms

    def settle_past(tag: str, through: datetime, worker: Worker, timeout: float) -> float:
        at = through + timedelta(milliseconds=lateness_ms + 2 * MINUTE_MS)
        send(bootstrap, [(topics[s], k, v) for s, k, v in markers(tag, at)])
        return wait_settled(worker, args.partitions, through.timestamp() + 60, timeout)

    timeout = max(1800.0, census.events / 500)
    settle_past("day", day_end, worker, timeout)
    # From ready (a backlog) or from the first message produced (paced) to the day settled.
    processing_s = time.monotonic() - (produced_at if args.pace else ready_at)
    changelog.wait_quiet()
    rss = memory(worker.process.pid)
    text = worker.metrics_text()
    late = metric_sum(text, "kpiwatch_invalid_events_total", reason="late_event")
    invalid = metric_sum(text, "kpiwatch_invalid_events_total") - late
    records = changelog.records()
    on_disk, log_bytes = changelog.disk_bytes()
    print(f"one worker: ready after {ready_s:.1f} s; the day settled {processing_s:.0f} s "
          f"{'after its first message' if args.pace else 'after ready'} "
          f"(rate {census.events / processing_s:,.0f} events/s); late events {late:g}, "
          f"other invalid {invalid:g}")
    print(f"resident memory: {mb(at_ready)} at ready, peak (VmHWM) {mb(rss['VmHWM'])}, "
          f"{mb(rss['VmRSS'])} with the day settled")
    print(f"KPI state changelog: {records:,} records, {mb(on_disk)} on disk ({mb(log_bytes)} of "
          f"log segments), {records / census.events:.2f} records per event")
    figures.update(ready_s=round(ready_s, 1), processing_s=round(processing_s),
                   rate=round(census.events / processing_s), late_events=late,
                   rss_ready=at_ready, rss_peak=rss["VmHWM"], rss_settled=rss["VmRSS"],
                   changelog_records=records, changelog_disk_bytes=on_disk,
                   changelog_log_bytes=log_bytes)

    # Recovery: the state read back from the changelog by a new worker.
    # (Once the input is silent for the idle timeout, event time goes on with the wall clock.)
    before = min(settled_through(worker).values(), default=day_end.timestamp() + 60)
    worker.stop()
    restarted = time.monotonic()
    worker = Worker(env=env, log_path=log_dir / "worker-1.log")
    workers.append(worker)
    worker.start(timeout=timeout)
    recovered_ready_s = time.monotonic() - restarted
    wait_settled(worker, args.partitions, before, timeout)
    recovered_s = time.monotonic() - restarted
    rss = memory(worker.process.pid)
    print(f"recovery after a restart (SIGTERM, new worker): ready after {recovered_ready_s:.1f} s, "
          f"every partition's settled progress shown again after {recovered_s:.1f} s, "
          f"reading {records:,} changelog records; resident memory then {mb(rss['VmRSS'])} "
          f"(peak {mb(rss['VmHWM'])})")
    figures.update(recovery_ready_s=round(recovered_ready_s, 1),
                   recovery_s=round(recovered_s, 1), rss_recovered=rss["VmRSS"])
    if args.no_expiry:
        return figures

    rows = []
    for step, horizon in enumerate(horizons(settings)):
        if step:
            settle_past(f"h{step}", day_end + horizon.after, worker, timeout)
            changelog.wait_quiet()
        changelog.read()
        counts = changelog.counts()
        rows.append((horizon, counts, changelog.records(), memory(worker.process.pid)["VmRSS"]))
    print_expiry(rows)
    figures["expiry"] = [{"step": h.label, "after_s": h.after.total_seconds(), **counts,
                          "changelog_records": n, "rss": r} for h, counts, n, r in rows]
    figures["expiry_as_documented"] = all(
        not counts.get(kind) and not counts.get(f"agg {kind}") for h, counts, _, _ in rows
        for kind in h.gone)
    print("state expires as documented:", "yes" if figures["expiry_as_documented"] else "NO")
    return figures


def print_expiry(rows) -> None:
    columns = [*ENTITY_KINDS, *(f"agg {size}" for size in WINDOW_SIZES)]
    header = (f"{'watermark past the day':<36}{'after':>9}"
              + "".join(f"{c.removeprefix('agg '):>9}" for c in columns)
              + f"{'records':>12}{'RSS':>10}")
    print("live keys of the day's state (entities by kind, window aggregates by size; a * "
          "where the docs say none is left):")
    print(header)
    for horizon, counts, records, rss in rows:
        cells = "".join(f"{counts.get(c, 0):>8,}{'*' if c.removeprefix('agg ') in horizon.gone else ' '}"
                        for c in columns)
        print(f"{horizon.label:<36}{horizon.after.total_seconds() / 86400:>8.2f}d{cells}"
              f"{records:>12,}{rss / 1e6:>8.0f}MB")


if __name__ == "__main__":
    sys.exit(main())
