"""Ctrl-C and SIGTERM during a run: raised as exceptions, and held while native libraries initialise.

A run is stopped by raising an exception from the signal handlers that `signals_as_exceptions`
installs: SIGINT and SIGTERM (systemctl stop, a scheduler's timeout) then unwind the run, so no
staging folder and no lock are left, and the exit code is the CLI's (see `errors.Interrupted`).

Python runs a handler between bytecodes, and that can be inside an import that a C++ extension
drives (torch's); an exception there escapes through C++ and aborts the process (exit -6, lock
and staging folder left) instead of unwinding. Imports of torch and sentence-transformers
therefore run with the signals held (`signals_held`), and a signal that arrived meanwhile is
delivered as soon as the import is done.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from cluster.errors import Interrupted, Terminated

HELD = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted()


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextmanager
def _handlers(handlers: dict[signal.Signals, Callable[[int, Any], None]]) -> Iterator[None]:
    """Install `handlers` for the block and put back whatever was there before, even on error.
    Outside the main thread (where handlers cannot be set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Inside the block SIGINT raises `Interrupted` and SIGTERM raises `Terminated`, so that a
    stopped run unwinds through its `finally` clauses like any other failure."""
    with _handlers({signal.SIGINT: _raise_interrupted, signal.SIGTERM: _raise_terminated}):
        yield


@contextmanager
def signals_held() -> Iterator[None]:
    """Record SIGINT/SIGTERM instead of handling them inside the block; re-deliver the first one
    after it, to whatever handler was in place. Outside the main thread it does nothing."""
    pending: list[int] = []

    def record(signum: int, frame: Any) -> None:
        pending.append(signum)

    try:
        with _handlers({signum: record for signum in HELD}):
            yield
    finally:
        if pending:
            signal.raise_signal(pending[0])
