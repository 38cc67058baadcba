"""The ``kpiwatch`` command: Faust's CLI bound to kpiwatch's app, plus kpiwatch's own commands.

``kpiwatch worker`` runs a worker; ``kpiwatch --help`` lists everything.
"""

from __future__ import annotations

import sys


def main() -> None:
    from kpiwatch.settings import ConfigError

    if sys.argv[1:2] == ["alerts"]:
        # The on-call commands need only Redis: skip loading Faust and the agents (seconds).
        from kpiwatch.alerts_cli import alerts

        try:
            alerts.main(sys.argv[2:], prog_name="kpiwatch alerts")
        except ConfigError as error:
            sys.exit(str(error))
    try:
        from streams.agents import app
    except ConfigError as error:
        sys.exit(str(error))
    from faust.cli.base import cli

    from kpiwatch.alerts_cli import alerts

    cli.add_command(alerts)  # a plain click group: `kpiwatch alerts --help`
    app.main()
