"""The fit policy: how a run's distinct headlines get their topics.

- **direct**: a short list (fewer than `clustering.small_input_below` distinct headlines) is
  grouped without UMAP and HDBSCAN (`clustering.group_headlines`); a topic needs two headlines;
- **whole**: every distinct headline is reduced (UMAP) and clustered (HDBSCAN, merge, members
  without evidence taken out, outliers: `clustering.join_pieces`);
- **sample**: above `scale.fit_sample`, a sample is reduced and clustered and every other
  headline is assigned to the sample's topics (`cluster.scale`), by the same evidence rule.

The reduce and cluster stages take arrays and return arrays; here their results go through the
cache (`cluster.store.cached`), keyed by everything they depend on, so a rerun skips them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from cluster import clustering as clustering_stage
from cluster import reduce as reduce_stage
from cluster.clustering import Assignment, cluster_topics, group_headlines, no_topic_warnings, with_min_cluster_size
from cluster.config import ClusteringConfig, Config
from cluster.record import FitPart, StageTimer
from cluster.reduce import Reduction, fallback_map, keep_compiled, reduce_embeddings, too_few_to_reduce, word_vectors
from cluster.scale import assign_rest, draw_sample, fits_whole
from cluster.store.cached import cache_key, cached_arrays, library_versions

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from cluster.compute import Compute
    from cluster.store import Cache

log = logging.getLogger(__name__)

DIRECT, WHOLE, SAMPLE = "direct", "whole", "sample"
SHORT_LIST_TOPIC_SIZE = 2  # a short list's topic needs two distinct headlines, whatever min_cluster_size says
# the libraries whose versions may change the bits of a reduction or a clustering
_FIT_LIBRARIES = ("umap-learn", "pynndescent", "numba", "scikit-learn", "numpy")

Words = Callable[[], "csr_matrix | None"]


@dataclass(frozen=True)
class Fitted:
    """The topics of every distinct headline and their map positions, and how they were fitted."""

    assignment: Assignment
    map_xy: np.ndarray
    min_cluster_size: int
    mode: str  # DIRECT, WHOLE or SAMPLE
    fitted: int  # distinct headlines the fit saw (the sample's size on the sample path)
    warnings: list[str]

    def part(self) -> FitPart:
        """What the run record says about the fit."""
        return FitPart(self.mode, self.fitted, len(self.assignment.labels) - self.fitted)


@dataclass(frozen=True)
class FitInput:
    """The distinct headlines to fit: their texts, rows per headline, vectors, and the day of
    each (None without dates), which spreads a sample over the days."""

    texts: list[str]
    weights: np.ndarray
    vectors: np.ndarray
    days: np.ndarray | None = None


def fit_topics(
    data: FitInput, cfg: Config, cache: "Cache | None", timer: StageTimer, compute: "Compute | None" = None
) -> Fitted:
    """Group a short list directly, else fit every distinct headline whole, else fit a sample
    and assign the rest (see the module's doc)."""
    if len(data.texts) < cfg.clustering.small_input_below:
        return _fit_direct(data, cfg.clustering, timer)
    if fits_whole(len(data.texts), cfg.scale):
        return _fit_whole(data, cfg, cache, timer)
    return _fit_sample(data, cfg, cache, timer, compute)


def lazy_words(texts: list[str], needed: bool) -> Words:
    """The word vectors of `texts` that the neighbour graph and the merge share, built on first
    use (a rerun whose results are cached needs none); None when nothing uses word overlap."""
    return functools.cache(lambda: word_vectors(texts) if needed else None)


def _fit_direct(data: FitInput, clustering: ClusteringConfig, timer: StageTimer) -> Fitted:
    with timer.stage("cluster"):
        log.info("%d distinct headlines: grouping them directly, without UMAP and HDBSCAN", len(data.texts))
        words = lazy_words(data.texts, clustering.merge_lexical_weight > 0)()
        assignment = group_headlines(data.vectors, data.weights, clustering, words)
    n = len(data.texts)
    warnings = no_topic_warnings(n, SHORT_LIST_TOPIC_SIZE, False, assignment.labels, direct=True)
    return Fitted(assignment, fallback_map(data.vectors), SHORT_LIST_TOPIC_SIZE, DIRECT, n, warnings)


def _fit_whole(data: FitInput, cfg: Config, cache: "Cache | None", timer: StageTimer) -> Fitted:
    clustering = with_min_cluster_size(cfg.clustering, len(data.texts))
    size = int(clustering.min_cluster_size)
    words = _words(cfg, clustering, data.texts)
    reduction = _reduce(cfg, size, data.texts, data.vectors, cache, timer, words)
    with timer.stage("cluster"):
        points = reduction.points if reduction is not None else None
        assignment = _cluster(points, data.vectors, data.weights, clustering, data.texts, words, cache)
    map_xy = reduction.map_xy if reduction is not None else fallback_map(data.vectors)
    warnings = no_topic_warnings(len(data.texts), size, reduction is not None, assignment.labels)
    return Fitted(assignment, map_xy, size, WHOLE, len(data.texts), warnings)


def _fit_sample(
    data: FitInput, cfg: Config, cache: "Cache | None", timer: StageTimer, compute: "Compute | None"
) -> Fitted:
    assert cfg.scale.fit_sample is not None  # fits_whole said no
    clustering = with_min_cluster_size(cfg.clustering, cfg.scale.fit_sample)
    size = int(clustering.min_cluster_size)
    sample = draw_sample(len(data.texts), cfg.scale.fit_sample, cfg.reduction.random_state, data.days)
    log.info("fitting on a sample of %d of %d distinct headlines", len(sample), len(data.texts))
    texts, vectors = [data.texts[i] for i in sample], np.ascontiguousarray(data.vectors[sample])
    words = _words(cfg, clustering, texts)
    reduction = _reduce(cfg, size, texts, vectors, cache, timer, words)
    assert reduction is not None  # a sample is far larger than a topic
    with timer.stage("cluster"):
        fitted = _cluster(reduction.points, vectors, data.weights[sample], clustering, texts, words, cache)
    with timer.stage("assign"):
        log.info("assigning %d headlines to the sample's topics", len(data.texts) - len(sample))
        assignment, map_xy = assign_rest(
            data.vectors, data.weights, sample, fitted, reduction.map_xy, clustering, cfg.scale, compute
        )
    warnings = no_topic_warnings(len(data.texts), size, True, assignment.labels)
    return Fitted(assignment, map_xy, size, SAMPLE, int(len(sample)), warnings)


def _words(cfg: Config, clustering: ClusteringConfig, texts: list[str]) -> Words:
    return lazy_words(texts, cfg.reduction.lexical_weight > 0 or clustering.merge_lexical_weight > 0)


def _reduce(
    cfg: Config, min_cluster_size: int, texts: list[str], vectors: np.ndarray, cache: "Cache | None",
    timer: StageTimer, words: Words,
) -> Reduction | None:  # fmt: skip
    """The reduce stage through the cache; None when there are too few headlines for a topic."""
    if too_few_to_reduce(len(texts), cfg.reduction) or len(texts) < min_cluster_size:
        return None
    key = cache_key(
        "reduction", np.asarray(vectors, dtype="<f4"), "\n".join(texts), cfg.reduction.model_dump(mode="json"),
        library_versions(_FIT_LIBRARIES), Path(reduce_stage.__file__),
    )  # fmt: skip

    def compute() -> dict[str, np.ndarray]:
        log.info("reducing with UMAP to %d dimensions and a 2-D map", cfg.reduction.n_components)
        if cache is not None:
            keep_compiled(cache.directory / "numba")
        return dataclasses.asdict(reduce_embeddings(vectors, cfg.reduction, texts, words()))

    with timer.stage("reduce"):
        return Reduction(**cached_arrays(cache, "reduction", key, compute, rows=len(texts)))


def _cluster(
    points: np.ndarray | None, vectors: np.ndarray, weights: np.ndarray, clustering: ClusteringConfig,
    texts: list[str], words: Words, cache: "Cache | None",
) -> Assignment:  # fmt: skip
    """The cluster stage through the cache: a rerun of a week skips HDBSCAN and the merge (7 s
    on 31k headlines) as it skips UMAP. Without points (too few to reduce) every headline is
    unclustered, which costs nothing to recompute."""
    if points is None:
        return cluster_topics(None, vectors, weights, clustering, words())
    key = cache_key(
        "clustering", points, np.asarray(vectors, dtype="<f4"), np.asarray(weights, dtype="<f8"), "\n".join(texts),
        clustering.model_dump(mode="json"), library_versions(_FIT_LIBRARIES),
        Path(clustering_stage.__file__), Path(reduce_stage.__file__),
    )  # fmt: skip

    def compute() -> dict[str, np.ndarray]:
        log.info("clustering with HDBSCAN (min_cluster_size %d)", clustering.min_cluster_size)
        assignment = cluster_topics(points, vectors, weights, clustering, words())
        return {"labels": assignment.labels, "assigned_by": assignment.assigned_by.astype(str)}

    stored = cached_arrays(cache, "clustering", key, compute, rows=len(points))
    return Assignment(stored["labels"].astype(np.int64), stored["assigned_by"].astype(object))
