"""The message formats the simulator writes."""

from enum import StrEnum


class MessageFormat(StrEnum):
    CANONICAL = "canonical"
    SEGMENT = "segment"
    GA4 = "ga4"


FORMAT_CHOICES: tuple[str, ...] = (*MessageFormat, "mixed")
"""What `--format` accepts: one format for every message, or "mixed": each visitor keeps
one format, chosen at random, as a shop with web on Segment and app on GA4 would send."""


class MessageShape(StrEnum):
    """How closely Segment and GA4 messages follow what real sources send (`--shape`)."""

    KPIWATCH = "kpiwatch"
    """The shape kpiwatch's own trackers would send: every field on every event."""
    SPEC = "spec"
    """As Segment's and Google's sources send them (`simulator.formats.spec_shape`)."""


SHAPE_CHOICES: tuple[str, ...] = tuple(MessageShape)
