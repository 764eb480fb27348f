"""Command line: parse arguments, plan and run the week (`cluster.plan`, `cluster.jobs`), map failures to exit codes.

Exit codes: 0 success; 1 unexpected failure (traceback in a log file whose path is printed);
2 usage, config or input error (one line saying what to fix); 3 another run holds the output
folder's lock; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import typer

from cluster import __version__
from cluster import cli_options as option
from cluster.cli_options import WeekChoices
from cluster.console import setup_logging, write_error_log
from cluster.errors import Interrupted, RunLocked, Terminated, UserError
from cluster.signals import signals_as_exceptions

app = typer.Typer(
    help="Turn a week of news headlines into labelled topic tables.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",  # help text is Rich markup: see cluster.cli_options
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143


def _version(value: bool) -> None:
    if value:
        typer.echo(f"headline-cluster {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, metavar="", help="Show the version and exit."
    ),
) -> None:
    """Turn a week of news headlines into labelled topic tables."""


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _execute(choices: WeekChoices, score_against: tuple[str, str | None] | None = None) -> None:
    """Plan and run the week; print the scores, a summary and the run folder; map errors to exit codes."""
    from cluster.config import OutputConfig
    from cluster.jobs import run_plan
    from cluster.plan import plan_week

    plan = None
    written = ["no run folder was written"]  # until the job says it has published the folder
    with signals_as_exceptions():  # Ctrl-C and SIGTERM unwind the run: no staging folder, no lock left
        try:
            plan = plan_week(**asdict(choices))
            week = run_plan(
                plan,
                score_against=score_against,
                published=lambda folder: written.append(f"the run folder {folder} is complete"),
            )
        except UserError as exc:
            _fail(f"error: {exc}", EXIT_USAGE)
        except RunLocked as exc:
            _fail(f"error: {exc}", EXIT_LOCKED)
        except (Interrupted, KeyboardInterrupt):
            _fail(f"interrupted; {written[-1]}", EXIT_INTERRUPTED)
        except Terminated:
            _fail(f"terminated (SIGTERM); {written[-1]}", EXIT_TERMINATED)
        except Exception as exc:  # anything else is our bug: keep the traceback, keep stderr short
            path = write_error_log(plan.output_dir if plan else Path(choices.output_dir or OutputConfig().dir))
            _fail(f"unexpected error: {type(exc).__name__}: {exc}; traceback written to {path}", EXIT_FAILURE)
    if week.evaluation is not None:
        from cluster.evaluate import format_evaluation

        typer.echo(format_evaluation(week.evaluation))
    typer.echo(week.summary())
    typer.echo(str(week.folder))


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
def run(
    config: option.Config = None,
    input: option.Input = [],
    output_dir: option.OutputDir = None,
    run_id: option.RunId = None,
    overrides: option.Set = [],
    week: option.Week = None,
    run_date: option.RunDate = None,
    previous: option.Previous = None,
    scheduler: option.Scheduler = None,
    quiet: option.Quiet = False,
    verbose: option.Verbose = False,
) -> None:
    """`cluster run`: the weekly job."""
    choices = WeekChoices(config, input, output_dir, run_id, overrides, week, run_date, previous, scheduler)
    setup_logging(quiet, verbose)
    _execute(choices)


@app.command(help=EVALUATE_HELP)
def evaluate(
    label_column: option.LabelColumn,
    category_column: option.CategoryColumn = None,
    config: option.Config = None,
    input: option.Input = [],
    output_dir: option.OutputDir = None,
    run_id: option.RunId = None,
    overrides: option.Set = [],
    week: option.Week = None,
    run_date: option.RunDate = None,
    previous: option.Previous = None,
    scheduler: option.Scheduler = None,
    quiet: option.Quiet = False,
    verbose: option.Verbose = False,
) -> None:
    """`cluster evaluate`: the weekly job, scored against known labels."""
    choices = WeekChoices(config, input, output_dir, run_id, overrides, week, run_date, previous, scheduler)
    setup_logging(quiet, verbose)
    _execute(choices, score_against=(label_column, category_column))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
