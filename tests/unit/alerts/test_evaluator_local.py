"""The evaluator over in-memory stand-ins (the fail-open path): only with the whole shop in
view, in window order, quiet hours deferring below-threshold severities."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alerts.evaluator import Evaluator, in_quiet_hours
from alerts.fail_open import LocalWindows, MemoryStates
from alerts.rules import RuleSet
from streams.kpis.working_set import aggregate_key
from streams.windows import MINUTE_MS
from tests.unit.alerts.factories import rule, values, window


class Sink:
    def __init__(self):
        self.sent = []

    async def put(self, notification, targets):
        self.sent.append(notification)


def table_with(windows: dict[int, dict]) -> dict:
    """A KPI table: window n's values on partition 0, all 4 partitions settled past them."""
    table = {}
    for n, vals in windows.items():
        w = window(n)
        table[aggregate_key(0, w)] = {"values": dict(vals), "size": "15m", "start": w.start_ms,
                                      "end": w.end_ms}
    last = window(max(windows)).end_ms - MINUTE_MS
    for partition in range(4):
        table[f"progress|{partition}"] = {"settled_through": last}
    return table


def evaluator(table, the_rule, owned=range(4), at="2026-11-24T12:00:00+00:00"):
    ruleset = RuleSet(rules=[the_rule])
    return Evaluator(ruleset, LocalWindows(table, lambda: owned, 4), MemoryStates(), Sink(),
                     tz=ZoneInfo("UTC"), grafana_url="http://g", payment_methods=[],
                     clock=lambda: datetime.fromisoformat(at).timestamp())


LOW = values({"direct": 1000}, {"direct": 10})  # 1 % conversion, benchmark 3 %


async def test_judges_from_the_local_table_only_when_it_sees_every_partition():
    table = table_with({0: LOW})
    partial = evaluator(table, rule(**{"for": 1}), owned=range(2))
    assert await partial.evaluate() == 0
    whole = evaluator(table, rule(**{"for": 1}))
    assert await whole.evaluate() == 1
    assert [n.kind for n in whole.sink.sent] == ["firing"]


async def test_catches_up_in_window_order_from_the_cursor():
    table = table_with({0: LOW})
    e = evaluator(table, rule())
    await e.evaluate()  # judges window 0 only (first run: the latest window)
    table.update(table_with({1: LOW, 2: LOW}))
    assert await e.evaluate() == 2
    assert [(n.kind, n.window_start) for n in e.sink.sent] == [
        ("firing", window(1).as_dict()["start"])]


async def test_quiet_hours_defer_low_severity_until_they_end():
    quiet = rule(**{"for": 1}, severity="info",
                 quiet_hours={"start": "22:00", "end": "07:00", "min_severity": "warning"})
    table = table_with({0: LOW})
    night = evaluator(table, quiet, at="2026-11-24T23:30:00+00:00")
    await night.evaluate()
    assert night.sink.sent == []
    morning = Evaluator(night.ruleset, night.windows, night.states, night.sink,
                        tz=ZoneInfo("UTC"), grafana_url="http://g", payment_methods=[],
                        clock=lambda: datetime(2026, 11, 25, 7, 30, tzinfo=UTC).timestamp())
    await morning.evaluate()
    assert [n.kind for n in morning.sink.sent] == ["firing"]


def test_quiet_hours_wrap_midnight_and_spare_high_severities():
    quiet = {"start": "22:00", "end": "07:00", "min_severity": "critical"}
    warning = rule(severity="warning", quiet_hours=quiet)
    critical = rule(severity="critical", quiet_hours=quiet)
    tz = ZoneInfo("Europe/Berlin")
    assert in_quiet_hours(warning, datetime(2026, 11, 24, 22, 30, tzinfo=UTC), tz)  # 23:30 local
    assert not in_quiet_hours(warning, datetime(2026, 11, 24, 12, 0, tzinfo=UTC), tz)
    assert not in_quiet_hours(critical, datetime(2026, 11, 24, 22, 30, tzinfo=UTC), tz)
