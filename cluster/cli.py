"""Command line: parse arguments, call the library, map failures to exit codes.

Exit codes: 0 success; 1 unexpected failure (traceback in a log file whose path is printed);
2 usage, config or input error (one line saying what to fix); 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import List, Optional

import typer

from cluster import __version__
from cluster.errors import UserError

app = typer.Typer(
    help="Turn a week of news headlines into labelled topic tables.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("cluster")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def load_run_config(
    config: Optional[Path], inputs: List[str], output_dir: Optional[Path], run_id: Optional[str], sets: List[str]
):
    """The config file (or the defaults), then --set, then the dedicated flags."""
    from cluster.config import load_config

    flags: dict = {}
    if inputs:
        flags.setdefault("input", {})["path"] = inputs[0] if len(inputs) == 1 else list(inputs)
    if output_dir is not None:
        flags.setdefault("output", {})["dir"] = str(output_dir)
    if run_id is not None:
        flags.setdefault("output", {})["run_id"] = run_id
    return load_config(config, sets, flags)


@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config file; without it the built-in defaults apply."),
    input: List[str] = typer.Option([], "--input", "-i", help="Input file, folder or glob (repeatable); overrides input.path."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", help="Folder for run folders; overrides output.dir."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Name of the run folder; default: ISO week and UTC time."),
    set_: List[str] = typer.Option([], "--set", help="Override one setting, e.g. --set clustering.min_cluster_size=20 (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors on stderr."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging on stderr."),
) -> None:
    """Cluster a week of headlines and write topics.csv, headlines.csv, rejected.csv, run.json and
    the review files (topics.xlsx, topic_map.png, topic_map.html, report.html).

    On success the last line on stdout is the path of the run folder.
    """
    _setup_logging(quiet, verbose)
    started = time.perf_counter()
    out = output_dir or Path("outputs")
    try:
        from cluster.pipeline import default_run_id, prepare_input, run as run_pipeline, write_result

        cfg = load_run_config(config, input, output_dir, run_id, set_)
        out = Path(cfg.output.dir)
        prepared = prepare_input(cfg)
        counts = prepared.counts
        log.info(
            "read %d rows: %d outside the window, %d rejected, %d accepted (%d distinct)",
            counts["read"], counts["outside_window"], counts["rejected"], counts["accepted"], counts["unique"],
        )
        name = cfg.output.run_id or default_run_id()
        result = run_pipeline(cfg, prepared, name)
        folder = write_result(result, out, name, total_seconds=time.perf_counter() - started)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE)
    except KeyboardInterrupt:
        typer.echo("interrupted; no run folder was written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED)
    except Exception as exc:  # anything else is our bug: keep the traceback, keep stderr short
        path = _error_log(out)
        typer.echo(f"unexpected error: {type(exc).__name__}: {exc}; traceback written to {path}", err=True)
        raise typer.Exit(EXIT_FAILURE)
    manifest = result.manifest
    typer.echo(
        f"{manifest['topics']} topics from {manifest['counts']['accepted']} headlines; "
        f"{manifest['unclustered_share']:.1%} unclustered; {manifest['counts']['rejected']} rejected"
    )
    typer.echo(str(folder))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
