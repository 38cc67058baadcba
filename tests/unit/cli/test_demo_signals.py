"""SIGHUP and SIGTERM take the demo's Ctrl-C path (its cleanup stops what it started); one that
arrives while a child is being spawned waits until the child is on the list of things to stop.
The whole path, with real processes: tests/integration/test_demo.py."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from kpiwatch import demo


@pytest.fixture
def stop_handlers():
    previous = {signum: signal.getsignal(signum) for signum in demo.STOP_SIGNALS}
    demo._stop_on_signals()
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_sigterm_raises_the_ctrl_c_path(stop_handlers):
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs as soon as kill returns


def test_a_signal_during_a_spawn_waits_for_the_end_of_it(stop_handlers):
    spawned = []
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), demo._signals_deferred():
        spawned.append(subprocess.Popen(["sleep", "30"], start_new_session=True))
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # bytecodes on which the handler runs, and must not raise
            pass
        spawned.append("the block ran to its end")
    child = spawned[0]
    try:
        assert spawned[1] == "the block ran to its end"
        # The child does not inherit a blocked mask: the demo's SIGTERM reaches it.
        blocked = next(line for line in Path(f"/proc/{child.pid}/status").read_text().splitlines()
                       if line.startswith("SigBlk:"))
        assert int(blocked.split()[1], 16) & (1 << (signal.SIGTERM - 1)) == 0
    finally:
        child.kill()
        child.wait()
