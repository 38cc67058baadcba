"""The launcher itself: idempotent start, time to healthy, nothing left behind on stop."""

import os

from devstack import DevStack
from tests.integration.services import stack_settings_for_tests


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"


def test_second_stack_starts_within_60s_is_idempotent_and_stops_clean(tmp_path):
    # Ports and run dir of its own so the session's stack keeps running meanwhile.
    settings = stack_settings_for_tests().model_copy(update={
        "run_dir": tmp_path / "run",
        "kafka_port": 39092,
        "kafka_controller_port": 39093,
        "kafka_bootstrap_servers": "127.0.0.1:39092",
        "redis_port": 36379,
        "prometheus_port": 39090,
    })
    stack = DevStack(settings)
    try:
        healthy_after = stack.up()
        assert max(healthy_after.values()) < 60
        pids = stack.status()
        assert all(pids.values()), pids

        stack.up()
        assert stack.status() == pids, "a second up must reuse the running processes"
    finally:
        stopped = stack.down()
    assert sorted(stopped) == ["kafka", "prometheus", "redis"]
    assert not any(_alive(pid) for pid in pids.values())
    assert stack.status() == {"kafka": None, "redis": None, "prometheus": None}
