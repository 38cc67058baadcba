"""docker-compose.yml cannot run here (no Docker engine), so its structure is checked instead."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from localstack.kafka import kafka_version
from localstack.prometheus import prometheus_config
from tests.integration.services import stack_settings_for_tests

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_production_services_are_all_there():
    assert {"kafka", "redis", "worker", "prometheus", "grafana"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned(name):
    image = SERVICES[name]["image"]
    assert ":" in image and not image.endswith(":latest"), image
    assert re.search(r":v?\d+\.\d+\.\d+", image), f"{name}: pin a full version, not {image}"


def test_kafka_image_matches_the_local_stack_version():
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{kafka_version()}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"] and check["interval"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_wait_for_health(name):
    for dependency, condition in SERVICES[name].get("depends_on", {}).items():
        assert dependency in SERVICES
        assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"


def test_worker_waits_for_kafka_and_redis_and_runs_two_replicas():
    worker = SERVICES["worker"]
    assert set(worker["depends_on"]) == {"kafka", "redis"}
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
    assert used == declared == {"kafka-data", "redis-data", "prometheus-data", "grafana-data"}


def test_no_default_secrets():
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"PASSWORD|SECRET|TOKEN|WEBHOOK", line, re.IGNORECASE) and ":" in line:
            assert ":-" not in line, f"a secret with a default value: {line.strip()}"
    password = SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?"), "must be required, not defaulted"
    assert "GRAFANA_ADMIN_PASSWORD=\n" in (REPO / ".env.example").read_text()


def test_prometheus_configs_pass_promtool(tmp_path):
    local = tmp_path / "local.yml"
    local.write_text(yaml.safe_dump(prometheus_config(stack_settings_for_tests())))
    for config in (REPO / "prometheus" / "prometheus.yml", local):
        result = subprocess.run(["promtool", "check", "config", str(config)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
