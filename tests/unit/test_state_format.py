"""State versioning (streams/state_format.py): the names, and what a worker does with the
changelog topics it finds."""

import pytest

from streams import state_format as sf
from streams.state_format import (
    CONFLICT,
    CURRENT,
    FRESH,
    MIGRATE_NEEDED,
    NEWER,
    NO_MIGRATION,
    Migrated,
    changelog_topic,
    decide,
    parse_changelog_topic,
    table_name,
)

APP = "kpiwatch"
HOLDING = {0: (0, 12), 1: (0, 0), 2: (3, 9), 3: (0, 0)}  # partition -> (start, end)
EMPTY = {0: (0, 0), 1: (5, 5), 2: (0, 0), 3: (0, 0)}  # compacted or never written


def topic(table: str, version: int = sf.STATE_FORMAT) -> str:
    return changelog_topic(APP, table, version)


def outcomes(decision) -> dict[str, str]:
    return {v.table: v.outcome for v in decision.verdicts}


def test_the_format_is_in_the_table_and_changelog_names():
    assert sf.STATE_FORMAT == 1
    assert [table_name(t) for t in sf.TABLES] == ["kpi-state-v1", "event-counts-v1",
                                                 "dead-letter-counts-v1"]
    assert table_name("kpi-state", sf.LEGACY) == "kpi-state"  # the releases before versioning
    assert changelog_topic("shop-1", "kpi-state") == "shop-1-kpi-state-v1-changelog"
    assert changelog_topic("shop-1", "event-counts", 0) == "shop-1-event-counts-changelog"
    with pytest.raises(ValueError):
        table_name("kpi_state")


@pytest.mark.parametrize(("name", "parsed"), [
    ("kpiwatch-kpi-state-changelog", ("kpi-state", 0)),
    ("kpiwatch-kpi-state-v1-changelog", ("kpi-state", 1)),
    ("kpiwatch-dead-letter-counts-v12-changelog", ("dead-letter-counts", 12)),
    ("kpiwatch-kpi-state-v0-changelog", None),  # format 0 has no suffix
    ("kpiwatch-kpi-state-vx-changelog", None),
    ("kpiwatch-other-table-changelog", None),
    ("kpiwatch-2-kpi-state-changelog", None),  # app id "kpiwatch-2"'s, not ours
    ("other-kpi-state-v1-changelog", None),
    ("kpiwatch-kpi-state-v1", None),
    ("kpiwatch-events", None),
])
def test_only_this_app_ids_table_changelogs_are_recognised(name, parsed):
    assert parse_changelog_topic(APP, name) == parsed


def test_fresh_cluster_starts():
    decision = decide(APP, {})
    assert decision.start and decision.message == ""
    assert set(outcomes(decision).values()) == {FRESH}


def test_empty_topics_of_any_format_are_no_state():
    decision = decide(APP, {topic("kpi-state", 0): EMPTY, topic("kpi-state", 2): EMPTY,
                            topic("kpi-state"): EMPTY})
    assert decision.start and outcomes(decision)["kpi-state"] == FRESH


def test_current_format_only_starts():
    decision = decide(APP, {topic(t): HOLDING for t in sf.TABLES}
                      | {"kpiwatch-events": HOLDING, "other-kpi-state-changelog": HOLDING})
    assert decision.start
    assert set(outcomes(decision).values()) == {CURRENT}


def test_legacy_only_refuses_naming_migrate_and_reset():
    decision = decide(APP, {topic("kpi-state", 0): HOLDING, topic("event-counts", 0): HOLDING,
                            topic("dead-letter-counts", 0): EMPTY, topic("kpi-state"): EMPTY})
    assert not decision.start
    assert outcomes(decision) == {"kpi-state": MIGRATE_NEEDED, "event-counts": MIGRATE_NEEDED,
                                  "dead-letter-counts": FRESH}
    assert [(v.other, v.current) for v in decision.migrations] == [
        ("kpiwatch-kpi-state-changelog", "kpiwatch-kpi-state-v1-changelog"),
        ("kpiwatch-event-counts-changelog", "kpiwatch-event-counts-v1-changelog")]
    message = decision.message
    assert "`kpiwatch state migrate`" in message and "`kpiwatch state reset`" in message
    assert "kpiwatch-kpi-state-changelog" in message
    assert "rebuilt only from what the canonical and dead-letter topics still hold" in message
    assert "--replace" not in message


