"""Cluster stage: HDBSCAN on the reduced points, then the outlier policy.

Everything here works on unique headlines; `weights` (input rows per unique headline) make
sizes and centroids count duplicates the way the output tables do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cluster.config import ClusteringConfig

UNCLUSTERED = -1
BY_HDBSCAN, BY_NEAREST, BY_NONE = "hdbscan", "nearest", "none"


def resolve_min_cluster_size(setting: int | str, n_unique: int) -> int:
    """`auto` grows slowly with the week's size: 5 for a few hundred headlines, ~25 for 30k."""
    if setting != "auto":
        return int(setting)
    return int(min(50, max(5, round(math.sqrt(n_unique) / 7))))


def cluster_points(points: np.ndarray, cfg: ClusteringConfig) -> np.ndarray:
    """HDBSCAN labels (-1 = unclustered) for the reduced points."""
    from sklearn.cluster import HDBSCAN

    min_cluster_size = resolve_min_cluster_size(cfg.min_cluster_size, len(points))
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
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, threshold: float | None
) -> np.ndarray:
    """Join topics whose centroids are at least `threshold` cosine-similar.

    HDBSCAN on a UMAP projection sometimes cuts one story into several dense pieces; their
    centroids in embedding space stay close. Topics are grouped by average-linkage clustering of
    the centroids, cut at distance 1 - threshold. None switches the pass off.
    """
    centroids = topic_centroids(vectors, labels, weights)
    if threshold is None or len(centroids) < 2:
        return labels
    from sklearn.cluster import AgglomerativeClustering

    topic_ids = np.array(sorted(centroids))
    matrix = np.stack([centroids[t] for t in topic_ids])
    groups = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - threshold
    ).fit_predict(matrix)
    # each merged topic takes the smallest id among its parts, so numbering stays stable
    target = {int(t): int(topic_ids[groups == groups[i]].min()) for i, t in enumerate(topic_ids)}
    return np.array([target.get(int(t), UNCLUSTERED) for t in labels], dtype=np.int64)


@dataclass(frozen=True)
class Assignment:
    """Final topic of every unique headline and how it got there."""

    labels: np.ndarray
    assigned_by: np.ndarray


def assign_outliers(
    vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, cfg: ClusteringConfig
) -> Assignment:
    """Apply `clustering.outliers`: keep unclustered headlines, or move each to the most similar
    topic centroid when the cosine similarity reaches `outlier_threshold`."""
    assigned_by = np.where(labels == UNCLUSTERED, BY_NONE, BY_HDBSCAN).astype(object)
    final = labels.copy()
    outliers = np.flatnonzero(labels == UNCLUSTERED)
    if cfg.outliers == "keep" or len(outliers) == 0 or np.all(labels == UNCLUSTERED):
        return Assignment(final, assigned_by)
    centroids = topic_centroids(vectors, labels, weights)
    topic_ids = np.array(sorted(centroids))
    matrix = np.stack([centroids[t] for t in topic_ids])
    similarity = vectors[outliers] @ matrix.T
    best = similarity.argmax(axis=1)
    accepted = similarity[np.arange(len(outliers)), best] >= cfg.outlier_threshold
    final[outliers[accepted]] = topic_ids[best[accepted]]
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
