"""Command line: parse arguments, plan and run (`cluster.plan`, `cluster.jobs`); every failure
ends in its exit code and one line (`cluster.cli_exits`, which lists the codes)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from cluster import __version__
from cluster import cli_options as option
from cluster.cli_exits import exit_codes, folders_written
from cluster.cli_options import SeasonChoices, WeekChoices
from cluster.console import setup_logging

app = typer.Typer(
    help="Turn a week of news headlines into labelled topic tables.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",  # help text is Rich markup: see cluster.cli_options
)


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


def _execute(choices: WeekChoices, score_against: tuple[str, str | None] | None = None) -> None:
    """Plan and run the week; print the scores, a summary and the run folder."""
    from cluster.jobs import run_plan
    from cluster.plan import plan_week

    plan = None
    written = ["no run folder was written"]  # until the job says it has published the folder
    with exit_codes(lambda: plan.output_dir if plan else choices.output_dir, lambda: written[-1]):
        plan = plan_week(**asdict(choices))
        week = run_plan(
            plan,
            score_against=score_against,
            published=lambda folder: written.append(f"the run folder {folder} is complete"),
        )
    if week.evaluation is not None:
        from cluster.evaluate import format_evaluation

        typer.echo(format_evaluation(week.evaluation))
    typer.echo(week.summary())
    typer.echo(str(week.folder))


@app.command(help=option.RUN_HELP)
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


@app.command(help=option.EVALUATE_HELP)
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


@app.command(help=option.BACKFILL_HELP)
def backfill(
    first: option.First,
    last: option.Last,
    config: option.Config = None,
    input: option.Input = [],
    output_dir: option.OutputDir = None,
    overrides: option.Set = [],
    scheduler: option.Scheduler = None,
    quiet: option.Quiet = False,
    verbose: option.Verbose = False,
) -> None:
    """`cluster backfill`: every week of a span, as the weekly job would have run them."""
    from cluster.jobs import run_season
    from cluster.plan import plan_weeks

    setup_logging(quiet, verbose)
    folders: list[Path] = []
    with exit_codes(lambda: output_dir, lambda: folders_written(folders)):
        plans = plan_weeks(**asdict(SeasonChoices(first, last, config, input, output_dir, overrides, scheduler)))
        season = run_season(plans, published=folders.append)
    for line in [*season.lines(), season.summary(), str(season.output_dir)]:
        typer.echo(line)


@app.command(help=option.TIMELINE_HELP)
def timeline(
    config: option.Config = None,
    output_dir: option.OutputDir = None,
    quiet: option.Quiet = False,
    verbose: option.Verbose = False,
) -> None:
    """`cluster timeline`: the output folder's timeline, rebuilt."""
    from cluster.jobs import rebuild_timeline

    setup_logging(quiet, verbose)
    with exit_codes(lambda: output_dir, lambda: "the timeline files are replaced whole or not at all"):
        path = rebuild_timeline(config, output_dir=output_dir)
    typer.echo(str(path))


def main() -> None:
    """Console-script entry point."""
    app()