def test_legacy_and_current_start_after_a_completed_migration():
    legacy, current = topic("kpi-state", 0), topic("kpi-state")
    done = Migrated(legacy, current, {p: end for p, (_, end) in HOLDING.items()})
    decision = decide(APP, {legacy: HOLDING, current: HOLDING}, {current: done})
    assert decision.start and outcomes(decision)["kpi-state"] == CURRENT


def test_legacy_and_current_without_a_completed_migration_refuse():
    legacy, current = topic("kpi-state", 0), topic("kpi-state")
    decision = decide(APP, {legacy: HOLDING, current: HOLDING})  # an interrupted copy
    assert not decision.start and outcomes(decision)["kpi-state"] == CONFLICT
    assert "`kpiwatch state migrate --replace`" in decision.message
    assert "`kpiwatch state reset`" in decision.message
    # The legacy topic got records after the migration: a worker of the old release ran.
    done = Migrated(legacy, current, {0: 10, 1: 0, 2: 9, 3: 0})
    decision = decide(APP, {legacy: HOLDING, current: HOLDING}, {current: done})
    assert outcomes(decision)["kpi-state"] == CONFLICT


def test_newer_format_refuses_naming_that_version_and_reset():
    for current in (EMPTY, HOLDING):
        decision = decide(APP, {topic("kpi-state", 2): HOLDING, topic("kpi-state"): current,
                                topic("kpi-state", 0): HOLDING})
        assert not decision.start and outcomes(decision)["kpi-state"] == NEWER
        message = decision.message
        assert "written by a newer kpiwatch (state format 2)" in message
        assert "kpiwatch-kpi-state-v2-changelog" in message
        assert "run the kpiwatch version that wrote it" in message
        assert "`kpiwatch state reset`" in message and "migrate" not in message


def test_an_older_format_without_a_migration_names_reset_only(monkeypatch):
    monkeypatch.setattr(sf, "STATE_FORMAT", 3)  # a future release: 0 -> 1 only is known
    monkeypatch.setattr(sf, "MIGRATIONS", {2: "copy"})
    decision = decide(APP, {topic("kpi-state", 1): HOLDING})
    assert outcomes(decision)["kpi-state"] == NO_MIGRATION and not decision.start
    assert "no migration exists from format 1" in decision.message
    assert "`kpiwatch state reset`" in decision.message
    assert "`kpiwatch state migrate`" not in decision.message


def test_a_migration_record_round_trips():
    done = Migrated("a", "b", {0: 12, 3: 0}, {0: 11, 3: 0})
    assert Migrated.from_json(done.as_json()) == done


def test_the_worker_command_refuses_before_faust_runs(monkeypatch):
    """kpiwatch worker exits with the refusal (no traceback) before the Faust worker starts."""
    import sys
    import types

    from kpiwatch import cli
    from kpiwatch.settings import load_settings

    settings = load_settings()
    refusal = decide(settings.app_id, {changelog_topic(settings.app_id, "kpi-state", 0): HOLDING})

    async def fake_survey(bootstrap, app_id, timeout):
        return sf.Survey({changelog_topic(app_id, "kpi-state", 0): HOLDING}, {}, {}, False)

    def faust_ran():
        raise AssertionError("the Faust worker ran")

    # The app, faked: this tier does not load Faust (tests/integration runs the real one).
    monkeypatch.setitem(sys.modules, "streams.agents",
                        types.SimpleNamespace(app=types.SimpleNamespace(main=faust_ran)))
    monkeypatch.setitem(sys.modules, "streams.app", types.SimpleNamespace(settings=settings))
    monkeypatch.setattr(sf, "survey_with_retry", fake_survey)
    monkeypatch.setattr(sys, "argv", ["kpiwatch", "worker"])
    monkeypatch.setattr("kpiwatch.dependencies.check_dependencies", lambda: None)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert str(stopped.value.code) == refusal.message
    assert "kpiwatch state migrate" in str(stopped.value.code)
