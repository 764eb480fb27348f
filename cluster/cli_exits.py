"""How every command of the command line ends: failures mapped to exit codes, one line on stderr.

Exit codes: 0 success; 1 unexpected failure (traceback in a log file whose path is printed);
2 usage, config or input error (one line saying what to fix); 3 another run holds the output
folder's lock; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, NoReturn

import typer

from cluster.console import write_error_log
from cluster.errors import Interrupted, RunLocked, Terminated, UserError
from cluster.signals import signals_as_exceptions

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then exit with `code`."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def exit_codes(log_folder: Callable[[], Path | None], written: Callable[[], str]) -> Iterator[None]:
    """Run a command's work with Ctrl-C and SIGTERM raised as exceptions (so that they unwind it:
    no staging folder, no lock left) and every failure turned into its exit code and one line.
    `written()` says what was written when it stopped; `log_folder()` is the output folder, whose
    `logs/` gets the traceback of an unexpected failure (None: the default output folder)."""
    with signals_as_exceptions():
        try:
            yield
        except UserError as exc:
            fail(f"error: {exc}", EXIT_USAGE)
        except RunLocked as exc:
            fail(f"error: {exc}", EXIT_LOCKED)
        except (Interrupted, KeyboardInterrupt):
            fail(f"interrupted; {written()}", EXIT_INTERRUPTED)
        except Terminated:
            fail(f"terminated (SIGTERM); {written()}", EXIT_TERMINATED)
        except Exception as exc:  # anything else is our bug: keep the traceback, keep stderr short
            from cluster.config import OutputConfig

            path = write_error_log(log_folder() or Path(OutputConfig().dir))
            fail(f"unexpected error: {type(exc).__name__}: {exc}; traceback written to {path}", EXIT_FAILURE)


def folders_written(folders: list[Path]) -> str:
    """What a backfill had written when it stopped."""
    if not folders:
        return "no run folder was written"
    names = ", ".join(folder.name for folder in folders)
    return f"{len(folders)} run folder{'s' if len(folders) > 1 else ''} complete ({names})"
