"""The weekly job, as a library call: `run_week` and `evaluate_week`.

Each resolves the config and the run id once (`plan_week`, in `cluster.plan`), checks the input
before anything is written, takes the output folder's lock, finds the previous run, runs the
pipeline, scores it (evaluate), publishes the run folder atomically and applies retention. The
CLI and the benchmarks call these (the notebook reads finished runs with `read_run`). Failures
are the typed exceptions of `cluster.errors`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from cluster.plan import ConfigSource, RunPlan, named_after_dates, plan_week

if TYPE_CHECKING:
    from cluster.compute import Compute
    from cluster.evaluate import Evaluation
    from cluster.tables import RunTables

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
    from cluster.evaluate import evaluate_topics, withhold_labels
    from cluster.lock import RunLock
    from cluster.pipeline import prepare_input, run
    from cluster.runs import EVALUATION, find_previous_run, prune_runs, run_fingerprint, write_run

    cfg, out = plan.config, plan.output_dir
    # the input is checked before the lock is taken: a bad file creates nothing in the output folder
    prepared = prepare_input(cfg, plan.window, compute)
    plan = named_after_dates(plan, *prepared.date_span(cfg.input.date_column))
    held_out = None
    if score_against is not None:
        label_column, category_column = score_against
        labels = [label_column] if category_column is None else [label_column, category_column]
        prepared, held_out = withhold_labels(prepared, labels, cfg.input.text_column)
    with RunLock(out):
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
        previous = find_previous_run(out, plan.run_id, cfg.tracking.previous, until, fingerprint)
        if previous.run_id:
            log.info("matching topics against the previous run %s", previous.run_id)
        tables, record = run(cfg, prepared, plan.run_id, progress=progress, previous=previous, compute=compute)
        evaluation, extra = None, {}
        if score_against is not None and held_out is not None:
            label_column, category_column = score_against
            evaluation = evaluate_topics(
                tables.headlines["topic_id"].to_numpy(),
                held_out[label_column],
                held_out[category_column] if category_column else None,
                label_column=label_column,
                category_column=category_column,
            )
            extra[EVALUATION] = evaluation.to_dict()
        total = time.perf_counter() - started
        folder = write_run(tables, record, out, cfg.output, cfg.review, total_seconds=total, extra=extra)
        if published is not None:
            published(folder)
        prune_runs(out, cfg.output.keep_runs, plan.run_id)
    return WeekRun(folder, replace(tables, manifest=record.to_json()), evaluation)


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
