"""A season of weeks at once (`cluster backfill`, `cluster.jobs.run_weeks`): what differs from
running each week alone.

- The input is read once (`read_season`) and each week is prepared from it exactly as a run of
  that week alone prepares it; a week without a usable headline is set aside with the reason.
- Every headline of the span is embedded in one pass through the embedding cache
  (`warm_cache`), before any week is fitted, in the batches each week's own run would have used;
  each week's embed stage then finds its vectors there. So the vectors a week gets do not depend
  on the order the weeks are fitted in, or on where: on Dask the weeks are fitted several at a
  time (`fit_on_workers`) and give the same bytes.

Running, tracking and publishing each week is `cluster.jobs`, as for one week.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from cluster.clean import PreparedInput
from cluster.compute import memory_report
from cluster.errors import InputError, NoHeadlines
from cluster.pipeline import Described, describe_week, embed_week, new_record, prepare_read, read_input, track_week
from cluster.plan import RunPlan
from cluster.record import RunRecord, StageTimer
from cluster.tables import RunTables

if TYPE_CHECKING:
    from cluster.compute import Compute
    from cluster.config import Config
    from cluster.embed import Embedded
    from cluster.track import PreviousRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeasonWeek:
    """One week of the span with its rows: its plan (that of `cluster run --week`), its prepared
    input, and its place in the span (1-based) for progress lines."""

    plan: RunPlan
    prepared: PreparedInput
    position: int

    @property
    def name(self) -> str:
        return self.plan.run_id

    def progress(self, total: int) -> str:
        """The week's progress line: `week 2014-W12 (2/8): 22,730 headlines`."""
        return f"week {self.name} ({self.position}/{total}): {self.prepared.counts['accepted']:,} headlines"


@dataclass(frozen=True)
class Season:
    """The weeks of a span that have headlines, in order, and those skipped, with why."""

    weeks: list[SeasonWeek]
    skipped: dict[str, str]
    total: int  # weeks in the span, skipped ones included

    def after(self, week: SeasonWeek) -> tuple[str, ...]:
        """The names of the weeks that come after `week`: runs this backfill is about to
        replace, whose topic keys the week must not count (`cluster.runs.find_previous_run`)."""
        return tuple(later.name for later in self.weeks if later.position > week.position)


def read_season(plans: list[RunPlan], compute: "Compute | None" = None) -> Season:
    """Read the input once and prepare every week of `plans` from it. A week with no usable
    headline is skipped with its reason; a span with none at all is an InputError (nothing to
    write, most likely the wrong weeks or the wrong input)."""
    cfg = plans[0].config
    started = time.perf_counter()
    read = read_input(cfg, plans[0].window, compute)
    log.info("read %d rows in %.1f s for %d weeks", len(read.frame), time.perf_counter() - started, len(plans))
    weeks: list[SeasonWeek] = []
    skipped: dict[str, str] = {}
    for position, plan in enumerate(plans, start=1):
        try:
            prepared = prepare_read(plan.config, read, plan.window)
        except NoHeadlines as exc:
            skipped[plan.run_id] = exc.short
            log.info("week %s (%d/%d): skipped, %s", plan.run_id, position, len(plans), exc.short)
            continue
        weeks.append(SeasonWeek(plan, prepared, position))
    if not weeks:
        raise InputError(
            f"no usable headline in any week from {plans[0].run_id} to {plans[-1].run_id} ({len(read.frame)} rows "
            f"read); check --from, --to, the input and input.date_column"
        )
    return Season(weeks, skipped, len(plans))


def warm_cache(cfg: "Config", season: Season, progress: bool | None = None, compute: "Compute | None" = None) -> int:
    """Embed every headline of the span that the embedding cache lacks, in one pass before any
    week is fitted and with the model loaded once, so that each week's embed stage then finds
    all its vectors there.

    The pass goes week by week and embeds each week's missing headlines as that week's own run
    would (the same list, so the same batches): an int8 vector depends in its last bits on the
    other headlines of its batch, and this keeps every week's vectors, and so its files, those
    of `cluster run --week` from the same cache. Returns how many headlines it embedded; 0, and
    nothing done, without a cache (each week then embeds its own headlines, as alone)."""
    from cluster.embed import Embedder, route_for
    from cluster.store import open_cache
    from cluster.store.cached import cache_key, cached_rows

    embedded = 0
    with open_cache(cfg.cache) as cache:
        if cache is None:
            log.info("no embedding cache: each week embeds its own headlines")
            return embedded
        route = route_for(cfg.embedding, cache)
        embedder = Embedder(route, cfg.embedding, progress, compute)
        key = cache_key(*route.key_parts)
        for week in season.weeks:
            log.info("embedding pass: week %s (%d/%d)", week.name, week.position, season.total)
            cached_rows(cache, key, week.prepared.unique.texts, embedder)
            embedded += cache.stats.misses
    log.info("the span's headlines are all in the cache; %d were embedded now", embedded)
    return embedded


