"""A factory for realistic notifications (what the evaluator hands to the outbox)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from alerts.notification import Contributor, Notification

_numbers = itertools.count(1)


def make_notification(**overrides) -> Notification:
    """A firing conversion drop on paid search; every field can be overridden."""
    number = next(_numbers)
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    incident = f"channel_conversion_rate_drop|channel=paid_search|{int(start.timestamp() * 1000)}"
    fields = dict(
        id=f"{incident}:firing:{number}",
        incident_id=incident,
        kind="firing",
        rule="channel_conversion_rate_drop",
        severity="warning",
        kpi="conversion_rate",
        dimension={"channel": "paid_search"},
        value=0.0114,
        benchmark=0.021,
        condition="below",
        week_ago=0.03,
        window_size="15m",
        window_start=start.isoformat(),
        window_end=(start + timedelta(minutes=15)).isoformat(),
        summary="Conversion on paid_search is 1.14%, 62% below the same window last week.",
        contributors=[Contributor("paid_search", -0.62, 0.0114)],
        runbook_url="https://github.com/kpiwatch/kpiwatch/blob/main/docs/runbooks.md#channel-conversion-drop",
        dashboard_url="http://127.0.0.1:3000/d/kpiwatch-channels?from=1795600800000&to=1795604400000",
        created_at=datetime.now(UTC).isoformat(),
    )
    fields.update(overrides)
    return Notification(**fields)


def numbered(count: int, prefix: str = "n") -> list[Notification]:
    """``count`` distinct notifications, ids ``<prefix>-000`` ... in order (summary = id)."""
    return [make_notification(id=f"{prefix}-{i:03d}", summary=f"{prefix}-{i:03d}")
            for i in range(count)]
