"""``EventContext.first_in``: the windows of an event in which a state is seen for the first
time. One marker, the start of the last minute the state was seen in, decides every size; a
marker written by earlier versions (the latest start per size) reads the same."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from streams.kpis.context import EventContext
from streams.kpis.working_set import TimerBuckets, WorkingSet
from streams.windows import windows_of

KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+5:45: its business day starts at 18:15 UTC


def ms(hour: int, minute: int) -> int:
    return int(datetime(2026, 11, 24, hour, minute, 30, tzinfo=UTC).timestamp() * 1000)


def sizes_new(state: dict, at_ms: int, field: str = "counted") -> list[str]:
    windows = tuple(windows_of(at_ms, KATHMANDU))
    minute = at_ms - at_ms % 60_000
    ws = WorkingSet({}, TimerBuckets({}, 0), minute, minute + 60_000, windows=windows)
    ctx = EventContext(ws, None, at_ms, "", windows, {}, {}, False, None)
    return [window.size for window in ctx.first_in(state, field)]


def test_each_window_counts_a_state_once():
    state: dict = {}
    assert sizes_new(state, ms(18, 10)) == ["1m", "5m", "15m", "1h", "1d"]
    assert sizes_new(state, ms(18, 10)) == []  # the same minute
    assert sizes_new(state, ms(18, 11)) == ["1m"]
    assert sizes_new(state, ms(18, 14)) == ["1m"]
    # 18:15 UTC starts a 15-minute window and Kathmandu's business day, not an hour
    assert sizes_new(state, ms(18, 15)) == ["1m", "5m", "15m", "1d"]
    assert sizes_new(state, ms(19, 2)) == ["1m", "5m", "15m", "1h"]
    assert state == {"counted": ms(19, 2) - 30_000}


def test_a_marker_written_by_earlier_versions_reads_the_same():
    old = {"counted": {"1m": ms(18, 11) - 30_000, "5m": ms(18, 10) - 30_000,
                       "15m": ms(18, 0) - 30_000, "1h": ms(18, 0) - 30_000,
                       "1d": ms(18, 15) - 30_000 - 24 * 3_600_000}}
    assert sizes_new(old, ms(18, 14)) == ["1m"]
    assert sizes_new(old, ms(18, 15)) == ["1m", "5m", "15m", "1d"]
