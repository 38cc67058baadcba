"""What the evaluator hands to notifiers: one message about one incident.

The evaluator decides (alerts/evaluator.py); notifiers only deliver (alerts/notifiers/). A
notification is plain data so it can wait in the Redis outbox (JSON) and be delivered by any
worker, in order, after Slack comes back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import orjson

Kind = Literal["firing", "reminder", "resolved", "test", "digest"]


@dataclass(frozen=True)
class Contributor:
    """A dimension value and how far it moved, e.g. ("paid_search", -0.62)."""

    label: str
    change: float | None  # vs one week earlier; None when there is no history
    value: float | None = None


@dataclass(frozen=True)
class Notification:
    id: str  # unique per message: "<incident id>:<kind>:<n>"; notifiers dedup on it
    incident_id: str  # "<rule>|<dimension>|<first firing window start ms>"
    kind: Kind
    rule: str
    severity: str
    kpi: str
    dimension: dict[str, str]  # {} for the whole shop, {"channel": "paid_search"}, ...
    value: float | None
    benchmark: float | None  # the threshold the value was judged against
    condition: str  # "below" or "above"
    week_ago: float | None  # the same window one week earlier, when known
    window_size: str
    window_start: str  # ISO 8601 UTC
    window_end: str
    summary: str  # one line a human reads first
    contributors: list[Contributor] = field(default_factory=list)
    runbook_url: str = ""
    dashboard_url: str = ""
    created_at: str = ""  # ISO 8601 UTC, when the evaluator decided
    # What ``benchmark`` is: a rule's benchmark, or a goal's ("goal": the target of a rate;
    # "goal path": where a count should be by now on the way to its target).
    subject: str = "benchmark"
    details: list[str] = field(default_factory=list)  # a goal's target, a digest's lines

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> Notification:
        raw = orjson.loads(data)
        raw["contributors"] = [Contributor(**c) for c in raw.get("contributors", [])]
        return cls(**raw)
