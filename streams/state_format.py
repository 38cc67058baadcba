"""The format of kpiwatch's table state, and what a worker does with state of another format.

The rule: a table's format version is in its name, so in its changelog topic's name
(``<app id>-<table>-v<format>-changelog``; ``table_name`` builds them, the table declarations
use it). Not in each record: a version byte per record would cost a check on the hot path,
and every record of a topic is of the one format its name says. A release that changes what
a table's keys or values mean bumps ``STATE_FORMAT``; its tables then live in new topics and
the old ones are never read as if they were the new format.

- ``STATE_FORMAT`` is the format this code writes and reads: 1, the JSON keys and values of
  streams/changelog_writes.py (a ``None`` value is a deleted key).
- Format 0 (``LEGACY``) is the unversioned names of the releases before versioning
  (``<app id>-kpi-state-changelog``, ...): the same bytes as format 1.

Before a worker joins its consumer group, ``check_state_format`` (kpiwatch/cli.py) looks at
the changelog topics of its app id (``decide``, per table):

- nothing holds records (a fresh cluster), or the current format's topic does: it starts;
- an older format's topic holds records and the current one is empty or missing: it refuses,
  naming ``kpiwatch state migrate`` (copies the records to the current format's topics; for
  0 -> 1 a plain copy, key and value bytes as they are, partition for partition, in order)
  and ``kpiwatch state reset`` (deletes the state: the KPIs are rebuilt from what the
  canonical and dead-letter topics still hold);
- a newer format's topic holds records (a newer kpiwatch ran on this cluster): it refuses,
  naming that version or ``kpiwatch state reset``;
- both the current and an older format's topics hold records: it starts if a completed
  migration copied that older topic as it still is (``migrate`` records each in the
  ``<app id>-state-migrations`` topic, with the older topic's end offsets), and refuses
  otherwise (an interrupted migration, or a worker of an older release wrote to the older
  topic after the migration), naming ``kpiwatch state migrate --replace`` and ``reset``.

A topic "holds records" when one of its partitions has an end offset beyond its start.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

STATE_FORMAT = 1
LEGACY = 0
# kpiwatch's Faust tables (streams/kpis/agent.py, streams/pipeline_health.py).
TABLES = ("kpi-state", "event-counts", "dead-letter-counts")
# From-format -> how its state becomes the next format's: "copy" (the same bytes).
MIGRATIONS = {LEGACY: "copy"}
FORMAT_NAMES = {LEGACY: "format 0, unversioned: the releases before state versioning"}

MIGRATE = "kpiwatch state migrate"
RESET = "kpiwatch state reset"
STATUS = "kpiwatch state status"

# Per-table outcomes of ``decide``.
FRESH = "fresh"  # no topic of it holds records
CURRENT = "current"  # the current format's topic holds its state
MIGRATE_NEEDED = "migrate"  # an older format's topic holds it, the current one nothing
NO_MIGRATION = "no-migration"  # an older format without a migration to the current
NEWER = "newer"  # a newer format's topic holds records
CONFLICT = "conflict"  # current and older both hold records, no completed migration of it

Offsets = Mapping[int, tuple[int, int]]  # partition -> (start offset, end offset)


def table_name(table: str, version: int = STATE_FORMAT) -> str:
    """The Faust table name of ``table`` in state format ``version`` (0: the legacy name)."""
    if table not in TABLES:
        raise ValueError(f"not a kpiwatch table: {table!r}")
    return table if version == LEGACY else f"{table}-v{version}"


def changelog_topic(app_id: str, table: str, version: int = STATE_FORMAT) -> str:
    """The changelog topic Faust names for the table: ``<app id>-<table name>-changelog``."""
    return f"{app_id}-{table_name(table, version)}-changelog"


def migrations_topic(app_id: str) -> str:
    """Where ``kpiwatch state migrate`` records each migration it completed."""
    return f"{app_id}-state-migrations"


_VERSIONED = re.compile(r"^(?P<table>.+)-v(?P<version>[0-9]+)$")


def parse_changelog_topic(app_id: str, topic: str) -> tuple[str, int] | None:
    """(table, format) of a changelog topic of one of kpiwatch's tables of this app id."""
    prefix, suffix = f"{app_id}-", "-changelog"
    if not (topic.startswith(prefix) and topic.endswith(suffix)):
        return None
    name = topic[len(prefix):-len(suffix)]
    if name in TABLES:
        return name, LEGACY
    match = _VERSIONED.match(name)
    if match and match["table"] in TABLES and int(match["version"]) > LEGACY:
        return match["table"], int(match["version"])
    return None


