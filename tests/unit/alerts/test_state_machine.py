"""The alert state machine: for, hysteresis, keep_firing_for, renotify, not-judged windows."""

from alerts.state_machine import AlertState, advance
from tests.unit.alerts.factories import judgement, rule


def run(r, outcomes, acknowledged=False):
    """Feed one judgement per window; returns the final state and the notifications by window."""
    state, sent = AlertState(), []
    for n, outcome in enumerate(outcomes):
        breached, recovered = outcome if isinstance(outcome, tuple) else (outcome, None)
        state, kind = advance(r, state, judgement(n, breached, recovered), acknowledged)
        if kind:
            sent.append((n, kind))
    return state, sent


def test_fires_once_after_for_consecutive_breaches_and_resolves_once():
    state, sent = run(rule(), [False, True, True, True, True, False, False])
    assert sent == [(2, "firing"), (5, "resolved")]
    assert state.status == "resolved"


def test_a_one_window_dip_sends_nothing():
    state, sent = run(rule(), [True, False, True, False])
    assert sent == []
    assert state.status == "inactive"


def test_for_one_fires_on_the_first_breach():
    assert run(rule(**{"for": 1}), [True])[1] == [(0, "firing")]


def test_not_judged_windows_neither_advance_nor_reset_a_streak():
    # low volume between two breaches: still two consecutive judged breaches
    state, sent = run(rule(), [True, None, True])
    assert sent == [(2, "firing")]
    # ... and never fire on their own, however many
    state, sent = run(rule(), [None] * 10)
    assert (state.status, sent) == ("inactive", [])


def test_not_judged_windows_do_not_resolve_a_firing_alert():
    state, sent = run(rule(), [True, True, None, None, None])
    assert sent == [(1, "firing")] and state.status == "firing"


def test_hysteresis_stays_firing_until_past_the_recovery_threshold():
    # not breached, but not recovered either (between 3 % and the recovery threshold)
    state, sent = run(rule(), [True, True, (False, False), (False, False), (False, True)])
    assert sent == [(1, "firing"), (4, "resolved")]


def test_keep_firing_for_needs_that_many_clear_windows_more():
    r = rule(recovery={"keep_firing_for": 2})
    state, sent = run(r, [True, True, False, False, True, False, False, False])
    assert sent == [(1, "firing"), (7, "resolved")]


def test_renotify_every_sends_reminders_while_firing_unless_acknowledged():
    r = rule(renotify_every=2)
    _, sent = run(r, [True] * 7)
    assert sent == [(1, "firing"), (3, "reminder"), (5, "reminder")]
    state, sent = run(r, [True] * 7, acknowledged=True)
    assert sent == [(1, "firing")]


def test_a_new_breach_after_resolution_opens_a_new_incident():
    state, sent = run(rule(**{"for": 1}), [True, False, True])
    assert sent == [(0, "firing"), (1, "resolved"), (2, "firing")]
    assert state.incident_start == judgement(2, True).window.start_ms


def test_state_round_trips_through_json():
    state, _ = run(rule(), [True])
    assert AlertState.from_json(state.to_json()) == state
    assert AlertState.from_json(None) == AlertState()
