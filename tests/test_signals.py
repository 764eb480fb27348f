"""cluster.signals: inside a run a signal is an exception; while native code initialises it is held, then delivered."""

from __future__ import annotations

import signal

import pytest

from cluster.errors import Interrupted, Terminated
from cluster.signals import signals_as_exceptions, signals_held


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


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, Interrupted), (signal.SIGTERM, Terminated)])
def test_inside_a_run_a_signal_is_an_exception_and_the_handler_comes_back(signum, raised):
    before = signal.getsignal(signum)
    with pytest.raises(raised):
        with signals_as_exceptions():
            signal.raise_signal(signum)
    assert signal.getsignal(signum) is before


def test_a_held_signal_is_delivered_even_when_the_block_fails():
    with pytest.raises(Terminated):  # the signal, delivered after the block, wins over its error
        with signals_as_exceptions():
            with signals_held():
                signal.raise_signal(signal.SIGTERM)
                raise ValueError("the import failed")