def holds_records(offsets: Offsets) -> bool:
    return any(end > start for start, end in offsets.values())


def describe_format(version: int) -> str:
    return FORMAT_NAMES.get(version, f"format {version}")


@dataclass(frozen=True)
class Migrated:
    """A completed migration, as recorded in the migrations topic."""

    source: str
    target: str
    source_ends: dict[int, int]  # the source's end offsets when it was copied
    copied: dict[int, int] = field(default_factory=dict)  # records per partition

    def as_json(self) -> bytes:
        return orjson.dumps({"source": self.source, "target": self.target,
                             "source_ends": {str(p): e for p, e in self.source_ends.items()},
                             "copied": {str(p): n for p, n in self.copied.items()},
                             "format": STATE_FORMAT,
                             "at": datetime.now(UTC).isoformat(timespec="seconds")})

    @classmethod
    def from_json(cls, raw: bytes) -> Migrated:
        doc = orjson.loads(raw)
        return cls(doc["source"], doc["target"],
                   {int(p): e for p, e in doc["source_ends"].items()},
                   {int(p): n for p, n in doc.get("copied", {}).items()})


@dataclass(frozen=True)
class TableVerdict:
    table: str
    outcome: str
    current: str  # the current format's changelog topic
    other: str | None = None  # the older (or newer) topic the outcome is about
    version: int | None = None  # its format


@dataclass(frozen=True)
class Decision:
    verdicts: tuple[TableVerdict, ...]
    message: str = ""

    @property
    def start(self) -> bool:
        return all(v.outcome in (FRESH, CURRENT) for v in self.verdicts)

    @property
    def migrations(self) -> tuple[TableVerdict, ...]:
        return tuple(v for v in self.verdicts if v.outcome in (MIGRATE_NEEDED, CONFLICT))


def decide(app_id: str, topics: Mapping[str, Offsets],
           migrated: Mapping[str, Migrated] | None = None) -> Decision:
    """What a worker of this app id does with the topics found: ``topics`` maps each topic
    name to its partitions' (start, end) offsets (other apps' topics are ignored);
    ``migrated`` maps a current-format topic to the completed migration that filled it."""
    migrated = migrated or {}
    found: dict[str, dict[int, str]] = {table: {} for table in TABLES}
    for topic in topics:
        parsed = parse_changelog_topic(app_id, topic)
        if parsed is not None:
            found[parsed[0]][parsed[1]] = topic
    verdicts = []
    for table in TABLES:
        current = changelog_topic(app_id, table)
        holding = {version: topic for version, topic in found[table].items()
                   if holds_records(topics[topic])}
        newer = sorted(v for v in holding if v > STATE_FORMAT)
        older = sorted(v for v in holding if v < STATE_FORMAT)
        if newer:
            verdicts.append(TableVerdict(table, NEWER, current, holding[newer[-1]], newer[-1]))
        elif not older:
            verdicts.append(TableVerdict(table, CURRENT if STATE_FORMAT in holding else FRESH,
                                         current))
        else:
            version, source = older[-1], holding[older[-1]]
            if version not in MIGRATIONS:
                verdicts.append(TableVerdict(table, NO_MIGRATION, current, source, version))
            elif STATE_FORMAT not in holding:
                verdicts.append(TableVerdict(table, MIGRATE_NEEDED, current, source, version))
            else:
                done = migrated.get(current)
                ends = {p: end for p, (_, end) in topics[source].items()}
                copied_as_is = done is not None and done.source == source \
                    and done.source_ends == ends
                verdicts.append(TableVerdict(table, CURRENT if copied_as_is else CONFLICT,
                                             current, source, version))
    return Decision(tuple(verdicts), refusal(tuple(verdicts)))


