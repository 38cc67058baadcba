"""``python -m simulator``: options, help and errors."""

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from simulator.cli import main
from simulator.sinks.jsonl import read_jsonl

pytestmark = pytest.mark.unit

_ROOT = Path(__file__).resolve().parents[3]
_RUN = ["--start", "2026-11-20T12:00:00Z", "--duration", "2m", "--flat"]


def test_writes_a_reproducible_file(tmp_path):
    first, again = tmp_path / "first.jsonl", tmp_path / "again.jsonl"
    assert main([*_RUN, "--out", str(first), "--format", "mixed"]) == 0
    assert main([*_RUN, "--out", str(again), "--format", "mixed"]) == 0
    assert first.read_bytes() == again.read_bytes()
    messages = list(read_jsonl(first))
    assert len(messages) == pytest.approx(20 * 120, rel=0.25)


def test_rate_seed_and_incidents_change_the_output(tmp_path):
    base, other = tmp_path / "base.jsonl", tmp_path / "other.jsonl"
    main([*_RUN, "--out", str(base)])
    main(
        [*_RUN, "--out", str(other), "--rate", "40", "--seed", "2", "--incident", "bad-events@0+1m"]
    )
    assert len(list(read_jsonl(other))) > 1.5 * len(list(read_jsonl(base)))


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--incident", "meltdown@0+1m"], "unknown kind 'meltdown'"),
        (["--duration", "soon"], "--duration: 'soon' is not a duration"),
        (["--start", "2026-11-20T12:00:00"], "--start: '2026-11-20T12:00:00' needs an offset"),
        (["--start", "yesterday"], "is not ISO 8601"),
        (["--timezone", "Mars/Olympus"], "unknown IANA time zone"),
        (["--rate", "0"], "--rate must be more than 0"),
        (["--duration", "0"], "cannot be written to a file"),
        (["--speed", "-1"], "--speed must be 0 or more"),
    ],
)
def test_bad_options_stop_with_a_clear_message(tmp_path, capsys, arguments, complaint):
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path / "x.jsonl"), *arguments])
    assert stopped.value.code == 2
    assert complaint in capsys.readouterr().err


def test_help_explains_options_incidents_and_the_file_format():
    help_text = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in (
        "--rate",
        "--duration",
        "--seed",
        "--format",
        "--shape",
        "--incident",
        "--speed",
        "--out",
        "--start",
        "--bootstrap-servers",
        "--replay",
    ):
        assert option in help_text
    for kind in (
        "checkout-slowdown",
        "payment-outage",
        "conversion-drop",
        "traffic-spike",
        "bad-events",
    ):
        assert kind in help_text
    assert '{"stream": "cart"' in help_text
    assert "{kpiwatch,spec}" in help_text
    assert "Payment Info Entered" in help_text and "session_start" in help_text


def test_the_spec_shape_writes_other_messages_of_the_same_traffic(tmp_path):
    kpiwatch, spec, again = tmp_path / "k.jsonl", tmp_path / "s.jsonl", tmp_path / "s2.jsonl"
    assert main([*_RUN, "--out", str(kpiwatch), "--format", "mixed"]) == 0
    assert main([*_RUN, "--out", str(spec), "--format", "mixed", "--shape", "spec"]) == 0
    assert main([*_RUN, "--out", str(again), "--format", "mixed", "--shape", "spec"]) == 0
    assert spec.read_bytes() == again.read_bytes()
    assert spec.read_bytes() != kpiwatch.read_bytes()
    # The same traffic: the same canonical messages, the same message ids.
    def canonical(path):
        return [m for m in read_jsonl(path) if "event_id" in orjson.loads(m.value)]

    assert canonical(spec) and canonical(spec) == canonical(kpiwatch)


def test_an_unknown_shape_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x.jsonl"), "--shape", "real"])
    assert "invalid choice: 'real'" in capsys.readouterr().err
