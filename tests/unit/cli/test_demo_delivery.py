"""`kpiwatch-demo --until-alert` stops only once the alert's message has left the outbox (a CI
run stopped the worker between "firing" and the delivery, and the message was not shown)."""

from kpiwatch import demo


class Reader:
    def __init__(self, depths):
        self.depths = list(depths)

    def undelivered(self) -> int:
        depth = self.depths.pop(0)
        if isinstance(depth, Exception):
            raise depth
        return depth


def test_waits_until_the_outboxes_are_empty(monkeypatch):
    monkeypatch.setattr(demo.time, "sleep", lambda s: None)
    reader = Reader([1, ConnectionError("redis restarting"), 1, 0, 5])
    demo._wait_for_delivery(reader)
    assert reader.depths == [5]  # stopped at the first empty read


def test_gives_up_after_the_timeout_and_says_where_the_message_is(monkeypatch, capsys):
    monkeypatch.setattr(demo.time, "sleep", lambda s: None)
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(demo.time, "monotonic", lambda: next(clock))
    demo._wait_for_delivery(Reader([1] * 100), timeout=60)
    assert "stays in the outbox" in capsys.readouterr().out
