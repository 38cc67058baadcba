"""The ``kpiwatch`` command: Faust's CLI bound to kpiwatch's app, plus kpiwatch's own commands.

``kpiwatch worker`` runs a worker; ``kpiwatch --help`` lists everything.
"""

from __future__ import annotations

import sys


def main() -> None:
    from kpiwatch.settings import ConfigError

    if sys.argv[1:2] in (["alerts"], ["status"]):
        # The on-call commands need only Redis and HTTP: skip loading Faust and the agents
        # (seconds), and run outside Faust's event loop.
        from kpiwatch.alerts_cli import alerts
        from kpiwatch.status import status_command

        command = alerts if sys.argv[1] == "alerts" else status_command
        try:
            command.main(sys.argv[2:], prog_name=f"kpiwatch {sys.argv[1]}")
        except ConfigError as error:
            sys.exit(str(error))
    try:
        from streams.agents import app
    except ConfigError as error:
        sys.exit(str(error))
    from faust.cli.base import cli

    from kpiwatch.alerts_cli import alerts
    from kpiwatch.status import status_command

    cli.add_command(alerts)  # plain click commands, listed in `kpiwatch --help`
    cli.add_command(status_command)
    app.main()
