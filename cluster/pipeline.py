"""The stages of one run, wired in order: read → clean → embed → reduce → cluster → label →
tables → track. Each stage lives in its own module; this one only calls them and times them.
Heavy libraries are imported by the stages that need them."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.clean import (
    CLEAN_TEXT,
    PreparedInput,
    clean_headlines,
    deduplicate,
    parse_dates,
    row_counts,
    select_window,
)
from cluster.clustering import (
    Assignment,
    group_headlines,
    no_topic_warnings,
    stored_topics,
    with_min_cluster_size,
)
from cluster.compute import Compute
from cluster.config import ClusteringConfig, Config
from cluster.errors import InputError
from cluster.read import check_columns, read_headlines
from cluster.schema import ADDED_TO_INPUT
from cluster.track import PreviousRun
from cluster.weeks import Window

if TYPE_CHECKING:
    from collections.abc import Callable

    from scipy.sparse import csr_matrix

    from cluster.embed import Embedded
    from cluster.manifest import StageTimer
    from cluster.reduce import Reduction
    from cluster.store import Cache
    from cluster.tables import RunResult

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
) -> RunResult:
    """Embed, reduce, cluster, label and track a prepared week; returns the tables and the manifest.

    `previous` is the run to match topics against (see `cluster.runs.find_previous_run`).
    `vectors` may hold the unique headlines' embeddings already (from `cfg.embedding.model`),
    e.g. when a benchmark compares several systems on the same embeddings. `compute` says where
    partitioned work runs (`cluster.compute`; this process by default).
    """
    from cluster.label import describe_topics
    from cluster.manifest import StageTimer, build_manifest
    from cluster.store import finish_cache, open_cache
    from cluster.tables import RunResult, headline_table, topic_fit, topic_table
    from cluster.track import track_run

    timer = StageTimer(seconds={"read_clean": prepared.seconds})
    started = dt.datetime.now(dt.timezone.utc)
    unique, weights = prepared.unique, prepared.unique.counts.astype(float)
    with open_cache(cfg.cache) as cache:
        embedded = _embed(cfg, prepared, cache, progress, vectors, timer, compute)
        vectors = embedded.vectors
        fitted = _fit(cfg, prepared, vectors, cache, timer, compute)
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
        with timer.stage("track"):
            model = f"{embedded.source.name}/{vectors.shape[1]}"
            tracked = track_run(topics, headlines, fit.centroids, unique.texts, assignment.labels, unique.counts,
                                model, previous, cfg.tracking)  # fmt: skip
        with timer.stage("cache"):
            cache_report = finish_cache(cache, cfg.cache)
    min_cluster_size = fitted.min_cluster_size
    warnings = no_topic_warnings(len(unique.texts), min_cluster_size, fitted.reduced, assignment.labels, fitted.direct)
    row_assigned = assignment.assigned_by[unique.row_to_unique]
    manifest = build_manifest(cfg, run_id, started, prepared, embedded, row_topics, row_assigned, min_cluster_size,
                              tracked.tracking, cache_report, timer.seconds, warnings)  # fmt: skip
    manifest["fit"] = fitted.record(len(unique.texts))
    manifest["memory"] = memory_report(compute)
    return RunResult(
        run_id=run_id,
        topics=tracked.topics,
        headlines=tracked.headlines,
        rejected=prepared.rejected.reset_index(drop=True),
        manifest=manifest,
        text_column=cfg.input.text_column,
        vectors=vectors,
        changes=tracked.tracking.changes,
        topic_state=tracked.state,
    )


def _embed(
    cfg: Config, prepared: PreparedInput, cache: Cache | None, progress: bool | None, vectors: np.ndarray | None,
    timer: StageTimer, compute: Compute | None,
) -> Embedded:  # fmt: skip
    """The embed stage, or the vectors the caller already has."""
    from cluster.embed import embed_headlines, given_vectors

    if vectors is not None:
        return given_vectors(vectors, len(prepared.unique.texts), cfg.embedding)
    log.info("%d unique headlines (%d rows) to embed", len(prepared.unique.texts), prepared.counts["accepted"])
    embedded = embed_headlines(prepared.unique.texts, cfg.embedding, cache, progress, compute)
    timer.add(embedded.seconds)
    return embedded


@dataclass(frozen=True)
class Fitted:
    """The topics of every unique headline and their map positions, and how they were fitted."""

    assignment: Assignment
    map_xy: np.ndarray
    min_cluster_size: int
    reduced: bool  # False when there were too few headlines to reduce
    sample: np.ndarray | None = None  # positions of the sample, when the fit used one
    direct: bool = False  # True when a short list was grouped without UMAP and HDBSCAN

    def record(self, n_unique: int) -> dict[str, Any]:
        """What run.json says about the fit."""
        if self.direct:
            return {"mode": "direct", "fitted": n_unique, "assigned": 0}
        if self.sample is None:
            return {"mode": "whole", "fitted": n_unique, "assigned": 0}
        return {"mode": "sample", "fitted": int(len(self.sample)), "assigned": n_unique - int(len(self.sample))}


def _fit(
    cfg: Config, prepared: PreparedInput, vectors: np.ndarray, cache: Cache | None, timer: StageTimer,
    compute: Compute | None,
) -> Fitted:  # fmt: skip
    """Group a short list directly (below `clustering.small_input_below`); else reduce and
    cluster every unique headline, or, above `scale.fit_sample`, a sample of them and then assign
    the rest (`cluster.scale`)."""
    from cluster.reduce import fallback_map, word_vectors
    from cluster.scale import assign_rest, draw_sample, fits_whole

    texts, weights = prepared.unique.texts, prepared.unique.counts.astype(float)
    if len(texts) < cfg.clustering.small_input_below:
        with timer.stage("cluster"):
            log.info("%d distinct headlines: grouping them directly, without UMAP and HDBSCAN", len(texts))
            words = word_vectors(texts) if cfg.clustering.merge_lexical_weight > 0 else None
            assignment = group_headlines(vectors, weights, cfg.clustering, words)
        # a short list's topics need two distinct headlines, whatever min_cluster_size says
        return Fitted(assignment, fallback_map(vectors), 2, False, direct=True)
    if fits_whole(len(texts), cfg.scale):
        clustering = with_min_cluster_size(cfg.clustering, len(texts))
        words = _words(cfg, clustering, texts)
        reduction = _reduce(cfg, clustering, texts, vectors, cache, timer, words)
        with timer.stage("cluster"):
            points = reduction.points if reduction is not None else None
            if points is not None:
                log.info("clustering with HDBSCAN (min_cluster_size %d)", clustering.min_cluster_size)
            assignment = stored_topics(points, vectors, weights, clustering, texts, words, cache)
        map_xy = reduction.map_xy if reduction is not None else fallback_map(vectors)
        return Fitted(assignment, map_xy, int(clustering.min_cluster_size), reduction is not None)
    assert cfg.scale.fit_sample is not None
    clustering = with_min_cluster_size(cfg.clustering, cfg.scale.fit_sample)
    sample = draw_sample(len(texts), cfg.scale.fit_sample, cfg.reduction.random_state, _unique_days(cfg, prepared))
    log.info("fitting on a sample of %d of %d distinct headlines", len(sample), len(texts))
    sample_texts, sample_vectors = [texts[i] for i in sample], np.ascontiguousarray(vectors[sample])
    words = _words(cfg, clustering, sample_texts)
    reduction = _reduce(cfg, clustering, sample_texts, sample_vectors, cache, timer, words)
    assert reduction is not None  # a sample is far larger than a topic
    with timer.stage("cluster"):
        log.info("clustering with HDBSCAN (min_cluster_size %d)", clustering.min_cluster_size)
        fitted = stored_topics(
            reduction.points, sample_vectors, weights[sample], clustering, sample_texts, words, cache
        )
    with timer.stage("assign"):
        log.info("assigning %d headlines to the sample's topics", len(texts) - len(sample))
        assignment, map_xy = assign_rest(
            vectors, weights, sample, fitted, reduction.map_xy, clustering, cfg.scale, compute
        )
    return Fitted(assignment, map_xy, int(clustering.min_cluster_size), True, sample)


def _unique_days(cfg: Config, prepared: PreparedInput) -> np.ndarray | None:
    """The day of each unique headline's first row, when the input has dates (else None)."""
    column = cfg.input.date_column
    if column not in prepared.accepted.columns:
        return None
    rows = prepared.unique.row_to_unique
    first = np.full(len(prepared.unique.texts), len(rows), dtype=np.int64)
    np.minimum.at(first, rows, np.arange(len(rows)))
    return parse_dates(prepared.accepted[column]).to_numpy()[first]


