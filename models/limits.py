"""The bounds past which an event is bad input rather than business."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Limits `parse_message` enforces. The defaults are meant for production."""

    max_event_bytes: int = 130 * 1024
    """Largest message read: a GA4 Measurement Protocol request, the largest message a
    source sends, may hold up to 25 events in a body "smaller than 130kB"
    (https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events,
    Limitations), so the cap admits any request GA4 itself would accept. Single events are
    under 4 KiB; anything bigger is a bug or an attack, and refusing it before JSON
    decoding keeps one message from stalling a worker."""

    future_skew: timedelta = timedelta(minutes=5)
    """How far ahead of now an event may be stamped: client clocks drift a little, but an
    event from the future would open windows that never settle (KPIS.md section 3)."""

    replay_horizon: timedelta = timedelta(days=7)
    """How old an event may be. Older events are clients flushing stale queues or replays
    gone wrong, and would reopen windows settled long ago."""

    max_quantity: int = 10_000
    """Most units of one product in one line. A shop's biggest legitimate orders stay in
    the hundreds; beyond this it is a typo or a test, and it would swamp units sold."""

    max_amount: Decimal = Decimal(1_000_000_000)
    """Largest money amount in any field, in the event's own currency. One bogus "1e15"
    would otherwise dominate revenue for the whole day. A shop pricing in a currency
    with tiny units (VND, IDR: 10^9 is about 40,000 USD) may need to raise it."""

    def accepted_window(self, now: datetime) -> tuple[datetime, datetime]:
        """The oldest and newest event timestamps accepted at `now`. Generous limits (a
        replay tool may allow centuries) stop at the ends of the calendar."""
        try:
            oldest = now - self.replay_horizon
        except OverflowError:
            oldest = datetime.min.replace(tzinfo=UTC)
        try:
            newest = now + self.future_skew
        except OverflowError:
            newest = datetime.max.replace(tzinfo=UTC)
        return oldest, newest
