"""The stages of one run, wired in order: read → clean → embed → reduce → cluster → label →
tables → track. Each stage lives in its own module; this one only calls them and times them.
Heavy libraries are imported by the stages that need them."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cluster.clean import CLEAN_TEXT, PreparedInput, clean_headlines, deduplicate, row_counts, select_window
from cluster.clustering import cluster_topics, no_topic_warnings, with_min_cluster_size
from cluster.config import ClusteringConfig, Config
from cluster.errors import InputError
from cluster.read import check_columns, read_headlines
from cluster.schema import ADDED_TO_INPUT
from cluster.track import PreviousRun
from cluster.weeks import Window

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from cluster.embed import Embedded
    from cluster.manifest import StageTimer
    from cluster.reduce import Reduction
    from cluster.store import Cache
    from cluster.tables import RunResult

log = logging.getLogger(__name__)


def prepare_input(cfg: Config, window: Window | None) -> PreparedInput:
    """Read, select the window and clean: fast, no model. Raises InputError on unusable input."""
    start = time.perf_counter()
    if not cfg.input.path:
        raise InputError("no input given: pass --input PATH or set input.path in the config")
    read = read_headlines(cfg.input.path, cfg.input.format, cfg.input.encoding)
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
) -> RunResult:
    """Embed, reduce, cluster, label and track a prepared week; returns the tables and the manifest.

    `previous` is the run to match topics against (see `cluster.runs.find_previous_run`).
    `vectors` may hold the unique headlines' embeddings already (from `cfg.embedding.model`),
    e.g. when a benchmark compares several systems on the same embeddings.
    """
    from cluster.label import describe_topics
    from cluster.manifest import StageTimer, build_manifest
    from cluster.reduce import fallback_map
    from cluster.store import finish_cache, open_cache
    from cluster.tables import RunResult, headline_table, topic_fit, topic_table
    from cluster.track import track_run

    timer = StageTimer(seconds={"read_clean": prepared.seconds})
    started = dt.datetime.now(dt.timezone.utc)
    unique, weights = prepared.unique, prepared.unique.counts.astype(float)
    clustering = with_min_cluster_size(cfg.clustering, len(unique.texts))
    with open_cache(cfg.cache) as cache:
        embedded = _embed(cfg, prepared, cache, progress, vectors, timer)
        vectors = embedded.vectors
        reduction, words = _reduce(cfg, clustering, unique.texts, vectors, cache, timer)
        with timer.stage("cluster"):
            points = reduction.points if reduction is not None else None
            if points is not None:
                log.info("clustering with HDBSCAN (min_cluster_size %d)", clustering.min_cluster_size)
            assignment = cluster_topics(points, vectors, weights, clustering, words)
        with timer.stage("label"):
            fit = topic_fit(vectors, assignment.labels, weights)
            descriptions = describe_topics(
                unique.texts, vectors, assignment.labels, weights, fit.centroids, cfg.labeling
            )
        with timer.stage("tables"):
            map_xy = reduction.map_xy if reduction is not None else fallback_map(vectors)
            headlines = headline_table(prepared, assignment, descriptions, fit, map_xy)
            row_topics = headlines["topic_id"].to_numpy()
            topics = topic_table(prepared, row_topics, descriptions, fit.cohesion, cfg.input)
        with timer.stage("track"):
            model = f"{embedded.source.name}/{vectors.shape[1]}"
            tracked = track_run(topics, headlines, fit.centroids, unique.texts, assignment.labels, unique.counts,
                                model, previous, cfg.tracking)  # fmt: skip
        with timer.stage("cache"):
            cache_report = finish_cache(cache, cfg.cache)
    min_cluster_size = int(clustering.min_cluster_size)
    warnings = no_topic_warnings(len(unique.texts), min_cluster_size, reduction is not None, assignment.labels)
    row_assigned = assignment.assigned_by[unique.row_to_unique]
    manifest = build_manifest(cfg, run_id, started, prepared, embedded, row_topics, row_assigned, min_cluster_size,
                              tracked.tracking, cache_report, timer.seconds, warnings)  # fmt: skip
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
    timer: StageTimer,
) -> Embedded:  # fmt: skip
    """The embed stage, or the vectors the caller already has."""
    from cluster.embed import embed_headlines, given_vectors

    if vectors is not None:
        return given_vectors(vectors, len(prepared.unique.texts), cfg.embedding)
    log.info("%d unique headlines (%d rows) to embed", len(prepared.unique.texts), prepared.counts["accepted"])
    embedded = embed_headlines(prepared.unique.texts, cfg.embedding, cache, progress)
    timer.add(embedded.seconds)
    return embedded


def _reduce(
    cfg: Config, clustering: ClusteringConfig, texts: list[str], vectors: np.ndarray, cache: Cache | None,
    timer: StageTimer,
) -> tuple[Reduction | None, csr_matrix | None]:  # fmt: skip
    """The reduce stage and the word vectors it shares with the merge; (None, None) when there are
    too few headlines for a topic."""
    from cluster.reduce import reduce_headlines, too_few_to_reduce, word_vectors

    if too_few_to_reduce(len(texts), cfg.reduction) or len(texts) < int(clustering.min_cluster_size):
        return None, None
    with timer.stage("reduce"):
        log.info("reducing with UMAP to %d dimensions and a 2-D map", cfg.reduction.n_components)
        # the word vectors feed both the neighbour graph (on a cache miss) and the merge
        needs_words = cfg.reduction.lexical_weight > 0 or clustering.merge_lexical_weight > 0
        words = word_vectors(texts) if needs_words else None
        return reduce_headlines(vectors, texts, cfg.reduction, cache, words), words
