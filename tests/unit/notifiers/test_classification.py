"""Which answers are retried: the contract between the notifiers and the outbox."""

from __future__ import annotations

import pytest

from alerts.notifiers.base import classify, parse_retry_after
from alerts.outbox import backoff


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (204, "delivered"),
    (429, "retry"), (408, "retry"), (500, "retry"), (502, "retry"), (503, "retry"),
    (400, "rejected"), (403, "rejected"), (404, "rejected"), (410, "rejected"), (413, "rejected"),
])
def test_status_classes(status, outcome):
    assert classify(status, "err").outcome == outcome


def test_rejection_keeps_slacks_error_string():
    attempt = classify(400, "invalid_blocks\n")
    assert (attempt.outcome, attempt.status, attempt.error) == ("rejected", 400, "invalid_blocks")


def test_429_carries_retry_after():
    assert classify(429, "rate_limited", "2").retry_after == 2.0
    assert classify(429, "", None).retry_after is None


def test_retry_after_as_seconds_or_http_date():
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT",
                             now=1445412480.0) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None


def test_backoff_doubles_up_to_the_cap_with_jitter():
    for failures, full in [(1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (20, 30)]:
        delays = [backoff(failures, 1.0, 30.0) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > 0  # jittered
