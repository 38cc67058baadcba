"""The alert state machine of one rule x dimension value: pure, one settled window at a time.

    inactive --breach--> pending --breach x for--> firing --recovered x (keep_firing_for+1)--> resolved
        ^                  |                         |  breach every renotify_every windows:
        +------ clear -----+                         |  a reminder (none once acknowledged)
    resolved behaves as inactive: the next breach opens a new incident.

``for`` counts consecutive *judged* windows: a window that is not judged (low volume, no
history) neither advances nor resets a streak (see alerts/benchmarks.py). ``last_window`` is
the start of the last window judged: the store only accepts a state whose ``last_window`` is
newer (compare-and-set), which makes each rule x dimension x window count exactly once however
many workers evaluate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

import orjson

from alerts.benchmarks import Judgement
from alerts.notification import Kind
from alerts.rules import Rule

Status = Literal["inactive", "pending", "firing", "resolved"]


@dataclass(frozen=True)
class AlertState:
    status: Status = "inactive"
    last_window: int = -1  # start ms of the last judged window
    breach_streak: int = 0
    clear_streak: int = 0
    incident_start: int | None = None  # start ms of the incident's first breaching window
    windows_since_notified: int = 0
    reminders: int = 0

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str | None) -> AlertState:
        return cls(**orjson.loads(data)) if data else cls()


def advance(rule: Rule, state: AlertState, judgement: Judgement,
            acknowledged: bool = False) -> tuple[AlertState, Kind | None]:
    """The state after one more settled window, and the notification it calls for."""
    state = replace(state, last_window=judgement.window.start_ms)
    if judgement.breached is None:
        return state, None
    if state.status in ("inactive", "resolved"):
        if not judgement.breached:
            return state, None
        state = replace(state, status="pending", breach_streak=1, clear_streak=0,
                        incident_start=judgement.window.start_ms, windows_since_notified=0,
                        reminders=0)
        return _maybe_fire(rule, state)
    if state.status == "pending":
        if not judgement.breached:
            return replace(state, status="inactive", breach_streak=0, incident_start=None), None
        return _maybe_fire(rule, replace(state, breach_streak=state.breach_streak + 1))
    # firing
    since = state.windows_since_notified + 1
    if judgement.breached:
        state = replace(state, breach_streak=state.breach_streak + 1, clear_streak=0,
                        windows_since_notified=since)
        if rule.renotify_every and since >= rule.renotify_every and not acknowledged:
            return replace(state, windows_since_notified=0, reminders=state.reminders + 1), \
                "reminder"
        return state, None
    if not judgement.recovered:  # between the threshold and the recovery threshold
        return replace(state, clear_streak=0, windows_since_notified=since), None
    state = replace(state, clear_streak=state.clear_streak + 1, windows_since_notified=since)
    if state.clear_streak > rule.recovery.keep_firing_for:
        return replace(state, status="resolved", breach_streak=0), "resolved"
    return state, None


def _maybe_fire(rule: Rule, state: AlertState) -> tuple[AlertState, Kind | None]:
    if state.breach_streak >= rule.for_windows:
        return replace(state, status="firing", windows_since_notified=0), "firing"
    return state, None
