from streams.kpis.in_order_acks import InOrderAcks


def test_only_contiguous_runs_from_the_oldest_are_released():
    acks = InOrderAcks()
    for offset in range(5):
        acks.arrived(offset, f"e{offset}")
    assert acks.done(1) == []
    assert acks.done(3) == []
    assert acks.done(0) == ["e0", "e1"]
    assert acks.done(2) == ["e2", "e3"]
    assert acks.done(4) == ["e4"]
    assert len(acks) == 0
