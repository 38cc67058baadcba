"""Configuration: working defaults, and a wrong value stops startup naming field and fix."""

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from kpiwatch.settings import ConfigError, Settings, load_settings, settings_table_markdown


def test_defaults_work_for_the_local_stack(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("KPIWATCH_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.allowed_lateness == timedelta(minutes=5)
    assert settings.faust_broker == "kafka://127.0.0.1:9092"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("KPIWATCH_ALLOWED_LATENESS", "PT2M")
    monkeypatch.setenv("KPIWATCH_BUSINESS_TIMEZONE", "Europe/Berlin")
    settings = load_settings()
    assert settings.allowed_lateness == timedelta(minutes=2)
    assert settings.timezone.key == "Europe/Berlin"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("KPIWATCH_WEB_PORT", "http", "KPIWATCH_WEB_PORT='http'"),
        ("KPIWATCH_WEB_PORT", "70000", "less than or equal to 65535"),
        ("KPIWATCH_BUSINESS_TIMEZONE", "Mars/Olympus", "unknown IANA time zone"),
        ("KPIWATCH_KAFKA_BOOTSTRAP_SERVERS", "localhost", "is not host:port"),
        ("KPIWATCH_REDIS_URL", "localhost:6379", "KPIWATCH_REDIS_URL"),
        ("KPIWATCH_LOG_LEVEL", "loud", "'debug', 'info', 'warning' or 'error'"),
    ],
)
def test_a_wrong_value_names_the_variable_and_the_fix(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    assert f"fix: set {variable} to" in message


def test_worker_refuses_to_start_with_bad_config():
    result = subprocess.run(
        [sys.executable, "-m", "kpiwatch", "worker"],
        env={"KPIWATCH_BUSINESS_TIMEZONE": "Nowhere/Land", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "KPIWATCH_BUSINESS_TIMEZONE='Nowhere/Land'" in result.stderr
    assert "fix: set KPIWATCH_BUSINESS_TIMEZONE to 'Europe/Berlin'" in result.stderr


def test_readme_configuration_table_is_generated_from_the_model():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings_table_markdown() in readme, "run scripts/update-readme-config"


def test_settings_are_frozen():
    with pytest.raises(ValidationError):
        Settings().web_port = 1  # type: ignore[misc]