def refusal(verdicts: tuple[TableVerdict, ...]) -> str:
    """Why a worker does not start on this state, and the commands that fix it ("" if it
    starts)."""
    newer = [v for v in verdicts if v.outcome == NEWER]
    if newer:
        return "\n".join([
            f"kpiwatch: the state was written by a newer kpiwatch (state format "
            f"{max(v.version for v in newer)}); this kpiwatch reads state format "
            f"{STATE_FORMAT} and does not read a format it does not know:",
            *(f"  {v.other} ({describe_format(v.version)}) holds records" for v in newer),
            "  fix: run the kpiwatch version that wrote it (or a later one), or",
            f"       `{RESET}` to delete kpiwatch's state (every format) and rebuild the KPIs "
            "from what the canonical and dead-letter topics still hold",
        ])
    older = [v for v in verdicts if v.outcome in (MIGRATE_NEEDED, NO_MIGRATION, CONFLICT)]
    if not older:
        return ""
    lines = [f"kpiwatch: the state is in an older format than this kpiwatch reads (state "
             f"format {STATE_FORMAT}); the worker does not start on it:"]
    for v in older:
        if v.outcome == CONFLICT:
            lines.append(f"  {v.current} and {v.other} ({describe_format(v.version)}) both "
                         "hold records, and no completed migration copied the latter as it "
                         "is now (an interrupted migration, or a worker of an older release "
                         "wrote to it after the migration)")
        else:
            lines.append(f"  {v.other} ({describe_format(v.version)}) holds records; "
                         f"{v.current} is empty or missing")
    lines.append("  fix: stop every kpiwatch worker of this app id, then run, with the same "
                 "KPIWATCH_* settings, one of:")
    if all(v.outcome != NO_MIGRATION for v in older):
        replace = " --replace" if any(v.outcome == CONFLICT for v in older) else ""
        lines.append(f"    `{MIGRATE}{replace}`: copies the records to the format-"
                     f"{STATE_FORMAT} topics (keys and values as they are, partition for "
                     "partition, in order); then start the workers"
                     + ("; --replace deletes the format-1 topics' records first"
                        if replace else ""))
    else:
        lines.append(f"    (no migration exists from {describe_format(min(v.version for v in older))})")
    lines.append(f"    `{RESET}`: deletes kpiwatch's state topics; the KPIs are rebuilt only "
                 "from what the canonical and dead-letter topics still hold (their "
                 "retention): what is older is lost")
    lines.append(f"  `{STATUS}` shows the state topics.")
    return "\n".join(lines)


# --- The broker side: finding the topics, copying, deleting -------------------------------


@dataclass
class Survey:
    """kpiwatch's state topics of one app id on the broker."""

    topics: dict[str, dict[int, tuple[int, int]]]  # changelog topic -> partition offsets
    replication: dict[str, int]  # topic -> replication factor
    migrated: dict[str, Migrated]
    has_migrations_topic: bool

    def decision(self, app_id: str) -> Decision:
        return decide(app_id, self.topics, self.migrated)


class BrokerError(Exception):
    """The broker could not be reached or refused a request: the message says which."""


async def _admin(bootstrap: str):
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    return admin


async def _offsets(bootstrap: str, partitions: Mapping[str, Iterable[int]]) -> dict:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
    result: dict[str, dict[int, tuple[int, int]]] = {t: {} for t in partitions}
    if not tps:
        return result
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    for tp in tps:
        result[tp.topic][tp.partition] = (starts[tp], ends[tp])
    return result


async def _describe(admin, topics: list[str]) -> dict[str, list[dict]]:
    if not topics:
        return {}
    described = await admin.describe_topics(topics)
    return {d["topic"]: d["partitions"] for d in described}


async def _read_all(bootstrap: str, topic: str, partitions: Iterable[int],
                    until: Mapping[int, int] | None = None):
    """Yields (partition, record) lists of a topic from its start up to its end offsets (as
    they were when asked, or ``until``), in offset order per partition."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = {tp: (until[tp.partition] if until is not None else end)
                for tp, end in (await consumer.end_offsets(tps)).items()}
        remaining = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                records = [r for r in records if r.offset < ends[tp]]
                if records:
                    yield tp.partition, records
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def survey(bootstrap: str, app_id: str) -> Survey:
    """Lists the state topics of ``app_id`` (any format) with their offsets, and the
    completed migrations."""
    from aiokafka.errors import KafkaError

    try:
        return await _survey(bootstrap, app_id)
    except KafkaError as error:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {error!r}") from error


async def _survey(bootstrap: str, app_id: str) -> Survey:
    admin = await _admin(bootstrap)
    try:
        names = await admin.list_topics()
        state = sorted(n for n in names if parse_changelog_topic(app_id, n) is not None)
        has_migrations = migrations_topic(app_id) in names
        described = await _describe(admin, state)
    finally:
        await admin.close()
    partitions = {t: [p["partition"] for p in ps] for t, ps in described.items()}
    replication = {t: max((len(p["replicas"]) for p in ps), default=1)
                   for t, ps in described.items()}
    topics = await _offsets(bootstrap, partitions)
    migrated: dict[str, Migrated] = {}
    if has_migrations:
        async for _, records in _read_all(bootstrap, migrations_topic(app_id), [0]):
            for record in records:
                if record.value is not None:
                    done = Migrated.from_json(record.value)
                    migrated[done.target] = done
    return Survey(topics, replication, migrated, has_migrations)


async def survey_with_retry(bootstrap: str, app_id: str, timeout: float) -> Survey:
    """``survey``, retried while the broker is not reachable yet (a worker may start with it)."""
    deadline = time.monotonic() + timeout
    quiet = logging.getLogger("aiokafka")  # its "Unable connect" line on every attempt
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        while True:
            try:
                return await survey(bootstrap, app_id)
            except BrokerError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)
    finally:
        quiet.setLevel(level)


def run(coroutine):
    """Runs a coroutine on an event loop of its own, not made the thread's current loop (the
    Faust worker started after it makes its own)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def check_state_format(settings, timeout: float = 30.0) -> Decision:
    """The start-up check (kpiwatch/cli.py, before the worker joins its group): exits with
    the refusal message (no traceback) when the state is not of this code's format."""
    try:
        found = run(survey_with_retry(settings.kafka_bootstrap_servers, settings.app_id,
                                      timeout))
    except BrokerError as error:
        sys.exit(f"kpiwatch: cannot check the state format: {error}\n"
                 "  fix: start Kafka or set KPIWATCH_KAFKA_BOOTSTRAP_SERVERS")
    decision = found.decision(settings.app_id)
    if not decision.start:
        sys.exit(decision.message)
    return decision


