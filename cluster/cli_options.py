"""The options and help texts of the commands, declared once, and `WeekChoices` and
`SeasonChoices`, what one command was asked to plan. `cli.py` imports this module as `option`:
`week: option.Week` is --week.

Option help is Rich markup (the app sets `rich_markup_mode="rich"`): a literal `[` is written `\\[`.
Flags carry `metavar=""`: Typer's Rich help would otherwise print a `<bool>` value they do not take.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, List, Optional

import typer

Config = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="YAML config file; without it the built-in defaults apply.")
]
Input = Annotated[
    List[str], typer.Option("--input", "-i", help="Input file, folder or glob (repeatable); overrides input.path.")
]
OutputDir = Annotated[
    Optional[Path], typer.Option("--output-dir", "-o", help="Folder for run folders; overrides output.dir.")
]
RunId = Annotated[
    Optional[str],
    typer.Option("--run-id", help="Name of the run folder; default: the --week name, else ISO week and UTC time."),
]
Set = Annotated[
    List[str],
    typer.Option("--set", help="Override one setting, e.g. --set clustering.min_cluster_size=20 (repeatable)."),
]
Week = Annotated[
    Optional[str],
    typer.Option(
        "--week", help="ISO week to cluster, e.g. 2026-W48 (Monday to Sunday), or `last`; names the run after the week."
    ),
]
RunDate = Annotated[
    Optional[str],
    typer.Option(
        "--run-date",
        help="Reference date YYYY-MM-DD: last_days count back from it; without a window, the ISO week before it.",
    ),
]
Previous = Annotated[
    Optional[str],
    typer.Option(
        "--previous",
        help="Run id to compare topics with (default: the newest complete run in the output folder; "
        "`none` for no comparison).",
    ),
]
Scheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="Where the work runs: none (this process), local (a Dask LocalCluster) or a Dask scheduler's "
        "address such as tcp://10.0.0.5:8786; overrides compute.scheduler. Dask: pip install -e '.\\[dask]'.",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="Only warnings and errors on stderr.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", metavar="", help="Debug logging on stderr.")]
First = Annotated[
    str, typer.Option("--from", help="First ISO week to run, e.g. 2014-W11 (Monday to Sunday).", show_default=False)
]
Last = Annotated[
    str, typer.Option("--to", help="Last ISO week to run, included, e.g. 2014-W18, or `last`.", show_default=False)
]
LabelColumn = Annotated[str, typer.Option("--label-column", help="Column with the true grouping, e.g. story.")]
CategoryColumn = Annotated[
    Optional[str], typer.Option("--category-column", help="Coarser labels; adds homogeneity against them.")
]


@dataclass(frozen=True)
class WeekChoices:
    """The choices a week command was given, named as `plan_week`'s keyword arguments. The commands
    fill it in their parameters' order; tests/test_cli.py checks that each option lands in its field."""

    config: Optional[Path]
    input: list[str]
    output_dir: Optional[Path]
    run_id: Optional[str]
    overrides: list[str]
    week: Optional[str]
    run_date: Optional[str]
    previous: Optional[str]
    scheduler: Optional[str]


@dataclass(frozen=True)
class SeasonChoices:
    """The choices `cluster backfill` was given, named as `plan_weeks`'s keyword arguments."""

    first: str
    last: str
    config: Optional[Path]
    input: list[str]
    output_dir: Optional[Path]
    overrides: list[str]
    scheduler: Optional[str]


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
BACKFILL_HELP = (
    "Run every ISO week from --from to --to, in order, in one process: each week becomes the run folder "
    "`cluster run --week` would write, tracked against the week before.\n\n"
    "The input is read once and its headlines embedded in one pass; a week with no headlines is reported "
    "and skipped. Prints a line per week; the last line on stdout is the output folder."
)
TIMELINE_HELP = (
    "Rebuild the output folder's timeline from its run folders: timeline.csv, timeline.xlsx, timeline.png "
    "and timeline.html (every run and backfill also updates it).\n\n"
    "The last line on stdout is the path of timeline.csv."
)
