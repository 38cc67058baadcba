"""The user journey: invitations and referred signups, features, surveys, comparisons and
demo requests. Every such message, in every format and shape, parses without a rejection
into the event meant; the behaviour is plausible; the nps-drop incident turns NPS
negative; the names are printed for KPIWATCH_FEATURES and KPIWATCH_SURVEYS."""

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import orjson
import pytest

from models.events import EVENT_MODELS
from simulator import (
    IncidentKind,
    IncidentSpecError,
    LabelledMessage,
    ShopProfile,
    ShopSimulator,
    Timing,
    parse_incident,
)
from simulator.cli import main
from simulator.journey import (
    FEATURES,
    SURVEYS,
    UNLISTED_FEATURES,
    invitee,
    nps_score,
)
from tests.unit.simulator.fixtures import START, parse_at_event_time, simulate

pytestmark = pytest.mark.unit

_ROOT = Path(__file__).resolve().parents[3]

JOURNEY_TYPES = frozenset(
    {"invite_sent", "survey_response", "feature_used", "demo_requested", "products_compared"}
)

# Far more journey than the default shop, so that short runs hold every kind many times.
_BUSY = replace(
    ShopProfile(),
    logged_in_rate=0.9,
    invite_rate=1.0,
    invite_accept_rate=0.8,
    invite_accept_delay=Timing(median=60.0),
    feature_rate=0.5,
    gift_wrap_rate=0.5,
    compare_rate=0.3,
    demo_rate=0.05,
    cart_add_rate=0.4,
    nps_response_rate=1.0,
    support_survey_rate=0.5,
    support_survey_delay=Timing(median=120.0),
)


@pytest.fixture(scope="module")
def run():
    """The default shop's traffic (test_rates' run)."""
    return simulate(minutes=40, rate=50)


@lru_cache(maxsize=8)
def _busy(message_format: str, shape: str = "kpiwatch") -> tuple[LabelledMessage, ...]:
    simulator = ShopSimulator(
        seed=5, message_format=message_format, profile=_BUSY, diurnal=False, shape=shape
    )
    return tuple(simulator.labelled(START, timedelta(minutes=15), 20))


def _is_journey(labelled: LabelledMessage) -> bool:
    return any(
        event.type in JOURNEY_TYPES or event.type == "signup" for event in labelled.events
    )


def _assert_parses_as_meant(labelled: LabelledMessage) -> None:
    outcome = parse_at_event_time(labelled)
    assert outcome.rejections == [], (outcome.rejections, labelled.message.value)
    assert len(outcome.events) == len(labelled.events), labelled.message.value
    for meant, parsed in zip(labelled.events, outcome.events, strict=True):
        assert (parsed.type, parsed.event_id, parsed.timestamp) == (
            meant.type,
            meant.event_id,
            meant.event_time,
        )
        assert (parsed.anonymous_id, parsed.user_id) == (meant.anonymous_id, meant.user_id)
        assert parsed.channel == meant.channel
        if meant.type not in JOURNEY_TYPES | {"signup"}:
            continue  # (a batch's other calls: test_parse_contract and test_spec_shape)
        for name, value in meant.fields.items():
            if name in type(parsed).model_fields:
                assert getattr(parsed, name) == value, (name, labelled.message.value)


@pytest.mark.parametrize("shape", ["kpiwatch", "spec"])
@pytest.mark.parametrize("message_format", ["canonical", "segment", "ga4"])
def test_every_journey_message_parses_without_rejection_into_the_event_meant(
    message_format, shape
):
    run = [labelled for labelled in _busy(message_format, shape) if _is_journey(labelled)]
    kinds = Counter(
        event.type
        for labelled in run
        for event in labelled.events
        if event.type in JOURNEY_TYPES or event.type == "signup"
    )
    assert set(kinds) == JOURNEY_TYPES | {"signup"}
    assert min(kinds.values()) >= 10, kinds
    for labelled in run:
        _assert_parses_as_meant(labelled)


def _messages(message_format: str, event_type: str) -> list[tuple[dict, LabelledMessage]]:
    return [
        (orjson.loads(labelled.message.value), labelled)
        for labelled in _busy(message_format)
        if labelled.event.type == event_type
    ]


