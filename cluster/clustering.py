"""Cluster stage: HDBSCAN on the reduced points, a merge of similar pieces, the outlier policy
and numbering by size; `cluster_topics` runs the whole chain.

Everything here works on unique headlines; `weights` (input rows per unique headline) make
sizes and centroids count duplicates the way the output tables do.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cluster.config import ClusteringConfig

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from scipy.sparse import csr_matrix

log = logging.getLogger(__name__)

UNCLUSTERED = -1
BY_HDBSCAN, BY_NEAREST, BY_NONE = "hdbscan", "nearest", "none"
BY_GROUPING = "grouped"  # a short list, grouped without HDBSCAN (`group_headlines`)
_BLOCK = 2048  # rows per similarity product in the evidence checks: bounds their memory
_CANDIDATES = 5  # topics, by centroid similarity, whose evidence an unclustered headline is weighed for


def resolve_min_cluster_size(setting: int | str, n_unique: int) -> int:
    """`auto` grows slowly with the input: 5 up to ~15k distinct headlines, 8 for 30k, 14 for 100k.

    It is small on purpose: HDBSCAN should find tight pieces, which `merge_similar_topics` joins."""
    if setting != "auto":
        return int(setting)
    return int(min(50, max(5, round(math.sqrt(n_unique) / 22))))


def with_min_cluster_size(cfg: ClusteringConfig, n_unique: int) -> ClusteringConfig:
    """The section with `auto` replaced by the size it stands for at `n_unique` headlines."""
    return cfg.model_copy(update={"min_cluster_size": resolve_min_cluster_size(cfg.min_cluster_size, n_unique)})


def cluster_points(points: np.ndarray, cfg: ClusteringConfig) -> np.ndarray:
    """HDBSCAN labels (-1 = unclustered) for the reduced points; `cfg.min_cluster_size` must be
    resolved already (`with_min_cluster_size`)."""
    from sklearn.cluster import HDBSCAN

    min_cluster_size = int(cfg.min_cluster_size)
    if len(points) < min_cluster_size:
        return np.full(len(points), UNCLUSTERED, dtype=np.int64)
    model = HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=min(cfg.min_samples, len(points)) if cfg.min_samples else None,
        cluster_selection_method=cfg.cluster_selection_method,
        cluster_selection_epsilon=cfg.cluster_selection_epsilon,
        metric="euclidean",
        copy=True,
    )
    return model.fit_predict(points).astype(np.int64)


def topic_centroids(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> dict[int, np.ndarray]:
    """Unit-length, duplicate-weighted mean embedding of each topic."""
    centroids: dict[int, np.ndarray] = {}
    for topic in np.unique(labels[labels != UNCLUSTERED]):
        members = labels == topic
        mean = np.average(vectors[members], axis=0, weights=weights[members])
        centroids[int(topic)] = mean / max(np.linalg.norm(mean), 1e-12)
    return centroids


def merge_similar_topics(
    vectors: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    threshold: float | None,
    words: "csr_matrix | None" = None,
    lexical_weight: float = 0.0,
    linkage: str = "average",
) -> np.ndarray:
    """Join topics whose blended centroid similarity is at least `threshold`:

        s(A, B) = (cos(mean embedding A, mean embedding B) + w · cos(mean words A, mean words B)) / (1 + w)

    with w = `lexical_weight` and `words` the unit-length TF-IDF rows of `reduce.word_vectors`.
    HDBSCAN with a small min_cluster_size finds tight pieces of stories; one story's pieces share
    its meaning and its rare words, so this pass puts them back together. Topics are grouped by
    agglomerative clustering cut at 1 - threshold: `average` linkage (the mean s over the pairs
    of two groups) by default, `complete` (every pair) for the tight pieces of a short list
    (`group_headlines`). None switches the pass off.
    """
    topic_ids = np.unique(labels[labels != UNCLUSTERED])
    if threshold is None or len(topic_ids) < 2:
        return labels
    import scipy.sparse as sp
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.preprocessing import normalize

    members = np.flatnonzero(labels != UNCLUSTERED)
    # duplicate-weighted membership: one row per topic, one column per unique headline
    membership = sp.csr_matrix(
        (weights[members], (np.searchsorted(topic_ids, labels[members]), members)),
        shape=(len(topic_ids), len(labels)),
    )
    embedding_centroids = normalize(np.asarray(membership @ vectors))
    similarity = embedding_centroids @ embedding_centroids.T
    if words is not None and lexical_weight > 0:
        word_centroids = normalize(membership @ words)
        similarity = (similarity + lexical_weight * (word_centroids @ word_centroids.T).toarray()) / (
            1.0 + lexical_weight
        )
    distance = np.clip(1.0 - similarity, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    groups = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage=linkage, distance_threshold=1.0 - threshold
    ).fit_predict(distance)
    # each merged topic takes the smallest id among its parts, so numbering stays stable
    target = {int(t): int(topic_ids[groups == groups[i]].min()) for i, t in enumerate(topic_ids)}
    return np.array([target.get(int(t), UNCLUSTERED) for t in labels], dtype=np.int64)


@dataclass(frozen=True)
class Assignment:
    """Final topic of every unique headline and how it got there."""

    labels: np.ndarray
    assigned_by: np.ndarray


def _one_blas_thread() -> "AbstractContextManager[object]":
    """The evidence checks make hundreds of small products (one topic at a time), for which a
    multi-threaded BLAS spends more time waking its threads than multiplying: on a 31k week
    1.2 s with one thread against 10 s with two on a busy machine."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _closest(vectors: np.ndarray, rows: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Cosine similarity of each of `rows` to its most similar headline among `members`, other
    than itself (-1 when there is none), a block of rows at a time to bound memory."""
    closest = np.full(len(rows), -1.0)
    for start in range(0, len(rows), _BLOCK):
        part = rows[start : start + _BLOCK]
        similarity = vectors[part] @ vectors[members].T
        similarity[part[:, None] == members[None, :]] = -1.0
        if similarity.shape[1]:
            closest[start : start + _BLOCK] = similarity.max(axis=1)
    return closest


def member_evidence(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """How well each clustered headline is backed by the rest of its topic T (-1 where unclustered):

        e(h, T) = (max over m in T, m ≠ h of cos(h, m) + cos(h, c(T without h))) / 2

    with c the duplicate-weighted mean embedding. The first term asks for a close relative, a
    headline that tells the same story; the second, that h is like the topic as a whole. A
    stray that UMAP and HDBSCAN put at a topic's edge has neither (benchmarks/strays.py): on a
    dev week with one-off headlines added, the mean tells them from the topic's own members a
    little better than either term alone, and far better than a bar set per topic from its
    members' spread, which is low exactly in the loose topics that take strays in."""
    evidence = np.full(len(labels), -1.0)
    with _one_blas_thread():
        for topic in np.unique(labels[labels != UNCLUSTERED]):
            members = np.flatnonzero(labels == topic)
            if len(members) < 2:
                continue
            total = weights[members] @ vectors[members]
            others = total[None, :] - weights[members, None] * vectors[members]
            norms = np.maximum(np.linalg.norm(others, axis=1), 1e-12)
            centroid = np.einsum("ij,ij->i", others, vectors[members]) / norms
            evidence[members] = (_closest(vectors, members, members) + centroid) / 2
    return evidence


