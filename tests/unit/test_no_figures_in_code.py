"""No benchmark figures or session history in the package code's comments and docstrings.

Comments and docstrings say why the code is as it is; figures measured on one machine on one
day go stale there. They belong in docs/benchmarks.md (current figures) and CHANGELOG.md
(history). Comments are read with ``tokenize``, docstrings with ``ast`` (the first string of a
module, class or function, and any other bare string statement, such as an attribute's
docstring); consecutive comment lines, and a docstring's lines, are read as one text, so a
figure broken across lines is still found.

The rule (NUM is a number such as ``12``, ``12.6`` or ``5,800``). A text quotes a figure when
it has:

1. NUM followed by ``µs`` or ``us``: nothing in the code is configured in microseconds;
2. NUM followed by ``events/s`` or ``messages/s`` (or "events a second"): a throughput;
3. NUM followed by ``ms`` with a measurement marker in the 60 characters before it (``p50``,
   ``p99``, ``median``, ``measured``, ``took``, ``gave``, ``about``, ``against``, ``->``), or
   as a range (``86-94 ms``); not when ``target`` is in those 60 characters. A constant such
   as "waits 20 ms" or "for 10 ms" passes;
4. NUM followed within three words by ``per event`` ("1.4 changelog records per event");
5. ``session N``, unless a unit of time follows ("a session 30 min long" passes);
6. ``measured`` within three words of NUM, either side;
7. NUM ``%`` of a worker's time, samples or CPU (a profile's share); a rate such as "within
   10 % of last week" passes;
8. ``was NUM ... now NUM`` (a figure before and after a change).

Timeouts ("30 min", "5 s"), limits ("130 kB", "512 KiB"), sizes and shares in the model of a
shop ("3 % of sessions convert") are not figures under this rule.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("kpiwatch", "models", "streams", "metrics", "alerts", "prometheus", "grafana",
            "simulator", "devstack")

NUM = r"(?<![\w.])\d[\d,]*(?:\.\d+)?"
_NUM = r"\d[\d,]*(?:\.\d+)?"  # the same, where the lookbehind would be in the way
MS_MARKER = re.compile(r"\b(?:p\d{2}|median|measured|took|gave|about|against)\b|->", re.I)
RULES = (
    re.compile(NUM + r"\s*(?:µs|us)\b"),
    re.compile(NUM + r"\s*(?:events?|messages?)\s*(?:/\s*s\b|a\s+second\b)", re.I),
    re.compile(NUM + r"\s*[-–]\s*" + _NUM + r"\s*ms\b"),
    re.compile(NUM + r"(?:\s+[\w/]+){0,3}?\s+per\s+event\b", re.I),
    re.compile(r"\bsessions?\s+\d+\b(?!\s*(?:ms|s|sec|seconds?|min|minutes?|h|hours?|days?)\b)",
               re.I),
    re.compile(r"\bmeasured\b(?:\W+\w+){0,2}?\W+" + _NUM
               + "|" + NUM + r"(?:\W+[^\W\d]\w*){0,2}?\W+measured\b", re.I),
    re.compile(NUM + r"\s*%\s+of\s+(?:[\w']+\s+){0,4}?(?:time|samples|cpu)\b", re.I),
    re.compile(r"\bwas\s+" + _NUM + r"[^.;]{0,40}?\bnow\s+\d", re.I),
)
MS = re.compile(NUM + r"\s*ms\b")


def figures_in(text: str) -> list[tuple[int, str]]:
    """(offset, figure) of each benchmark figure ``text`` quotes under the rule above."""
    found = [(match.start(), match.group(0)) for rule in RULES for match in rule.finditer(text)]
    for match in MS.finditer(text):
        before = text[max(0, match.start() - 60):match.start()]
        if MS_MARKER.search(before) and "target" not in before.lower():
            found.append((match.start(), match.group(0)))
    return sorted(found)


def _texts(source: str) -> list[tuple[int, str]]:
    """(first line, text) of every comment block and docstring of a module's source; a
    comment block's lines are joined by newlines, so a text's lines are the source's."""
    texts: list[tuple[int, str]] = []
    block: list[tuple[int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            if block and token.start[0] != block[-1][0] + 1:
                texts.append((block[0][0], "\n".join(text for _, text in block)))
                block = []
            block.append((token.start[0], token.string.lstrip("#")))
    if block:
        texts.append((block[0][0], "\n".join(text for _, text in block)))
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            texts.append((node.lineno, node.value.value))
    return texts


def figures_in_source(source: str) -> list[tuple[int, str]]:
    """(line, figure) of each figure in a module's comments and docstrings."""
    return sorted((first + text.count("\n", 0, offset), " ".join(figure.split()))
                  for first, text in _texts(source) for offset, figure in figures_in(text))


def _package_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPO / package).rglob("*.py"))


def test_no_benchmark_figures_in_comments_or_docstrings():
    found = [f"{path.relative_to(REPO)}:{line}: {figure!r}" for path in _package_files()
             for line, figure in figures_in_source(path.read_text())]
    assert not found, ("benchmark figures or history in comments or docstrings (give the reason "
                       "only; figures go to docs/benchmarks.md, history to CHANGELOG.md):\n"
                       + "\n".join(found))


def test_the_scan_reads_every_package():
    assert {path.relative_to(REPO).parts[0] for path in _package_files()} == set(PACKAGES)


@pytest.mark.parametrize("text", [
    "murmur2 in Python is 3 µs; a shop's active users repeat",
    "0.29 against 0.76 us.",
    "capped the worker at a few hundred events/s, now 11,700 events/s",
    "drained slower than a live shop's 2,000 messages/s made them",
    "a per-event p50 of 134 ms at 3,300 events a second",
    "20 ms gave 86-94 ms",
    "checkpoints took about 60 ms each",
    "1.4 changelog records per event",
    "29 window increments per event before",
    "as written before session 10: the latest start per size",
    "Session 7's code fell behind",
    "measured 4,046 on this machine",
    "4,046, measured on the 2-core machine",
    "about 21 % of a busy worker's samples",
    "a new user's 38 windows were 9 % of a busy worker's time",
    "the p99 was 3.2 s, now 1.1 s",
])
def test_figures_are_found(text):
    assert figures_in(text), text


@pytest.mark.parametrize("text", [
    "A session without session_id ends after 30 min of inactivity.",
    "Ingestion reports its progress every 5 s.",
    "The default admits a full GA4 Measurement Protocol request (25 events, 130 kB).",
    "Batch table changelog writes and forwarded events for 10 ms.",
    "The broker holds each fetch up to 20 ms.",
    "Finer from 0.2 to 0.75 s, around the p99 target of 250 ms.",
    "retry with exponential backoff and jitter (1 s doubling to 30 s)",
    "a counter is bumped once per event, not once per window",
    "about 3 % of sessions convert; back within 10 % of last week",
    "Measured before decoding: a huge message costs nothing to refuse.",
    "a session 30 min after its last event",
    "512 KiB per batch message, up to 2000 messages per poll",
    "the sigma of the underlying normal (0.5 keeps 95 % within about 2.3x the median)",
])
def test_constants_are_not_figures(text):
    assert not figures_in(text), figures_in(text)


def test_a_figure_is_named_by_its_line_even_across_lines():
    source = ('"""A module.\n\nIt reads 12.6 µs an event.\n"""\n\n'
              "X = 1  # was 5 s, now 2 s\n\n"
              "# A comment on two lines: 1.4 changelog\n# records per event.\nY = 2\n")
    assert figures_in_source(source) == [
        (3, "12.6 µs"), (6, "was 5 s, now 2"), (8, "1.4 changelog records per event")]