def test_segment_sends_the_journey_as_its_specs_and_kpiwatch_name_it():
    invites = _messages("segment", "invite_sent")
    assert invites
    for message, _ in invites:
        assert (message["type"], message["event"]) == ("track", "Invite Sent")
        properties = message["properties"]
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d*@example\.com", properties["invitee_email"])
        assert properties["invitee_first_name"] and properties["invitee_last_name"]
        assert properties["invitee_role"]
    assert len({message["properties"]["invitee_email"] for message, _ in invites}) > 1
    for message, labelled in _messages("segment", "survey_response"):
        assert message["event"] == "Survey Responded"
        properties, fields = message["properties"], labelled.event.fields
        assert (properties["survey_name"], properties["survey_type"], properties["score"]) == (
            fields["survey"],
            fields["scale"],
            fields["score"],
        )
    for message, labelled in _messages("segment", "feature_used"):
        assert message["event"] == "Feature Used"
        assert message["properties"]["feature_name"] == labelled.event.fields["feature"]
    compared = _messages("segment", "products_compared")
    assert compared
    for message, _ in compared:
        assert message["event"] == "Products Compared"
        products = message["properties"]["products"]
        assert products and all(list(line) == ["product_id"] for line in products)
    assert {message["event"] for message, _ in _messages("segment", "demo_requested")} == {
        "Demo Requested"
    }
    referred = [
        message for message, labelled in _messages("segment", "signup")
        if "referrer_id" in labelled.event.fields
    ]
    assert referred and all(m["event"] == "Signed Up" for m in referred)
    assert all(m["properties"]["referrer_id"].startswith("user-") for m in referred)


def _ga4_event(message: dict) -> dict:
    [event] = message["events"]
    return event


def test_ga4_sends_the_journey_as_custom_events_of_the_canonical_names():
    for event_type in JOURNEY_TYPES:
        messages = _messages("ga4", event_type)
        assert messages, event_type
        assert {_ga4_event(message)["name"] for message, _ in messages} == {event_type}
    for message, labelled in _messages("ga4", "survey_response"):
        params, fields = _ga4_event(message)["params"], labelled.event.fields
        assert (params["survey_name"], params["scale"], params["score"]) == (
            fields["survey"],
            fields["scale"],
            fields["score"],
        )
    for message, labelled in _messages("ga4", "feature_used"):
        assert _ga4_event(message)["params"]["feature_name"] == labelled.event.fields["feature"]
    for message, labelled in _messages("ga4", "signup"):
        event = _ga4_event(message)
        assert event["name"] == "sign_up"
        assert event["params"].get("referrer_id") == labelled.event.fields.get("referrer_id")
    # No personal data in GA4 params: the invitee is Segment's only.
    for message, _ in _messages("ga4", "invite_sent"):
        assert not any(name.startswith("invitee") for name in _ga4_event(message)["params"])


def test_the_canonical_format_uses_the_canonical_field_names():
    for event_type in JOURNEY_TYPES | {"signup"}:
        for message, labelled in _messages("canonical", event_type):
            assert message["type"] == event_type
            model_fields = EVENT_MODELS[event_type].model_fields
            for name, value in labelled.event.fields.items():
                if name in model_fields:
                    assert message[name] == value


def test_invitees_sign_up_referred_by_who_invited_them():
    run = _busy("canonical")
    invited_at: dict[str, list] = defaultdict(list)
    referred = []
    for labelled in run:
        event = labelled.event
        if event.type == "invite_sent":
            # Only customers with an account, logged in, invite.
            assert event.user_id is not None
            invited_at[event.user_id].append(event.event_time)
        elif event.type == "signup" and "referrer_id" in event.fields:
            referred.append(event)
    assert len(referred) >= 10
    # Invitations sent before the run (its warm-up) bring a few too: their invite_sent is
    # not in the run.
    invited_before = [
        event for event in referred
        if any(moment < event.event_time for moment in invited_at[event.fields["referrer_id"]])
    ]
    assert len(invited_before) >= 0.6 * len(referred)
    assert all(event.fields["referrer_id"] != event.user_id for event in referred)
    # The referred user is a new visitor with an account of their own.
    assert len({event.user_id for event in referred}) == len(referred)


def test_logged_in_visitors_use_features_from_the_fixed_list_and_now_and_then_another(run):
    used = [labelled.event for labelled in run if labelled.event.type == "feature_used"]
    assert all(event.user_id is not None for event in used)
    features = Counter(event.fields["feature"] for event in used)
    assert set(features) == set(FEATURES) | set(UNLISTED_FEATURES)
    assert 0 < features["beta_ar_tryon"] < 0.15 * len(used)
    assert UNLISTED_FEATURES[0] not in FEATURES


def test_customers_answer_surveys_after_their_orders(run):
    ordered: dict[str, object] = {}
    answers = Counter()
    nps = []
    for labelled in run:
        event = labelled.event
        if event.type == "order_completed":
            ordered[event.session_id] = event.event_time
        elif event.type == "survey_response":
            fields = event.fields
            answers[fields["survey"], fields["scale"]] += 1
            if fields["scale"] == "nps":
                assert 0 <= fields["score"] <= 10
                nps.append(fields["score"])
                # On the order confirmation page, just after the session's order (unless
                # that came before the run).
                if event.event_time >= START + timedelta(minutes=2):
                    assert ordered[event.session_id] < event.event_time
                    assert event.event_time - ordered[event.session_id] < timedelta(minutes=10)
            else:
                assert 1 <= fields["score"] <= 5
    assert set(answers) == {("post_purchase", "nps"), ("support", "csat")}
    assert set(SURVEYS) == {survey for survey, _ in answers}
    assert answers["post_purchase", "nps"] > answers["support", "csat"]
    assert 15 < _nps(nps) < 50


