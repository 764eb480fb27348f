"""The weekly job, as a library call: `run_week`, `evaluate_week`, and `run_weeks` (a backfill).

Each resolves the config and the run id once (`plan_week`, in `cluster.plan`), checks the input
before anything is written, takes the output folder's lock, finds the previous run, runs the
pipeline, scores it (evaluate), publishes the run folder atomically, applies retention and
rewrites the output folder's timeline (`cluster.timeline`). A backfill does the same for every
week of a span under one lock, in week order (`_publish_week` is the one path for both), after
reading the input once and embedding the span in one pass (`cluster.season`). The CLI and the
benchmarks call these (the notebook reads finished runs with `read_run`). Failures are the
typed exceptions of `cluster.errors`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from cluster.plan import ConfigSource, RunPlan, named_after_dates, plan_week, plan_weeks

if TYPE_CHECKING:
    from cluster.clean import PreparedInput
    from cluster.compute import Compute
    from cluster.evaluate import Evaluation
    from cluster.record import RunRecord
    from cluster.season import FittedWeek, Season, SeasonWeek
    from cluster.tables import RunTables
    from cluster.track import PreviousRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeekRun:
    """A finished run: its folder, its tables and run.json (`result.manifest`), and its scores
    when evaluated."""

    folder: Path
    result: "RunTables"
    evaluation: "Evaluation | None" = None

    @property
    def manifest(self) -> dict[str, Any]:
        return self.result.manifest

    def summary(self) -> str:
        """One line: topics, headlines, unclustered share, rejected rows."""
        manifest = self.manifest
        return (
            f"{manifest['topics']} topics from {manifest['counts']['accepted']} headlines; "
            f"{manifest['unclustered_share']:.1%} unclustered; {manifest['counts']['rejected']} rejected"
        )


def run_plan(
    plan: RunPlan,
    progress: bool | None = None,
    score_against: tuple[str, str | None] | None = None,
    published: Callable[[Path], None] | None = None,
) -> WeekRun:
    """Run a planned week: check the input, lock, compare, run, score, publish, prune.

    With `score_against` (label column, optional category column) the labels are taken out of
    the input before any stage runs, and the scores are written to evaluation.json. `published`
    is told the run folder as soon as it is in place (retention still runs after it).
    With `compute.scheduler` set, the Dask cluster lives as long as this call."""
    from cluster.compute import Compute

    started = time.perf_counter()
    cfg = plan.config
    with Compute(cfg.compute) as compute:
        return _run_planned(plan, compute, started, progress, score_against, published)


def _run_planned(
    plan: RunPlan,
    compute: "Compute",
    started: float,
    progress: bool | None,
    score_against: tuple[str, str | None] | None,
    published: Callable[[Path], None] | None,
) -> WeekRun:
    from cluster.evaluate import withhold_labels
    from cluster.lock import RunLock
    from cluster.pipeline import prepare_input, run

    cfg = plan.config
    # the input is checked before the lock is taken: a bad file creates nothing in the output folder
    prepared = prepare_input(cfg, plan.window, compute)
    plan = named_after_dates(plan, *prepared.date_span(cfg.input.date_column))
    score = None
    if score_against is not None:
        label_column, category_column = score_against
        labels = [label_column] if category_column is None else [label_column, category_column]
        prepared, held_out = withhold_labels(prepared, labels, cfg.input.text_column)
        score = _scorer(held_out, label_column, category_column)

    def fit(previous: "PreviousRun") -> "tuple[RunTables, RunRecord]":
        return run(cfg, prepared, plan.run_id, progress=progress, previous=previous, compute=compute)

    with RunLock(plan.output_dir):
        week = _publish_week(plan, prepared, fit, started, published, score)
        refresh_timeline(plan.output_dir)
    return week


Fit = Callable[["PreviousRun"], "tuple[RunTables, RunRecord]"]
Score = Callable[["RunTables"], "tuple[Evaluation, dict[str, dict[str, Any]]]"]


def _scorer(held_out: Any, label_column: str, category_column: str | None) -> Score:
    """The scores of a run's topics against the labels held out of its input, and evaluation.json."""
    from cluster.evaluate import evaluate_topics
    from cluster.runs import EVALUATION

    def score(tables: "RunTables") -> "tuple[Evaluation, dict[str, dict[str, Any]]]":
        evaluation = evaluate_topics(
            tables.headlines["topic_id"].to_numpy(),
            held_out[label_column],
            held_out[category_column] if category_column else None,
            label_column=label_column,
            category_column=category_column,
        )
        return evaluation, {EVALUATION: evaluation.to_dict()}

    return score


