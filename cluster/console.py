"""What a command-line run shows and keeps: log lines on stderr, and a traceback file for a crash.

The job logs through the `cluster` logger; the CLI decides how much of it a person sees. An
unexpected failure is our bug: its traceback goes to a file, so that stderr stays one line.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import tempfile
import traceback
from pathlib import Path


def setup_logging(quiet: bool, verbose: bool) -> None:
    """Send the `cluster` logger to stderr, timestamped: warnings only when quiet, debug when verbose."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("cluster")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def write_error_log(output_dir: Path) -> Path:
    """Write the traceback being handled to <output-dir>/logs, else the temp folder; return its path."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for folder in (output_dir / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"cluster-error-{stamp}.log"
            path.write_text(traceback.format_exc(), encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("(could not write a log file)")
