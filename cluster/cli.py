"""Command line: parse arguments, call the library, map failures to exit codes.

Exit codes: 0 success; 1 unexpected failure (traceback in a log file whose path is printed);
2 usage, config or input error (one line saying what to fix); 3 another run holds the output
folder's lock; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import List, Optional

import typer

from cluster import __version__
from cluster.errors import RunLocked, UserError

app = typer.Typer(
    help="Turn a week of news headlines into labelled topic tables.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("cluster")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143


class Terminated(BaseException):
    """SIGTERM (e.g. `systemctl stop`), raised so that staging folders and the lock are cleaned up."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"headline-cluster {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
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


def _what_was_written(folder: Optional[Path]) -> str:
    return f"the run folder {folder} is complete" if folder is not None else "no run folder was written"


def _error_log(output_dir: Path) -> Path:
    """Where an unexpected failure's traceback goes: <output-dir>/logs, else the temp folder."""
    import tempfile

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


def schedule_flags(week: Optional[str], run_date: Optional[str], today: Optional[dt.date] = None) -> tuple[dict, Optional[str]]:
    """Config values, and the run name, that --week and --run-date stand for.

    --week 2026-W48 (or `last`: the last complete ISO week, UTC) selects Monday to Sunday and names
    the run `2026-W48`, so rerunning a week replaces its run. --run-date sets input.run_date.
    """
    from cluster.errors import ConfigError
    from cluster.schedule import parse_week, week_of

    if week is not None and run_date is not None:
        raise ConfigError("give --week or --run-date, not both")
    if week is not None:
        today = today or dt.datetime.now(dt.timezone.utc).date()
        chosen = week_of(today - dt.timedelta(days=7)) if week.strip().lower() == "last" else parse_week(week)
        return {"input": {"since": chosen.since, "until": chosen.until, "last_days": None}}, chosen.name
    if run_date is not None:
        try:
            day = dt.date.fromisoformat(run_date.strip())
        except ValueError:
            raise ConfigError(f"--run-date {run_date!r}: use YYYY-MM-DD, e.g. 2026-11-30") from None
        return {"input": {"run_date": day}}, None
    return {}, None


def name_by_run_date(cfg) -> str:
    """For --run-date: without a window in the config, select the ISO week before that date.
    The run is named `2026-W48` when its window is exactly one ISO week, else `SINCE_UNTIL`."""
    from cluster.clean import resolve_window
    from cluster.schedule import week_of

    if not cfg.input.has_window:
        before = week_of(cfg.input.run_date - dt.timedelta(days=7))
        cfg.input.since, cfg.input.until = before.since, before.until
    window = resolve_window(cfg.input)
    week = week_of(window.since) if window and window.since else None
    if week is not None and (week.since, week.until) == (window.since, window.until):
        return week.name
    return f"{window.since or 'start'}_{window.until or 'end'}"


def load_run_config(
    config: Optional[Path],
    inputs: List[str],
    output_dir: Optional[Path],
    run_id: Optional[str],
    sets: List[str],
    extra: Optional[dict] = None,
):
    """The config file (or the defaults), then --set, then the dedicated flags."""
    from cluster.config import load_config

    flags: dict = {section: dict(values) for section, values in (extra or {}).items()}
    if inputs:
        flags.setdefault("input", {})["path"] = inputs[0] if len(inputs) == 1 else list(inputs)
    if output_dir is not None:
        flags.setdefault("output", {})["dir"] = str(output_dir)
    if run_id is not None:
        flags.setdefault("output", {})["run_id"] = run_id
    return load_config(config, sets, flags)


def _run_job(
    config: Optional[Path],
    inputs: List[str],
    output_dir: Optional[Path],
    run_id: Optional[str],
    sets: List[str],
    quiet: bool,
    verbose: bool,
    week: Optional[str] = None,
    run_date: Optional[str] = None,
    previous: Optional[str] = None,
    score_against: Optional[tuple[str, Optional[str]]] = None,
) -> None:
    """Shared body of `run` and `evaluate`: validate, lock, run, publish, report; map errors to exit codes."""
    _setup_logging(quiet, verbose)
    started = time.perf_counter()
    out = output_dir or Path("outputs")
    evaluation = None
    folder: Optional[Path] = None
    # SIGTERM (systemctl stop, a scheduler's timeout) unwinds like Ctrl-C: no staging folder, no lock left
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        from cluster.pipeline import (
            default_run_id, fingerprint, prepare_input, run as run_pipeline, withhold_columns, write_result,
        )
        from cluster.schedule import RunLock, prune_runs
        from cluster.track import find_previous_run

        extra, week_name = schedule_flags(week, run_date)
        if previous is not None:
            extra.setdefault("tracking", {})["previous"] = previous
        cfg = load_run_config(config, inputs, output_dir, run_id, sets, extra)
        out = Path(cfg.output.dir)
        by_date = name_by_run_date(cfg) if run_date is not None else None
        name = cfg.output.run_id or week_name or by_date or default_run_id()
        # input is checked before the lock is taken: a bad file creates nothing in the output folder
        prepared = prepare_input(cfg)
        held_out = None
        if score_against is not None:
            # labels leave the table before any stage runs, so nothing can learn from them
            prepared, held_out = withhold_columns(prepared, [c for c in score_against if c], cfg.input.text_column)
        with RunLock(out):
            counts = prepared.counts
            log.info(
                "read %d rows: %d outside the window, %d rejected, %d accepted (%d distinct)",
                counts["read"], counts["outside_window"], counts["rejected"], counts["accepted"], counts["unique"],
            )
            window_until = str(prepared.window.until or "") if prepared.window else ""
            previous_run = find_previous_run(out, name, cfg.tracking.previous, window_until, fingerprint(cfg, prepared))
            if previous_run.run_id:
                log.info("matching topics against the previous run %s", previous_run.run_id)
            result = run_pipeline(cfg, prepared, name, previous=previous_run)
            extra_files = {}
            if score_against is not None:
                from cluster.evaluate import evaluate_topics
                from cluster.write import write_json

                label_column, category_column = score_against
                evaluation = evaluate_topics(
                    result.headlines["topic_id"].to_numpy(),
                    held_out[label_column],
                    held_out[category_column] if category_column else None,
                    label_column=label_column,
                    category_column=category_column,
                )
                extra_files["evaluation.json"] = lambda path: write_json(evaluation.to_dict(), path)
            folder = write_result(
                result, out, name, total_seconds=time.perf_counter() - started, extra_writers=extra_files
            )
            prune_runs(out, cfg.output.keep_runs, name)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE)
    except RunLocked as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_LOCKED)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; {_what_was_written(folder)}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    except Terminated:
        typer.echo(f"terminated (SIGTERM); {_what_was_written(folder)}", err=True)
        raise typer.Exit(EXIT_TERMINATED)
    except Exception as exc:  # anything else is our bug: keep the traceback, keep stderr short
        path = _error_log(out)
        typer.echo(f"unexpected error: {type(exc).__name__}: {exc}; traceback written to {path}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous_handler)
    manifest = result.manifest
    if evaluation is not None:
        from cluster.evaluate import format_evaluation

        typer.echo(format_evaluation(evaluation))
    typer.echo(
        f"{manifest['topics']} topics from {manifest['counts']['accepted']} headlines; "
        f"{manifest['unclustered_share']:.1%} unclustered; {manifest['counts']['rejected']} rejected"
    )
    typer.echo(str(folder))


CONFIG_HELP = "YAML config file; without it the built-in defaults apply."
INPUT_HELP = "Input file, folder or glob (repeatable); overrides input.path."
OUTPUT_HELP = "Folder for run folders; overrides output.dir."
RUN_ID_HELP = "Name of the run folder; default: the --week name, else ISO week and UTC time."
SET_HELP = "Override one setting, e.g. --set clustering.min_cluster_size=20 (repeatable)."
WEEK_HELP = "ISO week to cluster, e.g. 2026-W48 (Monday to Sunday), or `last`; names the run after the week."
RUN_DATE_HELP = "Reference date YYYY-MM-DD: last_days count back from it; without a window, the ISO week before it."
PREVIOUS_HELP = "Run id to compare topics with (default: the newest complete run in the output folder; `none` for no comparison)."


@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    input: List[str] = typer.Option([], "--input", "-i", help=INPUT_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help=OUTPUT_HELP),
    run_id: Optional[str] = typer.Option(None, "--run-id", help=RUN_ID_HELP),
    set_: List[str] = typer.Option([], "--set", help=SET_HELP),
    week: Optional[str] = typer.Option(None, "--week", help=WEEK_HELP),
    run_date: Optional[str] = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
    previous: Optional[str] = typer.Option(None, "--previous", help=PREVIOUS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging on stderr."),
) -> None:
    """Cluster a week of headlines and write topics.csv, headlines.csv, changes.csv, rejected.csv, run.json and the review files (topics.xlsx, topic_map.png, topic_map.html, report.html).

    On success the last line on stdout is the path of the run folder.
    """
    _run_job(config, input, output_dir, run_id, set_, quiet, verbose, week, run_date, previous)


@app.command()
def evaluate(
    label_column: str = typer.Option(..., "--label-column", help="Column with the true grouping, e.g. story."),
    category_column: Optional[str] = typer.Option(None, "--category-column", help="Coarser labels; adds homogeneity against them."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
    input: List[str] = typer.Option([], "--input", "-i", help=INPUT_HELP),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help=OUTPUT_HELP),
    run_id: Optional[str] = typer.Option(None, "--run-id", help=RUN_ID_HELP),
    set_: List[str] = typer.Option([], "--set", help=SET_HELP),
    week: Optional[str] = typer.Option(None, "--week", help=WEEK_HELP),
    run_date: Optional[str] = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
    previous: Optional[str] = typer.Option(None, "--previous", help=PREVIOUS_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging on stderr."),
) -> None:
    """Run the job exactly as `run` does, then score the topics against a label column.

    The label columns are removed before any stage runs. Prints NMI, ARI, V-measure, homogeneity and completeness, with unassigned headlines counted as one cluster and as singletons, and writes them to evaluation.json in the run folder.
    """
    _run_job(
        config, input, output_dir, run_id, set_, quiet, verbose, week, run_date, previous,
        score_against=(label_column, category_column),
    )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
