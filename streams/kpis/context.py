"""What a KPI family sees of one event: the event, its session and user, its windows."""

from __future__ import annotations

from dataclasses import dataclass

from models import CanonicalEvent
from streams.kpis.kpi_settings import KpiSettings
from streams.kpis.working_set import WorkingSet
from streams.windows import Window

ALL_TIME = Window("all", 0, 0)  # "since tracking began" totals


@dataclass
class EventContext:
    ws: WorkingSet
    event: CanonicalEvent
    event_ms: int
    day: str  # the business day of the event (ISO date)
    windows: list[Window]
    session: dict
    user: dict
    user_is_new: bool
    settings: KpiSettings

    @property
    def channel(self) -> str:
        return self.session["channel"]

    @property
    def device(self) -> str:
        return self.session["device"]

    def first_in_window(self, state: dict, field: str, window: Window) -> bool:
        """True the first time ``state`` is seen in ``window`` under ``field`` (then remembers).

        Events reach families in event-time order, so remembering the latest window start
        per size is enough to count each entity once per window.
        """
        seen = state.setdefault(field, {})
        if seen.get(window.size) == window.start_ms:
            return False
        seen[window.size] = window.start_ms
        return True
