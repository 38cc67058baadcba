"""Offset-guarded table updates: the reason a crash-and-replay does not double count."""

from streams.applied_once import apply_once


def bump(state):
    state["events"] = state.get("events", 0) + 1


def test_a_replayed_offset_is_not_applied_twice():
    table: dict = {}
    for offset in (0, 1, 2):
        assert apply_once(table, "clickstream:0", 0, offset, bump)
    # A crash after the table write but before the offset commit replays 1 and 2:
    assert not apply_once(table, "clickstream:0", 0, 1, bump)
    assert not apply_once(table, "clickstream:0", 0, 2, bump)
    assert apply_once(table, "clickstream:0", 0, 3, bump)
    assert table["clickstream:0"] == {"events": 4, "applied_offset": [3], "partition": 0}


def test_positions_within_one_message_are_ordered_too():
    table: dict = {}
    assert apply_once(table, "k", 1, (7, 0), bump)
    assert apply_once(table, "k", 1, (7, 1), bump)
    assert not apply_once(table, "k", 1, (7, 1), bump)
    assert not apply_once(table, "k", 1, (6, 5), bump)
    assert table["k"]["events"] == 2
