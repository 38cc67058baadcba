"""Builders for simulator tests: runs at a fixed start, cached, since several tests read
the same traffic."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from models import ParseLimits, ParseOutcome, parse_message
from simulator import LabelledMessage, ShopSimulator, parse_incident

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
"""Noon UTC on a weekday: the daily shape is near its mean, so rates read plainly."""


def simulate(
    *,
    seed: int = 1,
    message_format: str = "canonical",
    incidents: tuple[str, ...] = (),
    minutes: float = 10,
    rate: float = 20.0,
    diurnal: bool = False,
    shape: str = "kpiwatch",
) -> list[LabelledMessage]:
    """Every labelled message of a run from `START`."""
    return list(_simulate(seed, message_format, incidents, minutes, rate, diurnal, shape))


@lru_cache(maxsize=16)
def _simulate(
    seed: int,
    message_format: str,
    incidents: tuple[str, ...],
    minutes: float,
    rate: float,
    diurnal: bool,
    shape: str,
) -> tuple[LabelledMessage, ...]:
    simulator = ShopSimulator(
        seed=seed,
        message_format=message_format,
        incidents=tuple(parse_incident(spec) for spec in incidents),
        diurnal=diurnal,
        shape=shape,
    )
    return tuple(simulator.labelled(START, timedelta(minutes=minutes), rate))


def parse_at_event_time(labelled: LabelledMessage) -> ParseOutcome:
    """Parse as the ingestion would a message sent live: judged at its own event time."""
    return parse_message(
        labelled.message.value, now=labelled.message.event_time, limits=ParseLimits()
    )
