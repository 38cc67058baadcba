"""The exact pins of the packages kpiwatch patches: one list (kpiwatch/dependencies.py) that
pyproject.toml and requirements.lock agree with, and the startup check that enforces it."""

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from kpiwatch import cli
from kpiwatch.dependencies import (
    ALLOW_UNTESTED_VARIABLE,
    EXACT_PINS,
    UntestedDependencyWarning,
    check_dependencies,
)

REPO = Path(__file__).resolve().parents[2]
_LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.M)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    text = (REPO / "requirements.lock").read_text()
    return {_normalized(name): version for name, version in _LOCKED.findall(text)}


def _pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"] + project["optional-dependencies"]["test"]]


def _faked_version(monkeypatch, name: str, fake: str) -> None:
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda dist: fake if dist == name else real(dist))


def test_the_pins_are_those_of_the_lock_and_pyproject():
    lock = _lock()
    assert {name: lock.get(name) for name in EXACT_PINS} == EXACT_PINS
    exact = {_normalized(req.name): str(req.specifier)[2:] for req in _pyproject_requirements()
             if str(req.specifier).startswith("==")}
    assert exact == EXACT_PINS


def test_the_lock_satisfies_every_range_of_pyproject():
    lock = _lock()
    for requirement in _pyproject_requirements():
        locked = lock.get(_normalized(requirement.name))
        assert locked is not None, f"{requirement.name} is not in requirements.lock: run scripts/lock"
        assert requirement.specifier.contains(locked), f"{requirement} excludes the locked {locked}"


def test_the_installed_versions_pass(recwarn):
    check_dependencies(environ={})
    assert not [w for w in recwarn if issubclass(w.category, UntestedDependencyWarning)]


def test_another_version_stops_with_the_package_the_versions_and_the_fix(monkeypatch):
    _faked_version(monkeypatch, "faust-streaming", "0.16.0")
    with pytest.raises(SystemExit) as stopped:
        check_dependencies(environ={})
    message = str(stopped.value.code)
    assert "faust-streaming 0.16.0 is installed; kpiwatch needs faust-streaming==0.15.3" in message
    assert "scripts/install-python" in message
    assert f"{ALLOW_UNTESTED_VARIABLE}=1" in message
    assert "aiokafka" not in message  # only what differs


def test_a_missing_package_is_named(monkeypatch):
    real = metadata.version

    def version(dist):
        if dist == "aiokafka":
            raise metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(metadata, "version", version)
    with pytest.raises(SystemExit, match="aiokafka is not installed; kpiwatch needs aiokafka==0.14.0"):
        check_dependencies(environ={})


@pytest.mark.parametrize("value", ["", "0", "no"])
def test_only_a_true_override_lets_it_pass(monkeypatch, value):
    _faked_version(monkeypatch, "aiokafka", "0.15.0")
    with pytest.raises(SystemExit):
        check_dependencies(environ={ALLOW_UNTESTED_VARIABLE: value})


def test_the_override_lets_it_start_with_a_warning(monkeypatch):
    _faked_version(monkeypatch, "pydantic", "2.15.0")
    with pytest.warns(UntestedDependencyWarning, match="pydantic 2.15.0 is installed"):
        check_dependencies(environ={ALLOW_UNTESTED_VARIABLE: "1"})


def test_kpiwatch_worker_stops_before_faust_is_imported(monkeypatch):
    _faked_version(monkeypatch, "mode-streaming", "0.8.0")
    monkeypatch.delenv(ALLOW_UNTESTED_VARIABLE, raising=False)
    monkeypatch.setattr(sys, "argv", ["kpiwatch", "worker", "--loglevel", "info"])
    # An import of the app after the check would fail here with an ImportError instead.
    monkeypatch.setitem(sys.modules, "streams.agents", None)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    message = str(stopped.value.code)
    assert "mode-streaming 0.8.0 is installed; kpiwatch needs mode-streaming==0.7.1" in message


def test_the_kpiwatch_command_exits_non_zero_with_the_message():
    # A real process: the version is faked in it before the CLI runs (no test hook in kpiwatch).
    script = textwrap.dedent("""
        import sys
        from importlib import metadata
        real = metadata.version
        metadata.version = lambda dist: "0.16.0" if dist == "faust-streaming" else real(dist)
        sys.argv = ["kpiwatch", "worker"]
        from kpiwatch.cli import main
        main()
        """)
    env = {key: value for key, value in os.environ.items() if key != ALLOW_UNTESTED_VARIABLE}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "faust-streaming 0.16.0 is installed; kpiwatch needs faust-streaming==0.15.3" in result.stderr
    assert "Traceback" not in result.stderr
