"""The stages of one run, wired in order: read → clean → embed → fit (reduce and cluster) →
label → tables → track. Each stage lives in its own module; this one calls them, times them and
hands each stage's part to the run record. Heavy libraries are imported by the stages that need
them."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cluster.clean import CLEAN_TEXT, PreparedInput, clean_headlines, deduplicate, row_counts, select_window
from cluster.compute import Compute, memory_report
from cluster.config import Config
from cluster.errors import InputError, NoHeadlines
from cluster.read import ReadResult, check_columns, read_headlines
from cluster.record import ModelPart, RunRecord, StageTimer
from cluster.schema import ADDED_TO_INPUT
from cluster.tables import RunTables
from cluster.track import PreviousRun
from cluster.weeks import Window

if TYPE_CHECKING:
    from cluster.embed import Embedded
    from cluster.store import Cache

log = logging.getLogger(__name__)


def read_input(cfg: Config, window: Window | None, compute: Compute | None = None) -> ReadResult:
    """Read the input files and check their columns (the date column when there is a `window`):
    fast, no model. Raises InputError on unusable input. With a Dask `compute`, the input files
    are read on the workers."""
    if not cfg.input.path:
        raise InputError("no input given: pass --input PATH or set input.path in the config")
    read = read_headlines(cfg.input.path, cfg.input.format, cfg.input.encoding, compute)
    date_column = cfg.input.date_column if window is not None else None
    check_columns(read.frame, cfg.input.text_column, date_column, [*ADDED_TO_INPUT, CLEAN_TEXT])
    return read


def prepare_input(cfg: Config, window: Window | None, compute: Compute | None = None) -> PreparedInput:
    """Read, select the window and clean: fast, no model. Raises InputError on unusable input
    (NoHeadlines when the window holds no usable headline). With a Dask `compute`, the input
    files are read on the workers."""
    start = time.perf_counter()
    return prepare_read(cfg, read_input(cfg, window, compute), window, start)


def prepare_read(cfg: Config, read: ReadResult, window: Window | None, start: float | None = None) -> PreparedInput:
    """Select the window and clean input already read (`read_input`), so that a backfill reads
    its input once and prepares each week from it, exactly as a run of that week alone would.
    `start` is when reading began (the record's read_clean seconds count from it). Raises
    NoHeadlines when the window holds no usable headline."""
    start = time.perf_counter() if start is None else start
    inside, undated, outside = select_window(read.frame, cfg.input.date_column, window)
    cleaned = clean_headlines(inside, cfg.input.text_column, cfg.cleaning)
    rejected = pd.concat([part for part in (undated, cleaned.rejected) if part is not None]).sort_index()
    if cleaned.accepted.empty:
        raise NoHeadlines(
            f"no usable headlines: all {len(inside)} rows in the window were rejected "
            f"({rejected['reason'].value_counts().to_dict()}); check input.text_column",
            short=f"all {len(inside)} rows in it were rejected",
        )
    unique = deduplicate(cleaned.accepted[CLEAN_TEXT])
    counts = row_counts(len(read.frame), outside, len(rejected), len(cleaned.accepted), len(unique.texts))
    return PreparedInput(
        accepted=cleaned.accepted,
        rejected=rejected,
        unique=unique,
        files=read.files,
        window=window,
        counts=counts,
        input_columns=list(read.frame.columns),
        seconds=round(time.perf_counter() - start, 3),
    )


def run(
    cfg: Config,
    prepared: PreparedInput,
    run_id: str,
    progress: bool | None = None,
    previous: PreviousRun | None = None,
    vectors: np.ndarray | None = None,
    compute: Compute | None = None,
) -> tuple[RunTables, RunRecord]:
    """Embed, fit, label and track a prepared week; returns its tables and its run record.

    `previous` is the run to match topics against (see `cluster.runs.find_previous_run`).
    `vectors` may hold the unique headlines' embeddings already (from `cfg.embedding.model`),
    e.g. when a benchmark compares several systems on the same embeddings. `compute` says where
    partitioned work runs (`cluster.compute`; this process by default).
    """
    from cluster.store import finish_cache, open_cache

    record = new_record(cfg, prepared, run_id)
    timer = StageTimer(seconds={"read_clean": prepared.seconds})
    with open_cache(cfg.cache) as cache:
        embedded = embed_week(cfg, prepared, cache, progress, vectors, timer, compute)
        described = describe_week(cfg, prepared, embedded, record, timer, cache, compute)
        tables = track_week(cfg, prepared, described, previous, record, timer)
        with timer.stage("cache"):
            cache_report = finish_cache(cache, cfg.cache)
    record.finished(cache_report, timer.seconds, memory_report(compute))
    return tables, record


@dataclass(frozen=True)
class Described:
    """A week fitted, labelled and put in tables, before tracking: what the track stage needs."""

    topics: pd.DataFrame
    headlines: pd.DataFrame
    centroids: dict[int, np.ndarray]
    labels: np.ndarray  # the topic of each distinct headline
    model: str  # the model's name and dimension: centroids of different models are not compared


def new_record(cfg: Config, prepared: PreparedInput, run_id: str) -> RunRecord:
    window = prepared.window.record() if prepared.window else None
    return RunRecord(run_id, cfg.model_dump(mode="json"), [vars(f) for f in prepared.files], window, prepared.counts)


def describe_week(
    cfg: Config, prepared: PreparedInput, embedded: Embedded, record: RunRecord, timer: StageTimer,
    cache: Cache | None, compute: Compute | None,
) -> Described:  # fmt: skip
    """The stages between embedding and tracking: fit, label, tables. They depend on this week
    alone, so a backfill on Dask runs them for several weeks at once."""
    from cluster.fit import FitInput, fit_topics
    from cluster.label import describe_topics
    from cluster.tables import headline_table, topic_fit, topic_table

    unique, weights, vectors = prepared.unique, prepared.unique.counts.astype(float), embedded.vectors
    record.embedded(ModelPart.of(embedded), embedded.device)
    data = FitInput(unique.texts, weights, vectors, prepared.unique_days(cfg.input.date_column))
    fitted = fit_topics(data, cfg, cache, timer, compute)
    record.fitted(fitted.part(), fitted.min_cluster_size, fitted.warnings)
    assignment = fitted.assignment
    with timer.stage("label"):
        fit = topic_fit(vectors, assignment.labels, weights)
        descriptions = describe_topics(
            unique.texts, vectors, assignment.labels, weights, fit.centroids, cfg.labeling, compute
        )
    with timer.stage("tables"):
        headlines = headline_table(prepared, assignment, descriptions, fit, fitted.map_xy)
        row_topics = headlines["topic_id"].to_numpy()
        topics = topic_table(prepared, row_topics, descriptions, fit.cohesion, cfg.input)
    record.assigned(row_topics, assignment.assigned_by[unique.row_to_unique])
    model = f"{embedded.source.name}/{vectors.shape[1]}"
    return Described(topics, headlines, fit.centroids, assignment.labels, model)


def track_week(
    cfg: Config, prepared: PreparedInput, described: Described, previous: PreviousRun | None, record: RunRecord,
    timer: StageTimer,
) -> RunTables:  # fmt: skip
    """The track stage: keys and statuses against `previous`; the run's tables."""
    from cluster.track import track_run

    unique = prepared.unique
    with timer.stage("track"):
        tracked = track_run(described.topics, described.headlines, described.centroids, unique.texts,
                            described.labels, unique.counts, described.model, previous, cfg.tracking)  # fmt: skip
    record.tracked(tracked.tracking.report)
    rejected = prepared.rejected.reset_index(drop=True)
    return RunTables(tracked.topics, tracked.headlines, rejected=rejected, changes=tracked.tracking.changes,
                     topic_state=tracked.state, text_column=cfg.input.text_column)  # fmt: skip


def embed_week(
    cfg: Config, prepared: PreparedInput, cache: Cache | None, progress: bool | None, vectors: np.ndarray | None,
    timer: StageTimer, compute: Compute | None,
) -> Embedded:  # fmt: skip
    """The embed stage through the embedding cache: only the headlines it lacks are embedded, and
    the model is loaded only for them. Or the vectors the caller already has."""
    from cluster.embed import Embedder, given_vectors, route_for
    from cluster.store.cached import cache_key, cached_rows

    texts = prepared.unique.texts
    if vectors is not None:
        return given_vectors(vectors, len(texts), cfg.embedding)
    log.info("%d unique headlines (%d rows) to embed", len(texts), prepared.counts["accepted"])
    started = time.perf_counter()
    route = route_for(cfg.embedding, cache)  # a machine's first run exports and checks the ONNX model here
    embedder = Embedder(route, cfg.embedding, progress, compute, resolve_seconds=time.perf_counter() - started)
    found = cached_rows(cache, cache_key(*route.key_parts), texts, embedder)
    embedded = embedder.result(found, cache, time.perf_counter() - started)
    timer.add(embedded.seconds)
    return embedded