def test_comparisons_come_before_product_views_and_demos_are_rare(run):
    by_session: dict[str, list] = defaultdict(list)
    for labelled in run:
        if labelled.event.session_id is not None:
            by_session[labelled.event.session_id].append(labelled.event)
    compared = demos = 0
    for events in by_session.values():
        types = [event.type for event in events]
        demos += "demo_requested" in types
        if "products_compared" not in types:
            continue
        compared += 1
        at = types.index("products_compared")
        assert "product_view" not in types[:at]
        products = {line["product_id"] for line in events[at].fields["products"]}
        assert 1 <= len(products) <= 3
        first_view = next((e for e in events[at:] if e.type == "product_view"), None)
        if first_view is not None:
            assert first_view.fields["product_id"] in products
    sessions = len(by_session)
    assert 0.01 < compared / sessions < 0.05
    assert 0 < demos / sessions < 0.003


def test_the_journey_is_a_small_share_of_the_traffic(run):
    journey = sum(labelled.event.type in JOURNEY_TYPES for labelled in run)
    assert 0.005 < journey / len(run) < 0.03


def _nps(scores: list[int]) -> float:
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    return 100 * (promoters - detractors) / len(scores)


def test_an_nps_drop_spec_has_a_default_and_checks_its_share():
    incident = parse_incident("nps-drop@5m+10m")
    assert incident.kind is IncidentKind.NPS_DROP
    assert (incident.start, incident.duration, incident.magnitude) == (
        timedelta(minutes=5),
        timedelta(minutes=10),
        0.7,
    )
    assert parse_incident("nps-drop@0+1h:detractors=0.9").magnitude == 0.9
    with pytest.raises(IncidentSpecError, match="detractors must be between 0 and 1"):
        parse_incident("nps-drop@0+5m:detractors=2")
    with pytest.raises(IncidentSpecError, match="nps-drop takes detractors, not 'factor'"):
        parse_incident("nps-drop@0+5m:factor=2")


def test_detractor_scores_take_the_share_asked_for():
    import random

    rng = random.Random(1)
    scores = [nps_score(rng, 0.7) for _ in range(20_000)]
    assert sum(score <= 6 for score in scores) / len(scores) == pytest.approx(0.7, abs=0.02)
    calm = [nps_score(rng) for _ in range(20_000)]
    assert sum(score <= 6 for score in calm) / len(calm) == pytest.approx(0.2, abs=0.02)


_LONG_RUN = {"minutes": 40, "rate": 30}
_WINDOW = (START + timedelta(minutes=10), START + timedelta(minutes=35))


def _nps_scores(run, inside: bool) -> list[int]:
    return [
        labelled.event.fields["score"]
        for labelled in run
        if labelled.event.type == "survey_response"
        and labelled.event.fields["scale"] == "nps"
        and (_WINDOW[0] <= labelled.event.event_time < _WINDOW[1]) == inside
    ]


def test_an_nps_drop_turns_nps_negative_while_it_lasts_and_changes_nothing_else():
    calm = simulate(**_LONG_RUN)
    dropped = simulate(**_LONG_RUN, incidents=("nps-drop@10m+25m",))
    assert len(_nps_scores(dropped, inside=True)) >= 40
    assert _nps(_nps_scores(dropped, inside=True)) < -30
    assert _nps(_nps_scores(calm, inside=True)) > 0
    # Outside the incident the answers are the very same; inside only they change, and
    # nothing else does: the same events at the same times.
    assert _nps_scores(dropped, inside=False) == _nps_scores(calm, inside=False)
    happened = lambda run: [(m.event.type, m.event.event_time) for m in run]  # noqa: E731
    assert happened(calm) == happened(dropped)
    csat = lambda run: [  # noqa: E731
        m.event.fields["score"] for m in run
        if m.event.type == "survey_response" and m.event.fields["scale"] == "csat"
    ]
    assert csat(calm) == csat(dropped)


def test_the_invitee_is_a_fake_person_fixed_by_the_event():
    assert invitee("evt-1") == invitee("evt-1")
    assert invitee("evt-1")["invitee_email"].endswith("@example.com")


@pytest.mark.parametrize(("command", "names"), [("features", FEATURES), ("surveys", SURVEYS)])
def test_features_and_surveys_print_their_names_as_json(capsys, command, names):
    assert main([command]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == list(names)
    assert main([command, "--help"]) == 0
    assert f"KPIWATCH_{command.upper()}" in capsys.readouterr().out
    assert main([command, "--seed", "2"]) == 2
    assert "takes no options" in capsys.readouterr().err


def test_help_lists_the_journey_and_the_nps_drop():
    help_text = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for text in ("nps-drop", "detractors=0.7", "invite_sent", "referrer_id", "feature_used",
                 "survey_response", "products_compared", "demo_requested",
                 "python -m simulator features", "python -m simulator surveys"):
        assert text in help_text, text
