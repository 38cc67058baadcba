"""Test tiers: tests/unit (pure), tests/contract (what kpiwatch relies on in its pinned
dependencies), tests/agent (Faust test_context), tests/integration (real
Kafka, Redis and Prometheus, started once per session by the same launcher the demo uses)."""

import pytest

# Factory fixtures of the fakes (a Slack incoming webhook, ...), for every tier.
pytest_plugins = ("tests.fakes.fixtures",)


def pytest_collection_modifyitems(items):
    # The tier is the folder: a test cannot end up in the wrong tier by a forgotten marker.
    for item in items:
        for tier in ("unit", "contract", "agent", "integration"):
            if f"/tests/{tier}/" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, tier))
