"""A local HTTP server that behaves like a Slack incoming webhook, for tests.

It answers the way Slack documents its incoming webhooks (plain-text bodies, not JSON):
``200 ok``; ``400 invalid_payload`` for a body that is not a JSON object; ``400 no_text`` for
a message with neither ``text`` nor ``blocks``; ``400 invalid_blocks`` for a Block Kit payload
past Slack's limits (more than 50 blocks, a section text over 3000 characters, a header over
150, ...); ``429 rate_limited`` with ``Retry-After`` when one webhook receives more than about
one message per second (Slack: "no more than one message per second ... bursts allowed for
short periods"; the fake allows no burst, so a client that passes here passes Slack).

Faults are scripted in order: ``fail_next(2, status=429, retry_after=2)``, ``fail_next(1,
status=500)``, ``go_down(60)`` (really stops listening, so clients get "connection refused",
then listens again on the same port). ``script(...)`` chains them: the down period of a
script starts right after the fault before it was answered.

It runs in a thread (``http.server``), so sync tests, async tests and other processes can all
talk to it; ``wait_for_messages`` and ``await messages_arrived`` wait with a timeout.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Block Kit limits, from Slack's reference (api.slack.com/reference/block-kit).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_BLOCK_ID = 255
BLOCK_TYPES = {"section", "header", "divider", "context", "actions", "image", "rich_text",
               "markdown", "file", "input", "video"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


@dataclass(frozen=True)
class ReceivedMessage:
    """A message Slack accepted (200 ok)."""

    payload: dict[str, Any]
    path: str
    arrived_at: float  # time.monotonic(): compare arrivals with each other
    arrived_wall: float  # time.time(): compare with timestamps other processes wrote

    @property
    def text(self) -> str:
        return self.payload.get("text", "")


@dataclass(frozen=True)
class ReceivedRequest:
    """Every request, accepted or not, with the answer it got."""

    path: str
    body: bytes
    status: int
    answer: str
    arrived_at: float


@dataclass(frozen=True)
class Fault:
    status: int | None = None  # answer this status instead of handling the message ...
    retry_after: float | None = None
    down_for: float | None = None  # ... or stop listening for this many seconds
    answer: str | None = None  # the body; by default what Slack says for that status


def validate(payload: object) -> tuple[int, str]:
    """What Slack answers for this decoded body: (status, plain-text error) or (200, "ok")."""
    if not isinstance(payload, dict):
        return 400, "invalid_payload"
    text = payload.get("text")
    blocks = payload.get("blocks")
    if text is not None and not isinstance(text, str):
        return 400, "invalid_payload"
    if not text and not blocks and not payload.get("attachments"):
        return 400, "no_text"
    if blocks is not None and not _blocks_valid(blocks):
        return 400, "invalid_blocks"
    return 200, "ok"


def _text_ok(obj: object, limit: int, types: set[str] = TEXT_TYPES) -> bool:
    return (isinstance(obj, dict) and obj.get("type") in types
            and isinstance(obj.get("text"), str) and 0 < len(obj["text"]) <= limit)


def _blocks_valid(blocks: object) -> bool:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return False
    return all(_block_valid(block) for block in blocks)


def _block_valid(block: object) -> bool:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return False
    if len(str(block.get("block_id", ""))) > MAX_BLOCK_ID:
        return False
    kind = block["type"]
    if kind == "header":
        return _text_ok(block.get("text"), MAX_HEADER_TEXT, {"plain_text"})
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            return False
        if text is not None and not _text_ok(text, MAX_SECTION_TEXT):
            return False
        return fields is None or (isinstance(fields, list) and len(fields) <= MAX_SECTION_FIELDS
                                  and all(_text_ok(f, MAX_FIELD_TEXT) for f in fields))
    if kind == "context":
        elements = block.get("elements")
        return (isinstance(elements, list) and 0 < len(elements) <= MAX_CONTEXT_ELEMENTS
                and all(_text_ok(e, MAX_SECTION_TEXT) or (isinstance(e, dict) and e.get("type") == "image")
                        for e in elements))
    if kind == "actions":
        elements = block.get("elements")
        return (isinstance(elements, list) and 0 < len(elements) <= MAX_ACTIONS_ELEMENTS
                and all(_element_valid(e) for e in elements))
    return True


def _element_valid(element: object) -> bool:
    if not isinstance(element, dict):
        return False
    if element.get("type") == "button":
        url = element.get("url")
        return (_text_ok(element.get("text"), MAX_BUTTON_TEXT, {"plain_text"})
                and (url is None or (isinstance(url, str) and 0 < len(url) <= MAX_URL)))
    return "type" in element


class FakeSlack:
    """One fake Slack workspace; each URL path is one incoming webhook with its own rate limit."""

    def __init__(self, port: int = 0, min_interval: float = 1.0, host: str = "127.0.0.1"):
        self.host = host
        self.port = port
        self.min_interval = min_interval  # seconds between accepted messages on one webhook
        self.messages: list[ReceivedMessage] = []
        self.requests: list[ReceivedRequest] = []
        self._faults: deque[Fault] = deque()
        self._last_accepted: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._back_up: threading.Timer | None = None
        self._closed = False
        self.down_until: float | None = None  # monotonic time it listens again, while down

    # lifecycle

    def start(self) -> FakeSlack:
        self._listen()
        return self

    def stop(self) -> None:
        self._closed = True
        if self._back_up:
            self._back_up.cancel()
        self._unlisten()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, webhook: str = "T0000/B0000/XXXXXXXX") -> str:
        """An incoming-webhook URL; each distinct ``webhook`` is rate limited separately."""
        return f"http://{self.host}:{self.port}/services/{webhook}"

    # scripted faults

    def fail_next(self, count: int, status: int, retry_after: float | None = None) -> None:
        with self._lock:
            self._faults.extend(Fault(status=status, retry_after=retry_after) for _ in range(count))
            self._maybe_go_down()

    def go_down(self, seconds: float) -> None:
        """Stop listening now (connection refused) and listen again after ``seconds``."""
        with self._lock:
            self._faults.appendleft(Fault(down_for=seconds))
            self._maybe_go_down()

    def script(self, *faults: Fault) -> None:
        """Queue faults in order, e.g. ``script(Fault(429, 2), Fault(500), Fault(down_for=60))``."""
        with self._lock:
            self._faults.extend(faults)
            self._maybe_go_down()

    @property
    def is_down(self) -> bool:
        return self.down_until is not None

    # what arrived

    def messages_for(self, webhook: str) -> list[ReceivedMessage]:
        return [m for m in self.messages if m.path == f"/services/{webhook}"]

    def wait_for_messages(self, count: int, timeout: float = 30.0) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake Slack got {len(self.messages)} of {count} messages"
                                   f" in {timeout} s; requests: {self._request_summary()}")
            time.sleep(0.05)
        return list(self.messages)

    async def messages_arrived(self, count: int, timeout: float = 30.0) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake Slack got {len(self.messages)} of {count} messages"
                                   f" in {timeout} s; requests: {self._request_summary()}")
            await asyncio.sleep(0.05)
        return list(self.messages)

    def _request_summary(self) -> str:
        return ", ".join(f"{r.status} {r.answer}" for r in self.requests[-20:]) or "none"

    # server internals

    def _listen(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: one request per connection, so going down refuses the very next POST.
            protocol_version = "HTTP/1.0"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer, headers = fake._answer(self.path, body)
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet: the tests read fake.requests instead
                pass

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"fake-slack-{self.port}",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _unlisten(self) -> None:
        server = self._server
        if server is not None:
            server.shutdown()
            server.server_close()
            self._server = None

    def _answer(self, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
        now = time.monotonic()
        with self._lock:
            status, answer, headers = self._decide(path, body, now)
            self.requests.append(ReceivedRequest(path, body, status, answer, now))
            self._maybe_go_down()
        return status, answer, headers

    def _decide(self, path: str, body: bytes, now: float) -> tuple[int, str, dict[str, str]]:
        if not path.startswith("/services/"):
            return 404, "no_service", {}
        if self._faults and self._faults[0].status is not None:
            fault = self._faults.popleft()
            headers = ({"Retry-After": _seconds(fault.retry_after)}
                       if fault.retry_after is not None else {})
            answer = fault.answer or {400: "invalid_payload", 404: "no_service", 429: "rate_limited",
                                      500: "rollup_error"}.get(fault.status, "fault")
            return fault.status, answer, headers
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, "invalid_payload", {}
        status, answer = validate(payload)
        if status != 200:
            return status, answer, {}
        last = self._last_accepted.get(path)
        if last is not None and now - last < self.min_interval:
            wait = self.min_interval - (now - last)
            return 429, "rate_limited", {"Retry-After": _seconds(wait)}
        self._last_accepted[path] = now
        self.messages.append(ReceivedMessage(payload, path, now, time.time()))
        return 200, "ok", {}

    def _maybe_go_down(self) -> None:
        """Called with the lock held: start the down period at the head of the script."""
        if not self._faults or self._faults[0].down_for is None or self.is_down:
            return
        seconds = self._faults.popleft().down_for
        self.down_until = time.monotonic() + seconds
        # Handlers run in their own threads, never serve_forever's: stopping here is safe, and
        # the answer being written still reaches its client (only the listener closes).
        self._unlisten()
        self._back_up = threading.Timer(seconds, self._come_back)
        self._back_up.daemon = True
        self._back_up.start()

    def _come_back(self) -> None:
        if self._closed:
            return
        for _ in range(100):
            try:
                self._listen()
                break
            except OSError:  # the old socket is still closing
                time.sleep(0.05)
        with self._lock:
            self.down_until = None
            self._maybe_go_down()


def _seconds(value: float) -> str:
    # Retry-After is whole seconds (RFC 9110); round up so a client never retries too early.
    return str(max(1, int(-(-value // 1))))