def fit_on_workers(season: Season, compute: "Compute", progress: bool | None = None) -> list[FittedWeek]:
    """Every week's embed stage here, in week order (the cache stays here), and its fit, labels
    and tables on the Dask workers, several weeks at a time; each week is handed out as soon as
    it is embedded. The fits run with this process's thread counts, so they give the bytes an
    in-process fit gives. The results come back in week order, untracked."""

    def embedded() -> Iterator[EmbeddedWeek]:
        for week in season.weeks:
            log.info("%s: embedding here, fitting on a worker", week.progress(season.total))
            yield embed_for_workers(week.plan.config, week.prepared, week.name, progress, compute)

    def done(i: int) -> None:
        log.info("week %s fitted on a worker", season.weeks[i].name)

    return compute.map(fit_embedded, embedded(), done=done, threads_as_here=True)


# -- one week split for the workers: embedded here, fitted there, tracked here in week order ----


@dataclass(frozen=True)
class EmbeddedWeek:
    """A prepared week and its vectors, embedded here through the cache: what a Dask worker is
    sent to fit (`fit_embedded`). `seconds` are the stages' times so far."""

    cfg: Config
    prepared: PreparedInput
    run_id: str
    embedded: Embedded
    seconds: dict[str, float]


@dataclass(frozen=True)
class FittedWeek:
    """A week fitted, labelled and put in tables away from this process, with its record so far
    and run.json's `cache` entry; tracking (`track_fitted`) happens here, in week order."""

    described: Described
    record: RunRecord
    seconds: dict[str, float]
    cache: dict[str, Any]


def embed_for_workers(
    cfg: Config, prepared: PreparedInput, run_id: str, progress: bool | None = None, compute: Compute | None = None
) -> EmbeddedWeek:
    """A week's embed stage, as `run` does it: through the cache, which stays in this process
    (the vectors themselves may be computed on the workers)."""
    from cluster.store import open_cache

    timer = StageTimer(seconds={"read_clean": prepared.seconds})
    with open_cache(cfg.cache) as cache:
        embedded = embed_week(cfg, prepared, cache, progress, None, timer, compute)
    return EmbeddedWeek(cfg, prepared, run_id, embedded, dict(timer.seconds))


def fit_embedded(week: EmbeddedWeek) -> FittedWeek:
    """Fit, label and tabulate an embedded week: the part of `run` between embedding and
    tracking, which depends on this week alone (a task on a Dask worker in a backfill). The fit
    goes through the cache folder at the same path on the machine it runs on, when there is one."""
    from cluster.store import finish_cache, open_cache

    cfg = week.cfg
    record = new_record(cfg, week.prepared, week.run_id)
    timer = StageTimer(seconds=dict(week.seconds))
    with open_cache(cfg.cache) as cache:
        described = describe_week(cfg, week.prepared, week.embedded, record, timer, cache, None)
        with timer.stage("cache"):
            fit_cache = finish_cache(cache, cfg.cache)
    embedding = week.embedded.stats  # the lookups made by `embed_week`, in the process that holds the cache
    report = fit_cache
    if embedding.enabled:
        fit_results = {key: fit_cache.get(key, "not used") for key in ("reduction", "clustering")}
        report = {**dataclasses.asdict(embedding), **fit_results}
    return FittedWeek(described, record, dict(timer.seconds), report)


def track_fitted(
    cfg: Config, prepared: PreparedInput, fitted: FittedWeek, previous: PreviousRun | None,
    compute: Compute | None = None,
) -> tuple[RunTables, RunRecord]:  # fmt: skip
    """The track stage of a week fitted elsewhere: its tables and finished record, as `run`
    would have returned them."""
    timer = StageTimer(seconds=dict(fitted.seconds))
    tables = track_week(cfg, prepared, fitted.described, previous, fitted.record, timer)
    fitted.record.finished(fitted.cache, timer.seconds, memory_report(compute))
    return tables, fitted.record
