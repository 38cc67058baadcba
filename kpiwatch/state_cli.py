"""``kpiwatch state ...``: the format of the workers' table state, migrating and resetting it.

A click group added to the ``kpiwatch`` command (kpiwatch/cli.py). Needs only Kafka, not the
Faust app; the rule it applies is in streams/state_format.py.
"""

from __future__ import annotations

import sys

import click

from kpiwatch.settings import load_settings
from streams import state_format as sf

OUTCOMES = {
    sf.FRESH: "no state yet",
    sf.CURRENT: f"format {sf.STATE_FORMAT}: ok",
    sf.MIGRATE_NEEDED: f"older format: run `{sf.MIGRATE}`",
    sf.NO_MIGRATION: f"older format without a migration: `{sf.RESET}`",
    sf.NEWER: f"written by a newer kpiwatch: run it, or `{sf.RESET}`",
    sf.CONFLICT: f"current and older both hold records: `{sf.MIGRATE} --replace`",
}


def _run(coroutine):
    try:
        return sf.run(coroutine)
    except sf.BrokerError as error:
        sys.exit(f"kpiwatch state: {error}")


@click.group("state")
def state() -> None:
    """The workers' table state: its format, and migrating or resetting it.

    The KPI state lives in Faust tables whose changelog topics carry the state format in
    their names (<app id>-kpi-state-v1-changelog, ...). A worker refuses to start on state of
    another format (it would misread it or start without it). These commands act on the
    topics of KPIWATCH_APP_ID on KPIWATCH_KAFKA_BOOTSTRAP_SERVERS; migrate and reset need
    every worker of that app id stopped.
    """


@state.command("status")
def status() -> None:
    """Show the state topics of each table, their format and records, and whether a worker
    of this version starts on them. Exits 1 if it would not."""
    settings = load_settings()
    found = _run(sf.survey(settings.kafka_bootstrap_servers, settings.app_id))
    decision = found.decision(settings.app_id)
    click.echo(f"app id {settings.app_id} on {settings.kafka_bootstrap_servers}: "
               f"this kpiwatch reads state format {sf.STATE_FORMAT}")
    for verdict in decision.verdicts:
        click.echo(f"  {verdict.table}: {OUTCOMES[verdict.outcome]}")
        for topic, offsets in sorted(found.topics.items()):
            parsed = sf.parse_changelog_topic(settings.app_id, topic)
            if parsed and parsed[0] == verdict.table:
                records = sum(end - start for start, end in offsets.values())
                migrated = found.migrated.get(topic)
                note = f", migrated from {migrated.source}" if migrated else ""
                click.echo(f"    {topic}: {sf.describe_format(parsed[1])}, "
                           f"{len(offsets)} partitions, {records} record offsets{note}")
    if not decision.start:
        click.echo("")
        click.echo(decision.message)
        sys.exit(1)
    click.echo("a worker starts on this state")


@state.command("migrate")
@click.option("--replace", is_flag=True,
              help="When the current format's topic already holds records that no completed "
                   "migration wrote (an interrupted one), delete them and copy again.")
def migrate(replace: bool) -> None:
    """Copy the state of an older format into the current format's topics, then start the
    workers as usual.

    From format 0 (the unversioned topics of the releases before state versioning) to format
    1 the records are copied as they are: key and value bytes, partition for partition, in
    order. The older topics are kept (a rollback to the older release still finds them);
    each completed copy is recorded in <app id>-state-migrations. Stop every worker first.
    """
    settings = load_settings()
    _run(sf.migrate(settings, replace=replace, echo=click.echo))
    click.echo(f"state is in format {sf.STATE_FORMAT}: the workers can start")


@state.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Delete the workers' state (every format) and rebuild it from the topics.

    Deletes every state changelog topic of the app id (any format) and the migrations
    record, and sets the workers' committed offsets of the canonical and dead-letter topics
    back to their start: the next workers rebuild the KPIs from what those topics still hold
    (their retention). KPIs of anything older are lost. Stop every worker first.
    """
    settings = load_settings()
    doomed, rewind = _run(sf.reset_plan(settings))
    if not doomed and not rewind:
        click.echo(f"nothing to reset for app id {settings.app_id}")
        return
    click.echo(f"app id {settings.app_id} on {settings.kafka_bootstrap_servers}:")
    for topic in doomed:
        click.echo(f"  delete {topic}")
    for topic in sorted(rewind):
        click.echo(f"  rewind consumer group {settings.app_id} on {topic} to its start")
    click.echo("The KPIs are then rebuilt only from what those topics still hold.")
    if not yes:
        click.confirm("Reset the state?", abort=True)
    _run(sf.reset(settings, doomed, rewind, echo=click.echo))
