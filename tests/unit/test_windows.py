"""Window bounds: UTC-aligned sub-day windows, business-time-zone days with DST."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from streams.windows import business_day, to_ms, window_of, windows_of

BERLIN = ZoneInfo("Europe/Berlin")


def ms(*args) -> int:
    return to_ms(datetime(*args, tzinfo=UTC))


def test_sub_day_windows_are_aligned_on_utc():
    event = ms(2026, 11, 23, 10, 7, 31)
    assert window_of("1m", event, BERLIN).start_ms == ms(2026, 11, 23, 10, 7)
    assert window_of("5m", event, BERLIN).start_ms == ms(2026, 11, 23, 10, 5)
    assert window_of("15m", event, BERLIN).end_ms == ms(2026, 11, 23, 10, 15)
    assert window_of("1h", event, BERLIN).start_ms == ms(2026, 11, 23, 10)


def test_a_day_is_the_business_calendar_day():
    # 23:30 UTC on the 23rd is already the 24th in Berlin (UTC+1 in November).
    event = ms(2026, 11, 23, 23, 30)
    day = window_of("1d", event, BERLIN)
    assert day.start_ms == ms(2026, 11, 23, 23)
    assert day.end_ms == ms(2026, 11, 24, 23)
    assert business_day(event, BERLIN) == "2026-11-24"


def test_daylight_saving_days_last_23_and_25_hours():
    spring = window_of("1d", ms(2026, 3, 29, 12), BERLIN)
    autumn = window_of("1d", ms(2026, 10, 25, 12), BERLIN)
    assert spring.end_ms - spring.start_ms == 23 * 3_600_000
    assert autumn.end_ms - autumn.start_ms == 25 * 3_600_000


def test_every_size_contains_the_event():
    event = ms(2026, 11, 23, 10, 7, 31)
    for window in windows_of(event, BERLIN):
        assert window.start_ms <= event < window.end_ms


def test_settled_after_end_plus_allowed_lateness():
    window = window_of("1m", ms(2026, 11, 23, 10, 7, 31), BERLIN)
    lateness = 5 * 60_000
    assert not window.settled(window.end_ms + lateness - 1, lateness)
    assert window.settled(window.end_ms + lateness, lateness)
