"""The fake Slack answers like Slack: tests that rely on it must be able to trust it."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.fakes.slack_server import Fault


def post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(url, timeout=5, **kwargs)


def test_accepts_a_message_and_records_it(slack_factory):
    slack = slack_factory()
    response = post(slack.url(), json={"text": "hello"})
    assert (response.status_code, response.text) == (200, "ok")
    [message] = slack.messages
    assert message.text == "hello"
    assert message.path == "/services/T0000/B0000/XXXXXXXX"


@pytest.mark.parametrize(("body", "error"), [
    (b"{not json", "invalid_payload"),
    (b"[1, 2]", "invalid_payload"),
    (b"{}", "no_text"),
    (b'{"text": ""}', "no_text"),
])
def test_rejects_what_slack_rejects(slack_factory, body, error):
    slack = slack_factory()
    response = post(slack.url(), content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.text) == (400, error)
    assert slack.messages == []
    assert slack.requests[-1].answer == error


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize("blocks", [
    [section("x")] * 51,
    [section("x" * 3001)],
    [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    [{"type": "nonsense"}],
    [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text",
                                                                  "text": "b" * 76}}]}],
    "not a list",
])
def test_rejects_blocks_past_slack_limits(slack_factory, blocks):
    slack = slack_factory()
    response = post(slack.url(), json={"text": "fallback", "blocks": blocks})
    assert (response.status_code, response.text) == (400, "invalid_blocks")


def test_accepts_blocks_at_the_limits(slack_factory):
    slack = slack_factory()
    blocks = [section("x" * 3000)] * 50
    response = post(slack.url(), json={"blocks": blocks})
    assert response.status_code == 200


def test_rate_limits_each_webhook_to_one_message_per_second(slack_factory):
    slack = slack_factory()
    assert post(slack.url("A"), json={"text": "1"}).status_code == 200
    limited = post(slack.url("A"), json={"text": "2"})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert post(slack.url("B"), json={"text": "other webhook"}).status_code == 200
    time.sleep(1.0)
    assert post(slack.url("A"), json={"text": "2"}).status_code == 200
    gap = slack.messages_for("A")[1].arrived_at - slack.messages_for("A")[0].arrived_at
    assert gap >= 1.0


def test_scripted_faults_come_in_order_then_it_goes_down_and_back(slack_factory):
    slack = slack_factory(min_interval=0)
    slack.script(Fault(429, retry_after=2), Fault(500), Fault(down_for=1.5))
    first = post(slack.url(), json={"text": "a"})
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert post(slack.url(), json={"text": "a"}).status_code == 500
    deadline = time.monotonic() + 5
    while not slack.is_down:  # the down period starts right after the 500 was answered
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(httpx.ConnectError):
        post(slack.url(), json={"text": "a"})
    deadline = time.monotonic() + 10
    while True:
        try:
            response = post(slack.url(), json={"text": "a"})
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the fake never came back"
            time.sleep(0.1)
    assert response.status_code == 200
    assert [m.text for m in slack.messages] == ["a"]


def test_fail_next_and_go_down(slack_factory):
    slack = slack_factory(min_interval=0)
    slack.fail_next(2, status=503)
    assert [post(slack.url(), json={"text": "x"}).status_code for _ in range(3)] == [503, 503, 200]
    slack.go_down(30)
    with pytest.raises(httpx.ConnectError):
        post(slack.url(), json={"text": "x"})


async def test_waits_for_messages_from_async_code(slack_factory):
    slack = slack_factory()
    async with httpx.AsyncClient() as client:
        await client.post(slack.url(), json={"text": "async"})
    [message] = await slack.messages_arrived(1, timeout=5)
    assert message.text == "async"
