"""The message formats the simulator writes."""

from enum import StrEnum


class MessageFormat(StrEnum):
    CANONICAL = "canonical"
    SEGMENT = "segment"
    GA4 = "ga4"


FORMAT_CHOICES: tuple[str, ...] = (*MessageFormat, "mixed")
"""What `--format` accepts: one format for every message, or "mixed": each visitor keeps
one format, chosen at random, as a shop with web on Segment and app on GA4 would send."""