def memory_report(compute: Compute | None) -> dict[str, Any]:
    """Peak resident memory of this process (and of the Dask workers, when they did work), in MB."""
    from cluster.compute import peak_rss_mb

    report: dict[str, Any] = {"peak_rss_mb": peak_rss_mb()}
    if compute is not None and compute.distributed:
        report["workers_peak_rss_mb"] = compute.workers_peak_rss_mb()
    return report


def _words(cfg: Config, clustering: ClusteringConfig, texts: list[str]) -> Callable[[], csr_matrix | None]:
    """The word vectors of `texts` that the neighbour graph and the merge share, built on first
    use (a rerun that finds UMAP's and HDBSCAN's results in the cache needs none); None when
    neither uses word overlap."""
    from cluster.reduce import word_vectors

    needed = cfg.reduction.lexical_weight > 0 or clustering.merge_lexical_weight > 0
    return functools.cache(lambda: word_vectors(texts) if needed else None)


def _reduce(
    cfg: Config, clustering: ClusteringConfig, texts: list[str], vectors: np.ndarray, cache: Cache | None,
    timer: StageTimer, words: Callable[[], csr_matrix | None],
) -> Reduction | None:  # fmt: skip
    """The reduce stage; None when there are too few headlines for a topic."""
    from cluster.reduce import reduce_headlines, too_few_to_reduce

    if too_few_to_reduce(len(texts), cfg.reduction) or len(texts) < int(clustering.min_cluster_size):
        return None
    with timer.stage("reduce"):
        log.info("reducing with UMAP to %d dimensions and a 2-D map", cfg.reduction.n_components)
        return reduce_headlines(vectors, texts, cfg.reduction, cache, words)
