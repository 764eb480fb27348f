"""Command line: parse arguments, call `cluster.jobs`, map failures to exit codes.

Exit codes: 0 success; 1 unexpected failure (traceback in a log file whose path is printed);
2 usage, config or input error (one line saying what to fix); 3 another run holds the output
folder's lock; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, Callable, List, Optional

import typer

from cluster import __version__
from cluster.errors import Interrupted, RunLocked, Terminated, UserError

app = typer.Typer(
    help="Turn a week of news headlines into labelled topic tables.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143

# The options `run` and `evaluate` share, declared once.
ConfigOption = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="YAML config file; without it the built-in defaults apply.")
]
InputOption = Annotated[
    List[str], typer.Option("--input", "-i", help="Input file, folder or glob (repeatable); overrides input.path.")
]
OutputOption = Annotated[
    Optional[Path], typer.Option("--output-dir", "-o", help="Folder for run folders; overrides output.dir.")
]
RunIdOption = Annotated[
    Optional[str],
    typer.Option("--run-id", help="Name of the run folder; default: the --week name, else ISO week and UTC time."),
]
SetOption = Annotated[
    List[str],
    typer.Option("--set", help="Override one setting, e.g. --set clustering.min_cluster_size=20 (repeatable)."),
]
WeekOption = Annotated[
    Optional[str],
    typer.Option(
        "--week", help="ISO week to cluster, e.g. 2026-W48 (Monday to Sunday), or `last`; names the run after the week."
    ),
]
RunDateOption = Annotated[
    Optional[str],
    typer.Option(
        "--run-date",
        help="Reference date YYYY-MM-DD: last_days count back from it; without a window, the ISO week before it.",
    ),
]
PreviousOption = Annotated[
    Optional[str],
    typer.Option(
        "--previous",
        help="Run id to compare topics with (default: the newest complete run in the output folder; "
        "`none` for no comparison).",
    ),
]
SchedulerOption = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="Where the work runs: none (this process), local (a Dask LocalCluster) or a Dask scheduler's "
        "address such as tcp://10.0.0.5:8786; overrides compute.scheduler. Dask: pip install -e '.[dask]'.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging on stderr.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"headline-cluster {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Turn a week of news headlines into labelled topic tables."""


def _setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("cluster")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _raise_terminated(signum: int, frame: Optional[FrameType]) -> None:
    raise Terminated()


def _raise_interrupted(signum: int, frame: Optional[FrameType]) -> None:
    raise Interrupted()


def _error_log(output_dir: Path) -> Path:
    """Where an unexpected failure's traceback goes: <output-dir>/logs, else the temp folder."""
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


def _execute(
    choices: dict[str, Any], quiet: bool, verbose: bool, score_against: Optional[tuple[str, Optional[str]]] = None
) -> None:
    """Plan and run the week; print the scores, a summary and the run folder; map errors to exit codes."""
    from cluster.jobs import plan_week, run_plan

    _setup_logging(quiet, verbose)
    out = Path(choices.get("output_dir") or "outputs")
    written = ["no run folder was written"]  # until the job says it has published the folder
    # SIGINT and SIGTERM (systemctl stop, a scheduler's timeout) unwind the run: no staging folder,
    # no lock left. Both raise our own exceptions, so the exit code is ours (see errors.Interrupted).
    in_main_thread = threading.current_thread() is threading.main_thread()
    handlers = {signal.SIGINT: _raise_interrupted, signal.SIGTERM: _raise_terminated} if in_main_thread else {}
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        plan = plan_week(**choices)
        out = plan.output_dir
        week = run_plan(
            plan,
            score_against=score_against,
            published=lambda folder: written.append(f"the run folder {folder} is complete"),
        )
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE)
    except RunLocked as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_LOCKED)
    except (Interrupted, KeyboardInterrupt):
        typer.echo(f"interrupted; {written[-1]}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    except Terminated:
        typer.echo(f"terminated (SIGTERM); {written[-1]}", err=True)
        raise typer.Exit(EXIT_TERMINATED)
    except Exception as exc:  # anything else is our bug: keep the traceback, keep stderr short
        path = _error_log(out)
        typer.echo(f"unexpected error: {type(exc).__name__}: {exc}; traceback written to {path}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if week.evaluation is not None:
        from cluster.evaluate import format_evaluation

        typer.echo(format_evaluation(week.evaluation))
    typer.echo(week.summary())
    typer.echo(str(week.folder))


def _shared_options(
    config: ConfigOption = None,
    input: InputOption = [],
    output_dir: OutputOption = None,
    run_id: RunIdOption = None,
    set_: SetOption = [],
    week: WeekOption = None,
    run_date: RunDateOption = None,
    previous: PreviousOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """The options every week command takes; only this signature is used (see `week_command`)."""


def week_command(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the shared options after its own: Typer reads a command's options from its
    signature, and the command receives them as keyword arguments."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind != p.VAR_KEYWORD]
    shared = list(inspect.signature(_shared_options, eval_str=True).parameters.values())
    command.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
    return command


def _job_choices(options: dict[str, Any]) -> tuple[dict[str, Any], bool, bool]:
    """`plan_week`'s keyword arguments, and the quiet and verbose flags."""
    choices = {
        name: options[name]
        for name in ("config", "input", "output_dir", "run_id", "week", "run_date", "previous", "scheduler")
    }
    return {**choices, "overrides": options["set_"]}, options["quiet"], options["verbose"]


RUN_HELP = (
    "Cluster a week of headlines and write topics.csv, headlines.csv, changes.csv, rejected.csv, run.json "
    "and the review files (topics.xlsx, topic_map.png, topic_map.html, report.html).\n\n"
    "On success the last line on stdout is the path of the run folder."
)
EVALUATE_HELP = (
    "Run the job exactly as `run` does, then score the topics against a label column.\n\n"
    "The label columns are removed before any stage runs. Prints NMI, ARI, V-measure, homogeneity and "
    "completeness, with unassigned headlines counted as one cluster and as singletons, and writes them to "
    "evaluation.json in the run folder."
)


@app.command(help=RUN_HELP)
@week_command
def run(**options: Any) -> None:
    """`cluster run`: the weekly job."""
    _execute(*_job_choices(options))


@app.command(help=EVALUATE_HELP)
@week_command
def evaluate(
    label_column: Annotated[str, typer.Option("--label-column", help="Column with the true grouping, e.g. story.")],
    category_column: Annotated[
        Optional[str], typer.Option("--category-column", help="Coarser labels; adds homogeneity against them.")
    ] = None,
    **options: Any,
) -> None:
    """`cluster evaluate`: the weekly job, scored against known labels."""
    _execute(*_job_choices(options), score_against=(label_column, category_column))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
