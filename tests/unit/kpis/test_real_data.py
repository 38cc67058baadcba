"""The real shop log (REES46, copied into tests/fixtures) through the KPI engine equals the
independent recomputation on every settled window."""

from pathlib import Path

from examples.rees46.figures import UTC, canonical_events, engine_windows
from streams.windows import window_of
from tests.kpi_oracle.oracle import recompute

LOG = Path(__file__).resolve().parents[2] / "fixtures" / "rees46" / "rees46-2019-10-01-head.csv.gz"


def test_rees46_log_matches_the_recomputation():
    events, dropped = canonical_events(LOG)
    assert dropped == {"duplicate": 5}  # the log's exact duplicate rows
    got, limit = engine_windows(events, close=True)
    settled = [e for e in events if int(e.timestamp.timestamp() * 1000) < limit]
    want = {k: +v for k, v in recompute(settled, UTC, base="USD").items()
            if +v and window_of(k[0], k[1], UTC).end_ms <= limit}
    assert len(want) > 150
    assert got == want
    resolved = {m.split("|")[0] for values in want.values() for m in values}
    assert {"abandoned_carts", "ordered_carts", "session_seconds_count"} <= resolved
