"""The real local stack, started once per test session.

If a service cannot start the session fails: these tests are never skipped (CI relies on it).
"""

from __future__ import annotations

import os

import pytest

from devstack import DevStack
from devstack.process import ServiceError
from devstack.prometheus import prometheus_url, write_scrape_targets
from tests.integration.services import (
    TEST_STACK_ENV,
    Worker,
    stack_settings_for_tests,
    unique_names,
)


@pytest.fixture(scope="session")
def stack_settings():
    return stack_settings_for_tests()


@pytest.fixture(scope="session")
def local_stack(stack_settings):
    stack = DevStack(stack_settings)
    try:
        times = stack.up()
    except ServiceError as error:
        stack.down()
        pytest.fail(f"the local stack did not start: {error}", pytrace=False)
    print(f"\nlocal stack healthy after {max(times.values()):.1f} s: {times}")
    yield stack
    if not os.environ.get("KPIWATCH_KEEP_STACK"):  # set it to look into a failed run
        stack.down()


@pytest.fixture(scope="session")
def prometheus(local_stack, stack_settings):
    return prometheus_url(stack_settings)


@pytest.fixture
def worker_factory(local_stack, stack_settings, tmp_path):
    """Start real workers sharing one app id and topics (one per test); all stopped after."""
    names = unique_names()
    workers: list[Worker] = []

    def start(**extra_env: str) -> Worker:
        env = {**TEST_STACK_ENV, **names, **extra_env}
        worker = Worker(env=env, log_path=tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        worker.start()
        write_scrape_targets(stack_settings, [f"127.0.0.1:{w.port}" for w in workers])
        return worker

    start.names = names
    yield start
    for worker in workers:
        worker.stop()
