"""Why a message did not become an event: the reason codes of the dead-letter queue."""

from dataclasses import dataclass
from enum import StrEnum


class RejectReason(StrEnum):
    """Machine-readable rejection codes, stable: dashboards and alerts count by them."""

    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    TOO_LARGE = "too_large"
    UNKNOWN_FORMAT = "unknown_format"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_CURRENCY = "unknown_currency"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_OLD = "too_old"
    MISSING_USER_KEY = "missing_user_key"
    # A bug in the parser, not in the message: kept so one poison message cannot stop a
    # worker, and visible so the message can be replayed once the bug is fixed.
    PARSER_ERROR = "parser_error"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One message (or one event of a batch) that was not accepted.

    `detail` starts with the offending field as the source spelled it, e.g.
    "properties.revenue: must be >= 0, got -5".
    """

    reason: RejectReason
    detail: str


class InvalidEvent(Exception):
    """Raised by a source adapter for a message it cannot map; becomes a `Rejection`."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.rejection = Rejection(reason, detail)