def _publish_week(
    plan: RunPlan,
    prepared: "PreparedInput",
    fit: Fit,
    started: float,
    published: Callable[[Path], None] | None = None,
    score: Score | None = None,
    replaced: tuple[str, ...] = (),
) -> WeekRun:
    """With the lock held: find the previous run, get the week's tables (`fit`), score them,
    publish the run folder, apply retention. The same for a week alone and a backfilled one;
    `replaced` are a backfill's later weeks (see `find_previous_run`)."""
    from cluster.runs import find_previous_run, prune_runs, run_fingerprint, write_run

    cfg, out = plan.config, plan.output_dir
    counts = prepared.counts
    log.info(
        "read %d rows: %d outside the window, %d rejected, %d accepted (%d distinct)",
        counts["read"],
        counts["outside_window"],
        counts["rejected"],
        counts["accepted"],
        counts["unique"],
    )
    window = plan.window.record() if plan.window else None
    fingerprint = run_fingerprint(cfg.model_dump(mode="json"), [vars(f) for f in prepared.files], window)
    until = window["until"] if window else ""
    previous = find_previous_run(out, plan.run_id, cfg.tracking.previous, until, fingerprint, replaced)
    if previous.run_id:
        log.info("matching topics against the previous run %s", previous.run_id)
    tables, record = fit(previous)
    evaluation, extra = score(tables) if score is not None else (None, {})
    total = time.perf_counter() - started
    folder = write_run(tables, record, out, cfg.output, cfg.review, total_seconds=total, extra=extra)
    if published is not None:
        published(folder)
    prune_runs(out, cfg.output.keep_runs, plan.run_id)
    return WeekRun(folder, replace(tables, manifest=record.to_json()), evaluation)


def refresh_timeline(output_dir: Path) -> None:
    """Rebuild the output folder's timeline after a run (`cluster.timeline`). The run folder is
    published by then: a timeline that cannot be written is a warning, and `cluster timeline`
    rebuilds it."""
    from cluster.timeline import write_timeline

    try:
        write_timeline(output_dir)
    except OSError as exc:
        log.warning("could not update the timeline in %s (%s); `cluster timeline` rebuilds it", output_dir, exc)


def run_week(config: ConfigSource = None, *, progress: bool | None = None, **choices: Any) -> WeekRun:
    """Run the weekly job as `cluster run` does and return the run folder and its result.

        from cluster import run_week
        week = run_week("configs/weekly.yaml", week="last")
        week.folder, week.result.topics

    `choices` are those of `plan_week`: input, output_dir, run_id, week, run_date, previous,
    scheduler, overrides. Raises ConfigError or InputError (what to fix), RunLocked (another run holds the
    output folder)."""
    return run_plan(plan_week(config, **choices), progress=progress)


def evaluate_week(
    config: ConfigSource = None,
    *,
    label_column: str,
    category_column: str | None = None,
    progress: bool | None = None,
    **choices: Any,
) -> WeekRun:
    """`run_week` on input that also carries a true grouping, scored against it (see
    `cluster.evaluate`); the scores are in `.evaluation` and the run folder's evaluation.json."""
    return run_plan(plan_week(config, **choices), progress=progress, score_against=(label_column, category_column))


@dataclass(frozen=True)
class SeasonRun:
    """A finished backfill: the run of every week that had headlines, in week order, and the
    weeks skipped, with why."""

    weeks: list[WeekRun]
    skipped: dict[str, str]
    output_dir: Path

    def summary(self) -> str:
        """One line: weeks written and skipped."""
        line = f"{len(self.weeks)} week{'s' if len(self.weeks) != 1 else ''} written"
        if self.skipped:
            line += f", {len(self.skipped)} skipped ({', '.join(self.skipped)})"
        return line

    def lines(self) -> list[str]:
        """A line per week of the span, in week order: its summary, or why it was skipped."""
        lines = {week.folder.name: f"{week.folder.name}: {week.summary()}" for week in self.weeks}
        lines.update({name: f"{name}: skipped, {why}" for name, why in self.skipped.items()})
        return [lines[name] for name in sorted(lines)]


