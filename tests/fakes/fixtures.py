"""Factory fixtures for the fakes. Registered for every test in tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.fakes.slack_server import FakeSlack


@pytest.fixture
def slack_factory():
    """Start fake Slack workspaces: ``slack = slack_factory()``, ``slack.url()`` is a webhook.

    ``slack_factory(min_interval=0)`` turns the rate limit off; all are stopped after the test.
    """
    servers: list[FakeSlack] = []

    def start(**options) -> FakeSlack:
        server = FakeSlack(**options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
