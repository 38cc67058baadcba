"""The ``kpiwatch`` command: Faust's CLI bound to kpiwatch's app, plus kpiwatch's own commands.

``kpiwatch worker`` runs a worker; ``kpiwatch --help`` lists everything.
"""

from __future__ import annotations

import gc
import sys

# The garbage collector, tuned for a worker: its heap is mostly the KPI table's state, plain
# dicts without reference cycles that Python's defaults (a collection every 700 allocations,
# a full one every 100 of those) traverse again and again, and whose full collections hold
# the event loop. Rarer collections cost a little memory and save most of that CPU
# (docs/benchmarks.md, "Behind the design").
GC_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collector() -> None:
    """Objects from start-up (modules, classes, the app) are never garbage: moved out of the
    collector's sight (``gc.freeze``), and collections are made less frequent."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


ON_CALL = (["alerts"], ["status"], ["state"], ["import-spend"], ["kpis"], ["goals"])


def plain_commands() -> dict:
    from kpiwatch.alerts_cli import alerts
    from kpiwatch.goals_cli import goals
    from kpiwatch.history_cli import kpis
    from kpiwatch.import_spend import import_spend
    from kpiwatch.state_cli import state
    from kpiwatch.status import status_command

    return {"alerts": alerts, "status": status_command, "state": state,
            "import-spend": import_spend, "kpis": kpis, "goals": goals}


def main() -> None:
    if sys.argv[1:2] not in ON_CALL:
        # Every other command loads the Faust app, which patches Faust and aiokafka internals:
        # refuse untested versions of them before anything imports them (pydantic included).
        from kpiwatch.dependencies import check_dependencies

        check_dependencies()

    from kpiwatch.settings import ConfigError

    if sys.argv[1:2] in ON_CALL:
        # These commands need only Redis and HTTP (``state``, ``import-spend``: Kafka): skip
        # loading Faust and the agents (seconds), and run outside Faust's event loop.
        command = plain_commands()[sys.argv[1]]
        try:
            command.main(sys.argv[2:], prog_name=f"kpiwatch {sys.argv[1]}")
        except ConfigError as error:
            sys.exit(str(error))
    try:
        from streams.agents import app
    except ConfigError as error:
        sys.exit(str(error))
    if sys.argv[1:2] == ["worker"] and not {"-h", "--help"} & set(sys.argv[2:]):
        # Before the worker joins its group (and after the configuration and rules are
        # checked): refuse state of another format, naming the command that migrates or
        # resets it, rather than read it wrongly.
        from streams.app import settings
        from streams.state_format import check_state_format

        check_state_format(settings)
    from faust.cli.base import cli

    tune_garbage_collector()

    for command in plain_commands().values():  # plain click commands, in `kpiwatch --help`
        cli.add_command(command)
    app.main()
