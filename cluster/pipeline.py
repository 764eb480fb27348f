"""The stages of one run, wired in order: read → clean → embed → fit (reduce and cluster) →
label → tables → track. Each stage lives in its own module; this one calls them, times them and
hands each stage's part to the run record. Heavy libraries are imported by the stages that need
them."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.clean import CLEAN_TEXT, PreparedInput, clean_headlines, deduplicate, row_counts, select_window
from cluster.compute import Compute
from cluster.config import Config
from cluster.errors import InputError
from cluster.read import check_columns, read_headlines
from cluster.record import ModelPart, RunRecord, StageTimer
from cluster.schema import ADDED_TO_INPUT
from cluster.tables import RunTables
from cluster.track import PreviousRun
from cluster.weeks import Window

if TYPE_CHECKING:
    from cluster.embed import Embedded
    from cluster.store import Cache

log = logging.getLogger(__name__)


def prepare_input(cfg: Config, window: Window | None, compute: Compute | None = None) -> PreparedInput:
    """Read, select the window and clean: fast, no model. Raises InputError on unusable input.
    With a Dask `compute`, the input files are read on the workers."""
    start = time.perf_counter()
    if not cfg.input.path:
        raise InputError("no input given: pass --input PATH or set input.path in the config")
    read = read_headlines(cfg.input.path, cfg.input.format, cfg.input.encoding, compute)
    date_column = cfg.input.date_column if window is not None else None
    check_columns(read.frame, cfg.input.text_column, date_column, [*ADDED_TO_INPUT, CLEAN_TEXT])
    inside, undated, outside = select_window(read.frame, cfg.input.date_column, window)
    cleaned = clean_headlines(inside, cfg.input.text_column, cfg.cleaning)
    rejected = pd.concat([part for part in (undated, cleaned.rejected) if part is not None]).sort_index()
    if cleaned.accepted.empty:
        raise InputError(
            f"no usable headlines: all {len(inside)} rows in the window were rejected "
            f"({rejected['reason'].value_counts().to_dict()}); check input.text_column"
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
    from cluster.fit import FitInput, fit_topics
    from cluster.label import describe_topics
    from cluster.store import finish_cache, open_cache
    from cluster.tables import headline_table, topic_fit, topic_table
    from cluster.track import track_run

    window = prepared.window.record() if prepared.window else None
    record = RunRecord(run_id, cfg.model_dump(mode="json"), [vars(f) for f in prepared.files], window, prepared.counts)
    timer = StageTimer(seconds={"read_clean": prepared.seconds})
    unique, weights = prepared.unique, prepared.unique.counts.astype(float)
    with open_cache(cfg.cache) as cache:
        embedded = _embed(cfg, prepared, cache, progress, vectors, timer, compute)
        vectors = embedded.vectors
        record.embedded(_model_part(embedded), embedded.device)
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
        with timer.stage("track"):
            model = f"{embedded.source.name}/{vectors.shape[1]}"
            tracked = track_run(topics, headlines, fit.centroids, unique.texts, assignment.labels, unique.counts,
                                model, previous, cfg.tracking)  # fmt: skip
        record.tracked(tracked.tracking.report)
        with timer.stage("cache"):
            cache_report = finish_cache(cache, cfg.cache)
    record.finished(cache_report, timer.seconds, memory_report(compute))
    rejected = prepared.rejected.reset_index(drop=True)
    tables = RunTables(tracked.topics, tracked.headlines, rejected=rejected, changes=tracked.tracking.changes,
                       topic_state=tracked.state, text_column=cfg.input.text_column)  # fmt: skip
    return tables, record


def _embed(
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


def memory_report(compute: Compute | None) -> dict[str, Any]:
    """Peak resident memory of this process (and of the Dask workers, when they did work), in MB."""
    from cluster.compute import peak_rss_mb

    report: dict[str, Any] = {"peak_rss_mb": peak_rss_mb()}
    if compute is not None and compute.distributed:
        report["workers_peak_rss_mb"] = compute.workers_peak_rss_mb()
    return report


def _model_part(embedded: Embedded) -> ModelPart:
    """The run record's `model`: the model, the route that made the vectors, and why the route
    differs from the one asked for, when it does."""
    source = embedded.source
    dimension = int(embedded.vectors.shape[1])
    return ModelPart(source.name, source.kind, source.location, dimension, embedded.backend, embedded.note)
