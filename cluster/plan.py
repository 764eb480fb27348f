"""Planning a run: the config and the choices of one run, resolved once into a frozen `RunPlan`.

`plan_week` layers the config (a file, a `Config` or the defaults), `--set` overrides and the
choices the CLI flags stand for; `resolve_run` then fixes what depends on the flags and the
clock, the date window and the run id. Every later step reads the plan, none recomputes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence, Union

from cluster.config import Config
from cluster.config_files import load_config
from cluster.errors import ConfigError
from cluster.weeks import (
    Window,
    default_run_id,
    named_week,
    resolve_window,
    schedule_overrides,
    span_name,
    week_of,
    weeks_between,
    window_name,
)

ConfigSource = Union[Config, Path, str, None]
# Five years of weekly runs: a longer span is more likely a typo (2014-W11 to 2041-W18) than a
# plan, and it would hold every week's rows in memory at once; split it into several backfills.
MAX_BACKFILL_WEEKS = 260


@dataclass(frozen=True)
class RunPlan:
    """A validated config with everything fixed that depends on the flags and the clock: the
    date window and the run id. Every later step reads these, none recomputes them."""

    config: Config
    run_id: str
    window: Window | None
    # True when nothing named the run and no window was set: the run is then named after the
    # span of its headlines' dates once they are read (`named_after_dates`), else after the clock
    unnamed: bool = False

    @property
    def output_dir(self) -> Path:
        """The folder that holds the run folders (`output.dir`)."""
        return Path(self.config.output.dir)


def resolve_run(
    cfg: Config, week_name: str | None = None, by_run_date: bool = False, now: dt.datetime | None = None
) -> RunPlan:
    """Fix the window and the run id once.

    `week_name` is the --week name. With `by_run_date` (--run-date) and no window in the config,
    the window is the ISO week before input.run_date, and the run is named after its window
    (`2026-W48` when it is exactly an ISO week). Otherwise the name is output.run_id, else the
    --week name, else (no window either) the span of the input's dates once it is read
    (`named_after_dates`), else the ISO week plus the UTC time.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        if by_run_date and not cfg.input.has_window and cfg.input.run_date is not None:
            before = week_of(cfg.input.run_date - dt.timedelta(days=7))
            window_update = {"since": before.since, "until": before.until}
            cfg = cfg.model_copy(update={"input": cfg.input.model_copy(update=window_update)})
        window = resolve_window(cfg.input, now.date())
    except OverflowError:  # e.g. last_days: 800000 reaches back past year 1
        raise ConfigError("input.last_days / input.run_date: the date window would fall outside years 1-9999") from None
    by_window = window_name(window) if by_run_date and window is not None else None
    run_id = cfg.output.run_id or week_name or by_window
    return RunPlan(config=cfg, run_id=run_id or default_run_id(now), window=window, unnamed=not run_id and not window)


def named_after_dates(plan: RunPlan, first: dt.date | None, last: dt.date | None) -> RunPlan:
    """An unnamed plan named after the span of its headlines' dates: the ISO week (`2014-W13`)
    when they fall in one, else `FIRST_LAST`, so that a run of last spring's headlines is not
    named after the day it ran (the run's own date stays in run.json). A named plan, or one
    whose input has no dates, is returned as it is."""
    if not plan.unnamed or first is None or last is None:
        return plan
    return replace(plan, run_id=span_name(first, last), unnamed=False)


def plan_week(
    config: ConfigSource = None,
    *,
    input: Union[str, Path, Sequence[Union[str, Path]], None] = None,
    output_dir: Union[str, Path, None] = None,
    run_id: str | None = None,
    week: str | None = None,
    run_date: str | None = None,
    previous: str | None = None,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> RunPlan:
    """The config (a `Config`, a YAML path, or None for the defaults), then `overrides`
    (`section.key=value`), then the other choices, validated and resolved: window and run id fixed.

    The choices mean what the CLI flags of the same names mean (`--week 2026-W48` or `last`,
    `--run-date YYYY-MM-DD`, `--previous RUN` or `none`, `--scheduler none|local|ADDRESS`)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    flags, week_name = schedule_overrides(week, run_date, now.date())
    flags = {section: dict(values) for section, values in flags.items()}
    inputs = [input] if isinstance(input, (str, Path)) else list(input or [])
    if inputs:
        flags.setdefault("input", {})["path"] = str(inputs[0]) if len(inputs) == 1 else [str(i) for i in inputs]
    if output_dir is not None:
        flags.setdefault("output", {})["dir"] = str(output_dir)
    if run_id is not None:
        flags.setdefault("output", {})["run_id"] = run_id
    if previous is not None:
        flags.setdefault("tracking", {})["previous"] = previous
    if scheduler is not None:
        flags.setdefault("compute", {})["scheduler"] = scheduler
    cfg = load_config(config, list(overrides), flags)
    return resolve_run(cfg, week_name=week_name, by_run_date=run_date is not None, now=now)


def plan_weeks(
    config: ConfigSource = None,
    *,
    first: str,
    last: str,
    input: Union[str, Path, Sequence[Union[str, Path]], None] = None,
    output_dir: Union[str, Path, None] = None,
    scheduler: str | None = None,
    overrides: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> list[RunPlan]:
    """One plan per ISO week from `first` to `last` (`--from`, `--to`: `2014-W11`, or `last`),
    each exactly the plan of `cluster run --week W` with the same config and choices, so that a
    backfilled week is the run its weekly schedule would have made. Refuses, in one line, a span
    that runs backwards or is longer than MAX_BACKFILL_WEEKS, and a config that names every run
    alike (`output.run_id`), which would make each week replace the one before."""
    now = now or dt.datetime.now(dt.timezone.utc)
    start, end = named_week(first, "--from", now.date()), named_week(last, "--to", now.date())
    if start.since > end.since:
        raise ConfigError(f"--from {start.name} is after --to {end.name}; give the earlier week first")
    weeks = weeks_between(start, end)
    if len(weeks) > MAX_BACKFILL_WEEKS:
        raise ConfigError(
            f"--from {start.name} --to {end.name} spans {len(weeks)} weeks; a backfill covers at most "
            f"{MAX_BACKFILL_WEEKS} (five years): split it into several"
        )
    plans = [
        plan_week(config, input=input, output_dir=output_dir, week=week.name, scheduler=scheduler,
                  overrides=overrides, now=now)
        for week in weeks
    ]  # fmt: skip
    named = plans[0].config.output.run_id
    if named is not None:
        raise ConfigError(
            f"output.run_id is set ({named!r}): a backfill names each run after its week; remove it from the config"
        )
    return plans
