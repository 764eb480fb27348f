"""cluster.signals: a signal that arrives while native code initialises is held, then delivered."""

from __future__ import annotations

import signal

import pytest

from cluster.signals import signals_held


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_inside_the_block_reaches_the_handler_only_after_it(signum):
    seen: list[str] = []

    def handler(number, frame):
        seen.append("handled")

    previous = signal.signal(signum, handler)
    try:
        with signals_held():
            signal.raise_signal(signum)
            seen.append("block finished")
        assert seen == ["block finished", "handled"]
        assert signal.getsignal(signum) is handler, "the handler in place before is back"
    finally:
        signal.signal(signum, previous)


def test_without_a_signal_nothing_is_delivered_and_handlers_are_restored():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with signals_held():
        pass
    assert {s: signal.getsignal(s) for s in before} == before
