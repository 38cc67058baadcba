"""The exact versions kpiwatch is tested with of the packages whose internals it relies on, and
the startup check that refuses any other.

kpiwatch replaces methods of faust-streaming, mode-streaming and aiokafka classes and reads and
writes their private state (streams/), sets pydantic's instance internals by hand and relies on
msgspec decoding exactly as pydantic validates (models/fast_lane.py). A release that changes
those internals need not fail loudly: the KPIs can come out silently wrong. So every ``kpiwatch``
command that loads the Faust app (``kpiwatch worker`` among them) stops at startup when one of
these packages is at another version than :data:`EXACT_PINS`, and says how to install the tested
ones. The check reads only the installed packages' metadata: it runs before Faust is imported.

``KPIWATCH_ALLOW_UNTESTED_DEPENDENCIES=1`` lets kpiwatch start anyway, with a warning. It is for
those who know what they do: e.g. trying a new Faust release against the oracle tests before
moving the pins. Never set it in production.

Moving a pin: ``scripts/lock --upgrade-package NAME``, then the same version here and in
pyproject.toml (tests/unit/test_dependencies.py checks that the three agree), then
``scripts/install-python`` and the whole test suite.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from importlib import metadata

# Distribution name -> the one version kpiwatch runs on (also pinned in pyproject.toml and
# requirements.lock).
EXACT_PINS: dict[str, str] = {
    "faust-streaming": "0.15.3",
    "mode-streaming": "0.7.1",
    "aiokafka": "0.14.0",
    "pydantic": "2.14.4",
    "pydantic-core": "2.50.5",
    "msgspec": "0.23.0",
}

ALLOW_UNTESTED_VARIABLE = "KPIWATCH_ALLOW_UNTESTED_DEPENDENCIES"
_TRUE = {"1", "true", "yes"}


class UntestedDependencyWarning(UserWarning):
    """kpiwatch runs on versions it is not tested with, because the override is set."""


def mismatches() -> list[str]:
    """One line per pinned package that is missing or at another version (none: all good)."""
    lines = []
    for name, needed in EXACT_PINS.items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            lines.append(f"{name} is not installed; kpiwatch needs {name}=={needed}")
            continue
        if found != needed:
            lines.append(f"{name} {found} is installed; kpiwatch needs {name}=={needed}")
    return lines


def check_dependencies(environ: Mapping[str, str] = os.environ) -> None:
    """Stops the process (SystemExit with the message) unless every package of
    :data:`EXACT_PINS` is at its version, or the override variable is set (then it warns)."""
    problems = mismatches()
    if not problems:
        return
    found = "\n".join(f"  {line}" for line in problems)
    if environ.get(ALLOW_UNTESTED_VARIABLE, "").strip().lower() in _TRUE:
        warnings.warn(
            f"{ALLOW_UNTESTED_VARIABLE} is set: kpiwatch starts on versions it is not tested with,"
            f" and its patches of their internals may compute wrong KPIs:\n{found}",
            UntestedDependencyWarning,
            stacklevel=2,
        )
        return
    raise SystemExit(
        "kpiwatch will not start: it patches and reads internals of these packages, and is tested"
        f" with exact versions only:\n{found}\n"
        "Install the tested versions: scripts/install-python (in a checkout), or\n"
        "  pip install --require-hashes -r requirements.lock && pip install --no-deps .\n"
        f"To start anyway on untested versions (for those who know what they do): "
        f"{ALLOW_UNTESTED_VARIABLE}=1"
    )
