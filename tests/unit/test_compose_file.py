"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked instead."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from devstack.kafka import kafka_version
from devstack.prometheus import prometheus_config
from tests.integration.services import stack_settings_for_tests

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


# One-shot jobs: others wait for them to complete, not to be healthy.
ONE_SHOT = {"kafka-init"}
LONG_RUNNING = sorted(set(SERVICES) - ONE_SHOT)


def test_the_production_services_are_all_there():
    assert {"kafka", "kafka-init", "redis", "worker", "simulator", "prometheus", "alertmanager",
            "grafana"} == set(SERVICES)


def test_optional_services_are_behind_profiles():
    profiles = {name: s.get("profiles", []) for name, s in SERVICES.items()}
    assert profiles["simulator"] == ["demo"]
    assert profiles["alertmanager"] == ["alerting"]
    assert all(not p for name, p in profiles.items() if name not in ("simulator", "alertmanager"))


def test_topics_are_created_before_anything_writes_to_them():
    script = SERVICES["kafka-init"]["command"][0]
    for topic in ("clickstream", "cart", "purchase", "kpiwatch-events", "kpiwatch-dead-letter"):
        assert topic in script
    assert "--if-not-exists" in script
    for name in ("worker", "simulator"):
        assert SERVICES[name]["depends_on"]["kafka-init"] == {
            "condition": "service_completed_successfully"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned(name):
    image = SERVICES[name]["image"]
    assert ":" in image and not image.endswith(":latest"), image
    assert re.search(r":v?\d+\.\d+\.\d+", image), f"{name}: pin a full version, not {image}"


def test_kafka_image_matches_the_local_stack_version():
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_service_has_a_healthcheck(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"] and check["interval"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_wait_for_health(name):
    for dependency, condition in SERVICES[name].get("depends_on", {}).items():
        assert dependency in SERVICES
        expected = ("service_completed_successfully" if dependency in ONE_SHOT
                    else "service_healthy")
        assert condition == {"condition": expected}, f"{name} -> {dependency}"


def test_worker_waits_for_kafka_and_redis_and_runs_two_replicas():
    worker = SERVICES["worker"]
    assert set(worker["depends_on"]) == {"kafka", "kafka-init", "redis"}
    assert worker["deploy"]["replicas"] == 2


def test_published_ports_bind_loopback_only():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_named_volumes_hold_the_state():
    declared = set(COMPOSE["volumes"])
    used = {
        volume.split(":")[0]
        for service in SERVICES.values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used == declared == {"kafka-data", "redis-data", "prometheus-data",
                                "alertmanager-data", "grafana-data"}


def test_mounted_files_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            if volume.startswith("."):
                source = REPO / volume.split(":")[0]
                assert source.exists(), f"{name} mounts {source}, which does not exist"


def test_grafana_gets_the_generated_dashboards_and_the_provisioning():
    mounts = dict(v.split(":")[:2] for v in SERVICES["grafana"]["volumes"] if v.startswith("."))
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/kpiwatch.yml")
                              .read_text())["providers"][0]
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (REPO / "grafana/dashboards" / Path(home).name).exists()
    datasource = yaml.safe_load((REPO / "grafana/provisioning/datasources/prometheus.yml")
                                .read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"


def test_prometheus_loads_the_generated_rules():
    mounts = dict(v.split(":")[:2] for v in SERVICES["prometheus"]["volumes"]
                  if v.startswith("."))
    config = yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == [mounts["./prometheus/rules"] + "/*.yml"]
    assert {"alerts.yml", "recording.yml"} <= {p.name for p in (REPO / "prometheus/rules")
                                               .glob("*.yml")}
    job = config["scrape_configs"][0]
    assert job["dns_sd_configs"][0]["names"] == ["worker"]  # every replica
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]


def test_alertmanager_routes_to_a_defined_receiver_with_the_webhook_from_a_secret():
    config = yaml.safe_load((REPO / "prometheus/alertmanager.yml").read_text())
    receivers = {r["name"] for r in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    assert all(route["receiver"] in receivers for route in routes)
    intervals = {t["name"] for t in config.get("time_intervals", [])}
    assert all(set(route.get("mute_time_intervals", [])) <= intervals for route in routes)
    assert config["global"]["slack_api_url_file"] == "/run/secrets/slack_webhook_url"
    assert "slack_api_url" not in config["global"]
    assert COMPOSE["secrets"]["slack_webhook_url"] == {"environment": "SLACK_WEBHOOK_URL"}


def test_no_default_secrets():
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"PASSWORD|SECRET|TOKEN|WEBHOOK", line, re.IGNORECASE) and ":" in line:
            assert not re.search(r":-[^}]", line), f"a secret with a default: {line.strip()}"
    password = SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?"), "must be required, not defaulted"
    example = (REPO / ".env.example").read_text()
    for variable in ("GRAFANA_ADMIN_PASSWORD", "KPIWATCH_SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL"):
        assert f"\n{variable}=\n" in example, f"{variable} must be empty in .env.example"


def test_prometheus_configs_pass_promtool(tmp_path):
    local = tmp_path / "local.yml"
    local.write_text(yaml.safe_dump(prometheus_config(stack_settings_for_tests())))
    for config in (REPO / "prometheus" / "prometheus.yml", local):
        result = subprocess.run(["promtool", "check", "config", str(config)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_holds_every_package_it_installs():
    import tomllib

    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY (\w+) ", (REPO / "Dockerfile").read_text(), re.MULTILINE))
    assert {p.rstrip("*") for p in packages} <= copied