def best_evidence(
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each of `rows` (unclustered headlines), the topic it has the most evidence for
    (`member_evidence`'s e(h, T), h outside T) and that evidence. Only the `_CANDIDATES` topics
    with the most similar centroids are weighed: the closest-relative term needs the topic's
    members, and the centroid term, half of the evidence, all but rules out the others."""
    centroids = topic_centroids(vectors, labels, weights)
    topic_ids = np.array(sorted(centroids), dtype=np.int64)
    similarity = vectors[rows] @ np.stack([centroids[t] for t in topic_ids]).T
    k = min(_CANDIDATES, len(topic_ids))
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    evidence = np.full(nearest.shape, -1.0)
    with _one_blas_thread():
        for j in np.unique(nearest):
            row, slot = np.nonzero(nearest == j)
            closest = _closest(vectors, rows[row], np.flatnonzero(labels == topic_ids[j]))
            evidence[row, slot] = (closest + similarity[row, j]) / 2
    best = evidence.argmax(axis=1)
    picked = np.arange(len(rows))
    return topic_ids[nearest[picked, best]], evidence[picked, best]


def drop_unsupported(
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, threshold: float | None
) -> np.ndarray:
    """Labels with every member whose `member_evidence` falls below `threshold` unclustered, and
    then every topic left with fewer than two members. HDBSCAN clusters UMAP's layout, in which
    a one-off headline lands among the headlines it is least unlike; this takes it back out, to
    meet the outlier policy like any other. One pass: evidence is measured against the topics
    as HDBSCAN and the merge left them. None keeps every member."""
    if threshold is None or np.all(labels == UNCLUSTERED):
        return labels
    kept = np.where(member_evidence(vectors, labels, weights) >= threshold, labels, UNCLUSTERED)
    sizes = np.bincount(kept[kept != UNCLUSTERED], minlength=int(labels.max()) + 1)
    big_enough = sizes[np.maximum(kept, 0)] >= 2
    return np.where((kept != UNCLUSTERED) & big_enough, kept, UNCLUSTERED)


def assign_outliers(
    vectors: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    cfg: ClusteringConfig,
    clustered_by: str = BY_HDBSCAN,
    threshold: float | None = None,
) -> Assignment:
    """Apply `clustering.outliers`: keep unclustered headlines, or move each to the topic it has
    the most evidence for (`best_evidence`) when that evidence reaches `threshold`
    (`cfg.outlier_threshold` unless given). Headlines already in a topic are marked `clustered_by`."""
    assigned_by = np.where(labels == UNCLUSTERED, BY_NONE, clustered_by).astype(object)
    final = labels.copy()
    outliers = np.flatnonzero(labels == UNCLUSTERED)
    if cfg.outliers == "keep" or len(outliers) == 0 or np.all(labels == UNCLUSTERED):
        return Assignment(final, assigned_by)
    topics, evidence = best_evidence(vectors, labels, weights, outliers)
    accepted = evidence >= (cfg.outlier_threshold if threshold is None else threshold)
    final[outliers[accepted]] = topics[accepted]
    assigned_by[outliers[accepted]] = BY_NEAREST
    return Assignment(final, assigned_by)


def number_topics_by_size(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Renumber topics 0, 1, 2... from the largest (in input rows) down; ties go to the topic
    whose first headline comes first. -1 stays -1."""
    topics = [int(t) for t in np.unique(labels) if t != UNCLUSTERED]
    size = {t: float(weights[labels == t].sum()) for t in topics}
    first = {t: int(np.flatnonzero(labels == t)[0]) for t in topics}
    order = sorted(topics, key=lambda t: (-size[t], first[t]))
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(int(t), UNCLUSTERED) for t in labels], dtype=np.int64)


