"""Holding Ctrl-C and SIGTERM while native libraries initialise.

The CLI stops a run by raising an exception from its signal handlers. Python runs a handler
between bytecodes, and that can be inside an import that a C++ extension drives (torch's); an
exception there escapes through C++ and aborts the process (exit -6, lock and staging folder left)
instead of unwinding. Imports of torch and sentence-transformers therefore run with the signals
held, and a signal that arrived meanwhile is delivered as soon as the import is done.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals_held() -> Iterator[None]:
    """Record SIGINT/SIGTERM instead of handling them inside the block; re-deliver the first one
    after it, to whatever handler was in place. Outside the main thread (where handlers cannot be
    set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def record(signum: int, frame: Any) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, record) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pending:
            signal.raise_signal(pending[0])