async def _create(admin, topics: Mapping[str, tuple[int, int]], config: dict[str, str],
                  timeout: float = 30.0) -> None:
    """Creates the topics (name -> (partitions, replication factor)) and waits until the
    broker lists them."""
    from aiokafka.admin import NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    if topics:
        try:
            await admin.create_topics([NewTopic(name, partitions, replication,
                                                topic_configs=config)
                                       for name, (partitions, replication) in topics.items()])
        except TopicAlreadyExistsError:
            pass
    await _wait_listed(admin, set(topics), present=True, timeout=timeout)


async def _wait_listed(admin, names: set[str], present: bool, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        listed = set(await admin.list_topics())
        if (names <= listed) if present else not (names & listed):
            return
        if time.monotonic() > deadline:
            state = "appear" if present else "be deleted"
            raise BrokerError(f"topics {sorted(names)} did not {state} within {timeout} s")
        await asyncio.sleep(0.2)


async def active_members(bootstrap: str, group: str) -> int:
    """How many consumers are in the worker's consumer group now (running workers)."""
    admin = await _admin(bootstrap)
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    # DescribeGroupsResponse: groups = [(error_code, group_id, state, protocol_type,
    # protocol, members, ...)]
    return sum(len(group_row[5]) for group_row in response.groups)


async def migrate(settings, replace: bool = False, echo=print) -> Decision:
    """Copies each table's older-format changelog to the current format's topic (for 0 -> 1
    the records as they are, partition for partition, in order), records each completed copy
    in the migrations topic, and returns the decision after it."""
    bootstrap, app_id = settings.kafka_bootstrap_servers, settings.app_id
    found = await survey(bootstrap, app_id)
    decision = found.decision(app_id)
    if any(v.outcome in (NEWER, NO_MIGRATION) for v in decision.verdicts):
        raise BrokerError(decision.message)
    todo = decision.migrations
    conflicts = [v for v in todo if v.outcome == CONFLICT]
    if conflicts and not replace:
        raise BrokerError(decision.message)
    if not todo:
        echo(f"nothing to migrate: the state of app id {app_id} is in format {STATE_FORMAT}"
             " (or there is none)")
        return decision
    if await active_members(bootstrap, app_id):
        raise BrokerError(f"workers of app id {app_id} are running (its consumer group has "
                          "members): stop every worker first")
    admin = await _admin(bootstrap)
    try:
        if conflicts:
            doomed = {v.current for v in conflicts if v.current in found.topics}
            if doomed:
                echo(f"--replace: deleting {', '.join(sorted(doomed))}")
                await admin.delete_topics(sorted(doomed))
                await _wait_listed(admin, doomed, present=False)
        existing = set(await admin.list_topics())
        sources = {v.other for v in todo}
        replicas = {s: found.replication.get(s, 1) for s in sources}
        await _create(admin, {v.current: (len(found.topics[v.other]), replicas[v.other])
                              for v in todo if v.current not in existing},
                      {"cleanup.policy": "compact"})  # as Faust creates a table's changelog
        await _create(admin, {migrations_topic(app_id): (1, max(replicas.values()))}
                      if migrations_topic(app_id) not in existing else {},
                      {"cleanup.policy": "compact"})
        described = await _describe(admin, [v.current for v in todo])
    finally:
        await admin.close()
    for v in todo:
        source_parts = sorted(found.topics[v.other])
        target_parts = sorted(p["partition"] for p in described[v.current])
        if source_parts != target_parts:
            raise BrokerError(f"{v.current} has partitions {target_parts}, {v.other} "
                              f"{source_parts}: a copy partition for partition is not possible")
    for v in todo:
        done = await _copy(bootstrap, v.other, v.current, found.topics[v.other], echo)
        await _record(bootstrap, migrations_topic(app_id), done)
    after = (await survey(bootstrap, app_id)).decision(app_id)
    if not after.start:
        raise BrokerError(after.message)
    return after


async def _copy(bootstrap: str, source: str, target: str,
                offsets: Mapping[int, tuple[int, int]], echo) -> Migrated:
    from aiokafka import AIOKafkaProducer

    target_before = await _offsets(bootstrap, {target: list(offsets)})
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                linger_ms=10, max_batch_size=256 * 1024,
                                max_request_size=16 * 1024 * 1024)
    await producer.start()
    copied = dict.fromkeys(offsets, 0)
    ends = {p: end for p, (_, end) in offsets.items()}
    try:
        async for partition, records in _read_all(bootstrap, source, list(offsets), ends):
            for r in records:
                await producer.send(target, r.value, key=r.key, partition=partition,
                                    timestamp_ms=r.timestamp, headers=list(r.headers or ()))
            copied[partition] += len(records)
        await producer.flush()
    finally:
        await producer.stop()
    after = await _offsets(bootstrap, {target: list(offsets), source: list(offsets)})
    for p in offsets:
        if after[target][p][1] - target_before[target][p][1] != copied[p]:
            raise BrokerError(f"copy of {source} to {target}: partition {p} received "
                              f"{after[target][p][1] - target_before[target][p][1]} records "
                              f"of {copied[p]} sent")
        if after[source][p][1] != ends[p]:
            raise BrokerError(f"{source} got new records during the copy: a worker of an "
                              "older release is running; stop it and run "
                              f"`{MIGRATE} --replace`")
    echo(f"copied {sum(copied.values())} records of {source} to {target} "
         f"(partitions {sorted(copied)})")
    return Migrated(source, target, ends, copied)


