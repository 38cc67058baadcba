"""``kpiwatch alerts ...``: the on-call commands, over the same Redis state the workers share.

A click group added to the ``kpiwatch`` command (kpiwatch/cli.py). Needs only Redis and the
rules file, not Kafka, so it works while the workers are down too.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import click
import orjson
import redis.asyncio as redis

from alerts.kpi_values import dimension_key, parse_dimension_key
from alerts.notification import Notification
from alerts.rules import KPIS, RulesError, RuleSet, load_rules
from alerts.state_store import StateStore, incident_id, now_ms
from kpiwatch.settings import load_settings
from streams.windows import iso

DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    match = DURATION.match(text.strip())
    if not match:
        raise click.BadParameter(f"{text!r}: use a number and a unit: 90s, 30m, 2h, 1d")
    return int(match[1]) * UNITS[match[2]]


def run(coroutine_function, *args):
    """Run one command against Redis; a Redis that cannot be reached is a clear error."""
    settings = load_settings()
    try:
        ruleset = load_rules(settings.rules_file)
    except RulesError as error:
        sys.exit(str(error))

    async def main():
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3)
        try:
            return await coroutine_function(StateStore(client, settings.app_id), ruleset,
                                            settings, *args)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            sys.exit(f"kpiwatch alerts: cannot reach Redis at {without_password(settings.redis_url)}: "
                     f"{error}\n"
                     "  fix: start Redis or set KPIWATCH_REDIS_URL")
        finally:
            await client.aclose()

    return asyncio.run(main())


def when(ms: int | str | None) -> str:
    return iso(int(ms)) if ms not in (None, "") else "-"


async def resolve_incident(states: StateStore, text: str) -> str:
    """An exact incident id, or a part of one that matches exactly one recent incident."""
    if await states.incident(text) is not None:
        return text
    matches = [i for i in await states.incident_ids() if text in i]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        sys.exit(f"no incident matches {text!r} (see `kpiwatch alerts list --all`)")
    sys.exit(f"{text!r} matches {len(matches)} incidents, be more specific:\n  "
             + "\n  ".join(matches[:10]))


@click.group()
def alerts() -> None:
    """On-call: list, inspect, acknowledge and silence alerts; test-fire a rule.

    State lives in Redis (KPIWATCH_REDIS_URL) and is shared by every worker. An incident id
    reads rule|dimension|start (ms); commands also accept any unique part of one, e.g.
    `kpiwatch alerts ack paid_search`.
    """


async def alert_rows(states: StateStore, ruleset: RuleSet,
                     wanted: tuple[str, ...] = ("pending", "firing")) -> list[dict]:
    """One row per rule x dimension in a ``wanted`` state (also read by `kpiwatch status`
    and the demo board)."""
    rows = []
    for rule in ruleset.rules:
        for key, state in sorted((await states.states(rule.name)).items()):
            if state.status not in wanted or state.incident_start is None:
                continue
            incident = incident_id(rule.name, key, state.incident_start)
            info = await states.incident(incident) or {}
            rows.append({"incident": incident, "rule": rule.name, "severity": rule.severity,
                         "dimension": parse_dimension_key(key), "status": state.status,
                         "since": when(state.incident_start),
                         "value": _number(info.get("value")),
                         "benchmark": _number(info.get("benchmark")),
                         "acked_by": info.get("acked_by")})
    return rows


@alerts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True,
              help="Also show recent resolved incidents and active silences.")
def list_alerts(as_json: bool, show_all: bool) -> None:
    """List pending and firing alerts (rule, dimension, since when, acknowledged)."""

    async def body(states: StateStore, ruleset: RuleSet, settings):
        wanted = ("pending", "firing") + (("resolved",) if show_all else ())
        rows = await alert_rows(states, ruleset, wanted)
        silences = await states.silences() if show_all else []
        if as_json:
            click.echo(orjson.dumps({"alerts": rows, "silences": silences},
                                    option=orjson.OPT_INDENT_2).decode())
            return
        if not rows:
            click.echo("no pending or firing alerts")
        for row in rows:
            ack = f"  acked by {row['acked_by']}" if row["acked_by"] else ""
            value = "" if row["value"] is None else f"  value {row['value']:.4g} vs {row['benchmark']:.4g}"
            click.echo(f"{row['status']:<8} {row['severity']:<8} {row['incident']}  since "
                       f"{row['since']}{value}{ack}")
        for silence in silences:
            click.echo(f"silenced {silence['silence']} until {when(silence['until_ms'])} by "
                       f"{silence['by']}{': ' + silence['reason'] if silence['reason'] else ''}")

    run(body)


def _number(text: str | None) -> float | None:
    return None if text in (None, "", "None") else float(text)


@alerts.command()
@click.argument("incident")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show(incident: str, as_json: bool) -> None:
    """Show an incident and its timeline: pending, firing, reminders, acknowledgement,
    resolved, with each window's value vs benchmark and where each notification went."""

    async def body(states: StateStore, ruleset: RuleSet, settings):
        found = await resolve_incident(states, incident)
        info, timeline = await states.incident(found), await states.timeline(found)
        if as_json:
            click.echo(orjson.dumps({"incident": found, **info, "timeline": timeline},
                                    option=orjson.OPT_INDENT_2).decode())
            return
        click.echo(f"incident {found}")
        for key in ("rule", "severity", "kpi", "dimension", "status", "last_notification",
                    "acked_by"):
            if info.get(key):
                click.echo(f"  {key}: {info[key]}")
        click.echo("timeline:")
        for event in timeline:
            line = f"  {when(event['at_ms'])}  {event['event']:<12}"
            if "window_start" in event:
                line += f" window {when(event['window_start'])} - {when(event['window_end'])}"
            if event.get("value") is not None:
                line += f"  value {event['value']:.4g}"
            if event.get("benchmark") is not None:
                line += f" vs {event['benchmark']:.4g}"
            if event.get("notification"):
                line += f"  -> {event['notification']['delivery']}"
            if event.get("by"):
                line += f" by {event['by']}"
            click.echo(line)

    run(body)