def join_pieces(
    pieces: np.ndarray,
    vectors: np.ndarray,
    weights: np.ndarray,
    cfg: ClusteringConfig,
    words: "csr_matrix | None" = None,
) -> Assignment:
    """Everything after HDBSCAN: the merge (`merge_similar_topics`), members without evidence
    taken out (`drop_unsupported`), the outlier policy (`assign_outliers`) and numbering by size
    (`number_topics_by_size`)."""
    labels = merge_similar_topics(vectors, pieces, weights, cfg.merge_threshold, words, cfg.merge_lexical_weight)
    labels = drop_unsupported(vectors, labels, weights, cfg.member_threshold)
    assignment = assign_outliers(vectors, labels, weights, cfg)
    return Assignment(number_topics_by_size(assignment.labels, weights), assignment.assigned_by)


def group_headlines(
    vectors: np.ndarray, weights: np.ndarray, cfg: ClusteringConfig, words: "csr_matrix | None" = None
) -> Assignment:
    """Topics of a short list (fewer distinct headlines than `cfg.small_input_below`), without
    UMAP or HDBSCAN, which need far more points than a list of related stories has.

    As on the whole path, tight pieces first, then a merge of the pieces, by the blended
    similarity of `merge_similar_topics`: every headline starts alone; complete linkage at
    `cfg.small_input_threshold` makes pieces in which every two headlines are that alike; the
    pieces whose centroids reach `cfg.small_input_merge_threshold` are joined (average linkage;
    never below `small_input_threshold`, so no two single headlines less alike are joined).
    Average linkage from single headlines lets a headline that touches two stories ("Asian
    stocks slip ... ahead of Japan's election") pull them together; pieces do not
    (benchmarks/small_lists.py). A topic needs two or more distinct headlines: a headline left
    alone is unclustered, and then meets the outlier policy (`assign_outliers`), held to
    `small_input_threshold`, the similarity at which two single headlines count as one story."""
    singles = np.arange(len(vectors), dtype=np.int64)
    threshold, lexical_weight = cfg.small_input_threshold, cfg.merge_lexical_weight
    pieces = merge_similar_topics(vectors, singles, weights, threshold, words, lexical_weight, linkage="complete")
    joined = max(cfg.small_input_merge_threshold, threshold)
    labels = merge_similar_topics(vectors, pieces, weights, joined, words, lexical_weight)
    labels = np.where(np.bincount(labels, minlength=1)[labels] >= 2, labels, UNCLUSTERED)
    assignment = assign_outliers(vectors, labels, weights, cfg, clustered_by=BY_GROUPING, threshold=threshold)
    return Assignment(number_topics_by_size(assignment.labels, weights), assignment.assigned_by)


