"""headline-cluster: turn a week of news headlines into labelled topic tables.

The public API (the CLI is a thin layer over it):

    from cluster import run_week, run_weeks, evaluate_week, load_config, read_run, Config

- `run_week(config, *, input=..., output_dir=..., run_id=..., week=..., run_date=...,
  previous=..., overrides=[...])` runs the weekly job as `cluster run` does and returns a
  `WeekRun` (`.folder`, `.result.topics`, `.result.headlines`, `.manifest`);
- `run_weeks(config, *, first="2014-W11", last="2014-W18", input=..., output_dir=...,
  overrides=[...])` runs every week between them as `cluster backfill` does and returns a
  `SeasonRun` (`.weeks`: a `WeekRun` each, `.skipped`: weeks without headlines, and why);
- `evaluate_week(config, *, label_column=..., category_column=..., ...)` also scores the topics
  against known labels (`.evaluation`);
- `load_config(path_or_config, overrides, flags)` builds a validated `Config`;
- `read_run(folder)` reads a run folder's tables back, numbers as numbers.

Errors are `ConfigError` and `InputError` (both `UserError`: something to fix) and `RunLocked`.
Names are imported on first use, so that `cluster --help` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "run_week": "cluster.jobs",
    "run_weeks": "cluster.jobs",
    "evaluate_week": "cluster.jobs",
    "plan_week": "cluster.plan",
    "WeekRun": "cluster.jobs",
    "SeasonRun": "cluster.jobs",
    "load_config": "cluster.config_files",
    "Config": "cluster.config",
    "read_run": "cluster.runs",
    "ConfigError": "cluster.errors",
    "InputError": "cluster.errors",
    "UserError": "cluster.errors",
    "RunLocked": "cluster.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cluster' has no attribute {name!r}")
