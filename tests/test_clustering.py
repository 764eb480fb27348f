"""The cluster stage on small hand-made inputs: merge, outliers, numbering, min_cluster_size."""

from __future__ import annotations

import numpy as np

from cluster.clustering import (
    assign_outliers,
    group_headlines,
    merge_similar_topics,
    number_topics_by_size,
    resolve_min_cluster_size,
)
from cluster.config import ClusteringConfig
from cluster.reduce import word_vectors


def test_nearest_outliers_respect_the_threshold():
    vectors = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0.9, 0.436], [-1, 0]], dtype=float)
    labels = np.array([0, 0, 1, 1, -1, -1])
    weights = np.ones(6)
    result = assign_outliers(vectors, labels, weights, ClusteringConfig(outliers="nearest", outlier_threshold=0.5))
    assert result.labels.tolist() == [0, 0, 1, 1, 0, -1]
    assert result.assigned_by.tolist() == ["hdbscan"] * 4 + ["nearest", "none"]
    kept = assign_outliers(vectors, labels, weights, ClusteringConfig(outliers="keep"))
    assert kept.labels.tolist() == labels.tolist()


def test_topics_are_numbered_by_size_in_rows():
    labels = np.array([5, 5, 3, 3, 3, -1, 7])
    weights = np.array([10, 1, 1, 1, 1, 1, 1])
    assert number_topics_by_size(labels, weights).tolist() == [0, 0, 1, 1, 1, -1, 2]


def test_auto_min_cluster_size_grows_with_the_week():
    assert resolve_min_cluster_size("auto", 300) < resolve_min_cluster_size("auto", 30000)
    assert resolve_min_cluster_size(12, 30000) == 12


def test_merge_joins_topics_with_close_centroids_only():
    vectors = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 0, 1], [0, 0.1, 0.99], [0, 1, 0], [0.7, 0.7, 0]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([4, 7, 2, 2, 9, -1])
    merged = merge_similar_topics(vectors, labels, np.ones(6), 0.9)
    assert merged.tolist() == [4, 4, 2, 2, 9, -1]
    assert merge_similar_topics(vectors, labels, np.ones(6), None).tolist() == labels.tolist()


def test_merge_counts_shared_rare_words_when_given_a_lexical_weight():

    # Topics 0 and 1 are one event told in different words for the embedding (cosine 0.45) but
    # share its names; topic 2 is as far from topic 0 in embedding space and shares no word.
    texts = [
        "Oculus Zuckerberg Facebook deal",
        "Oculus Zuckerberg Facebook backlash",
        "Ukraine Crimea troops",
        "Tesla Musk",
    ] * 15
    other = np.sqrt(1 - 0.45**2)
    vectors = np.array([[1, 0, 0, 0], [0.45, other, 0, 0], [0.45, 0, other, 0], [0, 0, 0, 1]] * 15)
    labels = np.array([0, 1, 2, 3] * 15)
    assert merge_similar_topics(vectors, labels, np.ones(60), 0.5).tolist() == labels.tolist()
    merged = merge_similar_topics(vectors, labels, np.ones(60), 0.5, word_vectors(texts), 1.0)
    assert merged.tolist() == [0, 0, 2, 3] * 15


def test_a_short_list_is_grouped_directly_and_a_headline_alone_stays_unclustered():
    # two pairs of near-identical headlines, a third pair further apart, and one unrelated headline
    vectors = np.array(
        [
            [1, 0, 0, 0],
            [0.98, 0.2, 0, 0],
            [0, 1, 0, 0],
            [0, 0.96, 0.28, 0],
            [0, 0, 0.8, 0.6],
            [0, 0, 0.6, 0.8],
            [0, 0, 0, -1],
        ],
        dtype=float,
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    weights = np.array([1, 1, 3, 1, 1, 1, 1], dtype=float)
    cfg = ClusteringConfig(small_input_threshold=0.9, merge_lexical_weight=0.0, outlier_threshold=0.3)
    result = group_headlines(vectors, weights, cfg)
    # the pair with 4 rows is topic 0; the unrelated headline has no topic it is close to
    assert result.labels.tolist() == [1, 1, 0, 0, 2, 2, -1]
    assert result.assigned_by.tolist() == ["grouped"] * 6 + ["none"]
    # a headline left alone by the grouping still meets the outlier policy
    looser = group_headlines(vectors, weights, cfg.model_copy(update={"outlier_threshold": -1.0}))
    assert looser.labels[-1] != -1 and looser.assigned_by[-1] == "nearest"
    # a threshold no two headlines reach: nothing is grouped
    assert (group_headlines(vectors, weights, cfg.model_copy(update={"small_input_threshold": 1.0})).labels == -1).all()