def cluster_topics(
    points: np.ndarray | None,
    vectors: np.ndarray,
    weights: np.ndarray,
    cfg: ClusteringConfig,
    words: "csr_matrix | None" = None,
) -> Assignment:
    """The whole cluster stage: HDBSCAN pieces of the reduced `points` (`cluster_points`), then
    `join_pieces`. `points` is None when there were too few headlines to reduce: every headline is
    then left unclustered. `cfg.min_cluster_size` must be resolved already (`with_min_cluster_size`).
    """
    if points is None:
        pieces = np.full(len(vectors), UNCLUSTERED, dtype=np.int64)
    else:
        pieces = cluster_points(points, cfg)
    return join_pieces(pieces, vectors, weights, cfg, words)


def no_topic_warnings(
    n_unique: int, min_cluster_size: int, reduced: bool, labels: np.ndarray, direct: bool = False
) -> list[str]:
    """What run.json and the report say when a week yields no topic (and log as a warning).
    `direct`: the headlines were grouped without UMAP and HDBSCAN (`group_headlines`)."""
    if direct and n_unique < 2:
        message = "only 1 distinct headline, and a topic needs two; it is left unclustered"
    elif direct:
        if not (labels == UNCLUSTERED).all():
            return []
        message = (
            f"no two of the {n_unique} distinct headlines are similar enough to form a topic "
            "(clustering.small_input_threshold); every headline is left unclustered"
        )
    elif not reduced:
        message = (
            f"only {n_unique} distinct headlines, fewer than a topic needs "
            f"(min_cluster_size {min_cluster_size}); every headline is left unclustered"
        )
    elif (labels == UNCLUSTERED).all():
        message = "HDBSCAN found no topic; every headline is left unclustered"
    else:
        return []
    log.warning(message)
    return [message]