@alerts.command()
@click.argument("incident")
@click.option("--by", default=getpass.getuser, show_default="your user name",
              help="Who acknowledges (shown in the timeline and in `alerts list`).")
def ack(incident: str, by: str) -> None:
    """Acknowledge an incident: someone is on it, so no more reminders (renotify_every).
    The resolved message is still sent."""

    async def body(states: StateStore, ruleset: RuleSet, settings):
        found = await resolve_incident(states, incident)
        await states.acknowledge(found, by)
        click.echo(f"acknowledged {found} as {by}")

    run(body)


@alerts.command()
@click.argument("rule")
@click.option("--where", "where", default=None, metavar="DIMENSION=VALUE",
              help="Silence one dimension value only, e.g. channel=paid_search.")
@click.option("--for", "duration", required=True, metavar="DURATION",
              help="How long: 90s, 30m, 2h, 1d. The silence ends by itself.")
@click.option("--reason", default="", help="Why (shown in `alerts list --all`).")
@click.option("--by", default=getpass.getuser, show_default="your user name")
def silence(rule: str, where: str | None, duration: str, reason: str, by: str) -> None:
    """Silence a rule (or one dimension of it) for a while: it is still evaluated and its
    incidents still recorded, but no notifications are sent."""
    seconds = parse_duration(duration)

    async def body(states: StateStore, ruleset: RuleSet, settings):
        try:
            found = ruleset.rule(rule)
        except KeyError:
            sys.exit(f"no rule {rule!r}; rules: {', '.join(r.name for r in ruleset.rules)}")
        key = None
        if where:
            dimension, _, value = where.partition("=")
            allowed = KPIS[found.kpi]["dimensions"]
            if not value or dimension not in allowed:
                sys.exit(f"--where {where!r}: {found.kpi} has dimensions "
                         f"{', '.join(allowed) or 'none'}; use e.g. --where channel=paid_search")
            key = dimension_key({**found.where, dimension: value})
        until = await states.silence(rule, key, seconds, by, reason)
        click.echo(f"silenced {rule}{' ' + key if key else ''} until {when(until)}")

    run(body)


@alerts.command("test-fire")
@click.argument("rule")
@click.option("--target", "targets", multiple=True,
              help="Target name from the rules file (repeatable); default: the rule's targets.")
@click.option("--via", type=click.Choice(["direct", "outbox"]), default="direct",
              show_default=True,
              help="direct: send from here now and print the answer. outbox: queue it in "
                   "Redis for the workers to deliver (tests the whole path).")
def test_fire(rule: str, targets: tuple[str, ...], via: str) -> None:
    """Send a test notification for RULE to its targets, to check the webhook, the channel
    and the message layout. It is marked as a test and changes no alert state."""

    async def body(states: StateStore, ruleset: RuleSet, settings):
        from alerts.notifiers import send_direct
        from alerts.outbox import Outbox, outbox_prefix

        try:
            found = ruleset.rule(rule)
        except KeyError:
            sys.exit(f"no rule {rule!r}; rules: {', '.join(r.name for r in ruleset.rules)}")
        chosen = list(targets) or list(found.targets)
        unknown = [t for t in chosen if t not in ruleset.targets]
        if unknown:
            sys.exit(f"unknown target(s) {', '.join(unknown)}; targets: "
                     f"{', '.join(ruleset.targets)}")
        at = now_ms()
        notification = Notification(
            id=f"test|{rule}|{at}:test:0", incident_id=f"test|{rule}|{at}", kind="test",
            rule=rule, severity=found.severity, kpi=found.kpi, dimension=dict(found.where),
            value=None, benchmark=getattr(found.benchmark, "value", None),
            condition=found.condition, week_ago=None, window_size=found.window,
            window_start=iso(at), window_end=iso(at),
            summary=f"Test of rule {rule} ({found.description or found.kpi}): no action needed",
            runbook_url=found.runbook_url,
            dashboard_url=f"{settings.grafana_url.rstrip('/')}/d/{found.dashboard}",
            created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        if via == "outbox":
            await Outbox(states.client, outbox_prefix(settings.app_id)).put(notification, chosen)
            click.echo(f"queued {notification.id} for {', '.join(chosen)}")
            return
        results = await send_direct(notification, chosen, ruleset)
        failed = False
        for name, attempt in results.items():
            failed |= attempt.outcome != "delivered"
            detail = f" ({attempt.status} {attempt.error})".rstrip() if attempt.status or \
                attempt.error else ""
            click.echo(f"{name}: {attempt.outcome}{detail}")
        if failed:
            sys.exit(1)

    run(body)


def without_password(url: str) -> str:
    """A Redis URL fit for a message: its password (a secret) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
