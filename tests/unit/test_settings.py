"""Configuration: working defaults, and a wrong value stops startup naming field and fix."""

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from kpiwatch.settings import (
    DEFAULT_PAYMENT_METHOD_ALIASES,
    DURATION_FORMS,
    ConfigError,
    Settings,
    load_settings,
    render_default,
    settings_table_markdown,
)


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("KPIWATCH_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_work_for_the_local_stack(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("KPIWATCH_"):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.allowed_lateness == timedelta(minutes=5)
    assert settings.faust_broker == "kpiwatch://127.0.0.1:9092"


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
        ("KPIWATCH_ACTIVATION_WINDOW", "90d", "at most 60 days"),
        ("KPIWATCH_ACTIVATION_EVENT", "signup", "cannot activate a user: use one of"),
        ("KPIWATCH_SURVEYS", '["other"]', "not a usable label"),
        ("KPIWATCH_FEATURES", '["wish list!"]', "feature 'wish list!' is not a usable label"),
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


DURATION_FIELDS = [
    name for name, info in Settings.model_fields.items() if info.annotation is timedelta
]


def test_every_duration_field_is_found():
    assert len(DURATION_FIELDS) >= 9  # a new timedelta field is tested below by itself
    assert {"allowed_lateness", "replay_horizon", "checkpoint_interval"} <= set(DURATION_FIELDS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("300", timedelta(seconds=300)),
        ("2.5", timedelta(seconds=2.5)),
        ("300s", timedelta(seconds=300)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("500ms", timedelta(milliseconds=500)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        (" 5M ", timedelta(minutes=5)),
        ("PT5M", timedelta(minutes=5)),
        ("P7D", timedelta(days=7)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
    ],
)
@pytest.mark.parametrize("field", DURATION_FIELDS)
def test_every_duration_accepts_seconds_units_and_iso_8601(clean_env, field, value, expected):
    clean_env.setenv(f"KPIWATCH_{field.upper()}", value)
    assert getattr(load_settings(), field) == expected


@pytest.mark.parametrize("value", ["5 minutes", "5x", "", "m", "-5", "-PT5M", "99999999999d"])
def test_a_wrong_duration_says_the_accepted_forms(clean_env, value):
    clean_env.setenv("KPIWATCH_ALLOWED_LATENESS", value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert f"KPIWATCH_ALLOWED_LATENESS={value!r}: " in message
    assert DURATION_FORMS in message
    assert "expected seconds (300), a duration such as 300s, 5m, 2h, 1d" in message
    assert "fix: set KPIWATCH_ALLOWED_LATENESS to '5m'" in message
    assert len(message.splitlines()) == 3  # one error only: nothing else is blamed


def test_a_duration_bound_still_applies(clean_env):
    clean_env.setenv("KPIWATCH_ALERT_EVALUATION_INTERVAL", "0s")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "KPIWATCH_ALERT_EVALUATION_INTERVAL='0 s': Input should be greater than 0" in str(
        raised.value
    )


def test_base_currency_defaults_to_usd_as_segment_and_ga4_do(clean_env):
    assert load_settings().base_currency == "USD"
    assert Settings.model_fields["base_currency"].examples[0] == "USD"


def test_base_currency_is_read_like_event_currencies(clean_env):
    clean_env.setenv("KPIWATCH_BASE_CURRENCY", " eur ")
    assert load_settings().base_currency == "EUR"


@pytest.mark.parametrize("value", ["EURO", "XXX", "HRK", "US"])
def test_base_currency_must_be_an_active_iso_4217_code(clean_env, value):
    clean_env.setenv("KPIWATCH_BASE_CURRENCY", value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert f"{value!r} is not an active ISO 4217 currency code" in message
    assert "fix: set KPIWATCH_BASE_CURRENCY to 'USD'" in message


def test_max_event_bytes_admits_a_full_ga4_measurement_protocol_request(clean_env):
    assert load_settings().max_event_bytes == 130 * 1024 >= 130_000


def test_default_aliases_name_configured_methods(clean_env):
    settings = load_settings()
    assert settings.payment_method_aliases == DEFAULT_PAYMENT_METHOD_ALIASES
    assert set(settings.payment_method_aliases.values()) <= set(settings.payment_methods)
    for raw, method in [("visa", "card"), ("credit_card", "card"), ("pay_pal", "paypal"),
                        ("gpay", "google_pay"), ("sofort", "klarna"), ("ideal", "bank_transfer")]:
        assert settings.payment_method_aliases[raw] == method


def test_narrowing_payment_methods_drops_the_default_aliases_of_the_others(clean_env):
    clean_env.setenv("KPIWATCH_PAYMENT_METHODS", '["card", "paypal"]')
    aliases = load_settings().payment_method_aliases
    assert set(aliases.values()) == {"card", "paypal"}
    assert aliases["visa"] == "card"
    assert "gpay" not in aliases


def test_aliases_are_kept_in_matched_form(clean_env):
    clean_env.setenv(
        "KPIWATCH_PAYMENT_METHOD_ALIASES",
        '{" Credit Card ": "card", "credit-card": "card", "Pay-Pal": "paypal"}',
    )
    assert load_settings().payment_method_aliases == {"credit_card": "card", "pay_pal": "paypal"}


def test_an_alias_must_name_a_configured_method(clean_env):
    clean_env.setenv("KPIWATCH_PAYMENT_METHOD_ALIASES", '{"visa": "cards"}')
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "alias 'visa' names 'cards', which is not in KPIWATCH_PAYMENT_METHODS" in message
    assert "add 'cards' there or map 'visa' to one of those" in message
    assert "fix: set KPIWATCH_PAYMENT_METHOD_ALIASES to" in message


def test_an_alias_may_name_a_method_only_configured_in_the_same_environment(clean_env):
    clean_env.setenv("KPIWATCH_PAYMENT_METHODS", '["card", "twint"]')
    clean_env.setenv("KPIWATCH_PAYMENT_METHOD_ALIASES", '{"TWINT Pay": "twint"}')
    assert load_settings().payment_method_aliases == {"twint_pay": "twint"}


def test_aliases_that_match_alike_must_agree(clean_env):
    clean_env.setenv("KPIWATCH_PAYMENT_METHOD_ALIASES", '{"Credit Card": "card", "credit-card": "paypal"}')
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "'Credit Card' and 'credit-card' are both matched as 'credit_card'" in str(raised.value)


def test_json_that_does_not_decode_names_the_variable(clean_env):
    clean_env.setenv("KPIWATCH_PAYMENT_METHOD_ALIASES", "visa=card")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "KPIWATCH_PAYMENT_METHOD_ALIASES: not valid JSON" in message
    assert "fix: set KPIWATCH_PAYMENT_METHOD_ALIASES to" in message


def _table_defaults() -> dict[str, str]:
    cells = {}
    for row in settings_table_markdown().splitlines()[2:]:
        variable, default, _ = row.removeprefix("| ").split(" | ", 2)
        cells[variable.strip("`")] = default.removeprefix("`").removesuffix("`")
    return cells


def test_the_table_shows_every_fields_actual_default(clean_env):
    settings = load_settings()
    cells = _table_defaults()
    assert list(cells) == [f"KPIWATCH_{name.upper()}" for name in Settings.model_fields]
    for name in Settings.model_fields:
        assert cells[f"KPIWATCH_{name.upper()}"] == render_default(getattr(settings, name)), name
    assert "PydanticUndefined" not in settings_table_markdown()
    assert cells["KPIWATCH_CURRENCY_RATES"] == "{}"
    assert cells["KPIWATCH_ALLOWED_LATENESS"] == "300 s"
    assert cells["KPIWATCH_PAYMENT_METHODS"].startswith('["card","paypal",')
    assert cells["KPIWATCH_PAYMENT_METHOD_ALIASES"].startswith('{"credit_card":"card",')


def test_render_default():
    assert render_default(timedelta(milliseconds=500)) == "0.5 s"
    assert render_default({"EUR": __import__("decimal").Decimal("1.08")}) == '{"EUR":"1.08"}'
    assert render_default(None) == "None"