async def _record(bootstrap: str, topic: str, done: Migrated) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, done.as_json(), key=done.target.encode(),
                                     partition=0)
    finally:
        await producer.stop()


async def reset_plan(settings) -> tuple[list[str], dict[str, list[int]]]:
    """What ``reset`` deletes (every state topic of the app id, any format, and the
    migrations topic) and the topics whose committed offsets it moves to their start."""
    found = await survey(settings.kafka_bootstrap_servers, settings.app_id)
    doomed = sorted(found.topics)
    if found.has_migrations_topic:
        doomed.append(migrations_topic(settings.app_id))
    admin = await _admin(settings.kafka_bootstrap_servers)
    try:
        listed = set(await admin.list_topics())
        sources = [t for t in (settings.topic_canonical, settings.topic_dead_letter)
                   if t in listed]
        described = await _describe(admin, sources)
    finally:
        await admin.close()
    return doomed, {t: sorted(p["partition"] for p in ps) for t, ps in described.items()}


async def reset(settings, doomed: list[str], rewind: Mapping[str, list[int]], echo=print) -> None:
    """Deletes the state topics and sets the workers' committed offsets of the topics the
    tables are built from (canonical, dead letters) to their start: the next worker rebuilds
    the state from what those topics still hold."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    bootstrap, app_id = settings.kafka_bootstrap_servers, settings.app_id
    if await active_members(bootstrap, app_id):
        raise BrokerError(f"workers of app id {app_id} are running (its consumer group has "
                          "members): stop every worker first")
    if doomed:
        admin = await _admin(bootstrap)
        try:
            await admin.delete_topics(doomed)
            await _wait_listed(admin, set(doomed), present=False)
        finally:
            await admin.close()
        echo(f"deleted {', '.join(doomed)}")
    tps = [TopicPartition(t, p) for t, ps in rewind.items() for p in ps]
    if tps:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=app_id,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(tps)
            starts = await consumer.beginning_offsets(tps)
            await consumer.commit({tp: OffsetAndMetadata(starts[tp], "kpiwatch state reset")
                                   for tp in tps})
        finally:
            await consumer.stop()
        echo(f"consumer group {app_id}: {', '.join(sorted(rewind))} set back to their start")