def run_weeks(
    config: ConfigSource = None, *, first: str, last: str, progress: bool | None = None, **choices: Any
) -> SeasonRun:
    """Run every ISO week from `first` to `last` (`"2014-W11"`, or `"last"`) in order, in this
    process, as `cluster backfill` does: each week's run folder is the one `run_week(week=W)`
    would write into the same output folder, tracked against the week before it.

        from cluster import run_weeks
        season = run_weeks("configs/weekly.yaml", first="2014-W11", last="2014-W18")
        season.weeks[-1].folder, season.skipped

    `choices`: input, output_dir, scheduler, overrides (as for `run_week`). Raises ConfigError
    or InputError (what to fix), RunLocked (another run holds the output folder)."""
    return run_season(plan_weeks(config, first=first, last=last, **choices), progress=progress)


def run_season(
    plans: list[RunPlan], progress: bool | None = None, published: Callable[[Path], None] | None = None
) -> SeasonRun:
    """Run planned weeks (`plan_weeks`) as a backfill: read the input once, embed the span in one
    pass through the cache, then run, track and publish each week in order, under one lock.
    With `compute.scheduler` set, the weeks are fitted on the workers several at a time and
    tracked here in week order afterwards (`cluster.season`). `published` is told each week's
    run folder as soon as it is in place."""
    from cluster.compute import Compute
    from cluster.lock import RunLock
    from cluster.season import read_season, warm_cache

    cfg, out = plans[0].config, plans[0].output_dir
    with Compute(cfg.compute) as compute:
        season = read_season(plans, compute)  # before the lock: bad input creates nothing
        with RunLock(out):
            warm_cache(cfg, season, progress, compute)
            if compute.distributed:
                weeks = _publish_fitted(season, compute, progress, published)
            else:
                weeks = [_run_season_week(week, season, compute, progress, published) for week in season.weeks]
            refresh_timeline(out)
    return SeasonRun(weeks, season.skipped, out)


def _run_season_week(
    week: "SeasonWeek", season: "Season", compute: "Compute", progress: bool | None,
    published: Callable[[Path], None] | None,
) -> WeekRun:  # fmt: skip
    """One week of a backfill in this process: exactly `cluster run --week`'s path."""
    from cluster.pipeline import run

    log.info("%s", week.progress(season.total))
    started = time.perf_counter()

    def fit(previous: "PreviousRun") -> "tuple[RunTables, RunRecord]":
        return run(week.plan.config, week.prepared, week.name, progress=progress, previous=previous, compute=compute)

    return _publish_week(week.plan, week.prepared, fit, started, published, replaced=season.after(week))


def _publish_fitted(
    season: "Season", compute: "Compute", progress: bool | None, published: Callable[[Path], None] | None
) -> list[WeekRun]:
    """The weeks fitted on the Dask workers, then tracked and published here in week order."""
    from cluster.season import fit_on_workers, track_fitted

    runs = []
    for week, fitted in zip(season.weeks, fit_on_workers(season, compute, progress)):
        started = time.perf_counter() - sum(fitted.seconds.values())

        def fit(
            previous: "PreviousRun", week: "SeasonWeek" = week, fitted: "FittedWeek" = fitted
        ) -> "tuple[RunTables, RunRecord]":
            return track_fitted(week.plan.config, week.prepared, fitted, previous, compute)

        runs.append(_publish_week(week.plan, week.prepared, fit, started, published, replaced=season.after(week)))
    return runs


def rebuild_timeline(config: ConfigSource = None, *, output_dir: Path | str | None = None) -> Path:
    """`cluster timeline`: rewrite the timeline of an output folder (`output_dir`, else the
    config's `output.dir`) from its run folders, with its lock held; returns timeline.csv's path.
    Raises InputError when the folder holds no complete run, RunLocked while a run holds it."""
    from cluster.config_files import load_config
    from cluster.errors import InputError
    from cluster.lock import RunLock
    from cluster.timeline import write_timeline

    flags = {"output": {"dir": str(output_dir)}} if output_dir is not None else {}
    out = Path(load_config(config, [], flags).output.dir)
    if not out.is_dir():
        raise InputError(f"output folder {out} does not exist; pass --output-dir DIR")
    with RunLock(out):
        written = write_timeline(out)
    if not written:
        raise InputError(f"{out} holds no complete run folder (one with a run.json); nothing to draw")
    return written[0]
