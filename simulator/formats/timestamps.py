"""Timestamps as the source formats write them."""

from datetime import UTC, datetime


def iso_millis(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as analytics.js writes it."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, GA4's timestamp_micros."""
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
