"""Slack Block Kit rendering: what an on-call person reads, within Slack's limits.

Every rendered message is checked with the fake Slack's validator, the same rules the
integration tests' fake webhook enforces (tests/fakes/slack_server.py).
"""

from __future__ import annotations

import json

from alerts.notification import Contributor
from alerts.notifiers import slack
from tests.fakes.notifications import make_notification
from tests.fakes.slack_server import validate


def texts(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def block(payload: dict, kind: str) -> list[dict]:
    return [b for b in payload["blocks"] if b["type"] == kind]


def test_firing_message_says_what_broke_and_where_to_look():
    payload = slack.render(make_notification())
    assert validate(payload) == (200, "ok")
    [header] = block(payload, "header")
    assert "WARNING" in header["text"]["text"]
    assert "conversion rate below benchmark" in header["text"]["text"]
    assert "channel=paid_search" in header["text"]["text"]
    fields = " ".join(f["text"] for b in block(payload, "section") for f in b.get("fields", []))
    assert "1.14% (below benchmark 2.10%)" in fields
    assert "*vs one week earlier*\n-62% (was 3.00%)" in fields
    assert "15m: 2026-11-24 10:00\u201310:15 UTC" in fields
    assert "*paid_search* -62% (1.14%), others normal" in texts(payload)
    [actions] = block(payload, "actions")
    assert [(e["text"]["text"], e["url"][:21]) for e in actions["elements"]] == [
        ("Dashboard", "http://127.0.0.1:3000"), ("Runbook", "https://github.com/kp")]


def test_text_fallback_for_notifications():
    payload = slack.render(make_notification())
    assert payload["text"].startswith(
        "[WARNING] conversion_rate on channel=paid_search: 1.14% vs benchmark 2.10%.")


def test_resolved_variant():
    payload = slack.render(make_notification(kind="resolved", value=0.031, contributors=[]))
    assert validate(payload) == (200, "ok")
    header = block(payload, "header")[0]["text"]["text"]
    assert header.startswith("\u2705 RESOLVED: conversion rate back to normal")
    assert "recovered" in texts(payload)
    assert payload["text"].startswith("[RESOLVED]")
    assert "Contributing" not in texts(payload)


def test_reminder_and_test_kinds_are_labelled():
    assert "still firing" in slack.header(make_notification(kind="reminder"))
    assert "test:" in slack.header(make_notification(kind="test"))
    assert slack.fallback_text(make_notification(kind="test")).startswith("[TEST]")


def test_whole_shop_and_missing_history():
    payload = slack.render(make_notification(dimension={}, week_ago=None, contributors=[],
                                             value=None))
    assert validate(payload) == (200, "ok")
    assert "whole shop" in block(payload, "header")[0]["text"]["text"]
    assert "no history" in texts(payload)
    assert "n/a" in texts(payload)


def test_values_are_formatted_by_kpi_kind():
    assert slack.fmt("conversion_rate", 0.0314) == "3.14%"
    assert slack.fmt("checkout_p95_seconds", 312.4) == "312 s"
    assert slack.fmt("orders", 1234.0) == "1,234"
    assert slack.fmt("revenue", 1234.5) == "1,234.50"
    assert slack.fmt_change(-0.62) == "-62%"


def test_long_texts_are_cut_to_slack_limits():
    payload = slack.render(make_notification(
        summary="x" * 10_000, rule="r" * 5000, dimension={"channel": "c" * 500},
        contributors=[Contributor("label" * 200, -0.5, 0.01) for _ in range(40)]))
    assert validate(payload) == (200, "ok")
    assert len(block(payload, "header")[0]["text"]["text"]) <= 150
    for section in block(payload, "section"):
        if "text" in section:
            assert len(section["text"]["text"]) <= 3000
        for field in section.get("fields", []):
            assert len(field["text"]) <= 2000
    assert len(payload["text"]) <= 3000
    assert payload["blocks"][1]["text"]["text"].endswith("\u2026")


def test_many_contributors_are_summarised():
    contributors = [Contributor(f"channel_{i}", -0.1 * i, None) for i in range(25)]
    line = slack.contributors_line(contributors, "conversion_rate")
    assert line.count("*channel_") == slack.MAX_CONTRIBUTORS
    assert line.endswith("and 15 more, others normal")


def test_block_count_is_capped_at_fifty_keeping_the_links():
    blocks = [{"type": "section", "text": slack.mrkdwn(f"s{i}")} for i in range(80)]
    blocks.append({"type": "actions", "elements": [slack.button("Runbook", "https://x")]})
    fitted = slack.fit(blocks)
    assert len(fitted) == 50
    assert fitted[-1]["type"] == "actions"
    assert "32 more blocks left out" in fitted[-2]["elements"][0]["text"]
    assert validate({"text": "t", "blocks": fitted}) == (200, "ok")


def test_user_text_is_escaped_for_mrkdwn():
    payload = slack.render(make_notification(summary="a <b> & c"))
    assert payload["blocks"][1]["text"]["text"] == "a &lt;b&gt; &amp; c"


def test_links_without_http_are_left_out():
    payload = slack.render(make_notification(dashboard_url="", runbook_url="docs/runbooks.md"))
    assert block(payload, "actions") == []
    assert validate(payload) == (200, "ok")


def test_a_goal_alert_names_the_goal_path_and_the_target():
    payload = slack.render(make_notification(
        rule="goal:paid_conversion", subject="goal", contributors=[], week_ago=None,
        benchmark=0.02, value=0.0175, summary="Goal paid_conversion at risk",
        details=["target 2.00% by 2026-11-24 (at least)", "status at risk"]))
    assert validate(payload) == (200, "ok")
    [header] = block(payload, "header")
    assert "conversion rate below goal \u00b7 channel=paid_search" in header["text"]["text"]
    fields = " ".join(f["text"] for b in block(payload, "section") for f in b.get("fields", []))
    assert "1.75% (below goal 2.00%)" in fields
    assert "*Goal*\ntarget 2.00% by 2026-11-24 (at least)" in fields
    resolved = slack.render(make_notification(kind="resolved", subject="goal path"))
    assert "back on track" in block(resolved, "header")[0]["text"]["text"]


def test_the_digest_is_one_line_per_goal():
    payload = slack.render(make_notification(
        kind="digest", rule="goals-digest", summary="Goals: progress on 2026-11-24",
        details=["a: orders 10 of 20 by 2026-11-30: on track", "b: nps 30 of 40: at risk <"]))
    assert validate(payload) == (200, "ok")
    assert block(payload, "header")[0]["text"]["text"] == "Goals: progress on 2026-11-24"
    [lines] = [b["text"]["text"] for b in block(payload, "section")]
    assert lines.endswith("on track\nb: nps 30 of 40: at risk &lt;")
    assert payload["text"].startswith("Goals: progress on 2026-11-24\na: orders")
