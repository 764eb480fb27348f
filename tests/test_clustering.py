"""The cluster stage on small hand-made inputs: merge, outliers, numbering, min_cluster_size."""

from __future__ import annotations

import numpy as np

from cluster.clustering import (
    assign_outliers,
    drop_unsupported,
    group_headlines,
    join_pieces,
    member_evidence,
    merge_similar_topics,
    number_topics_by_size,
    resolve_min_cluster_size,
)
from cluster.config import ClusteringConfig
from cluster.reduce import word_vectors


def unit(rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=float)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def story_and_stray() -> tuple[np.ndarray, np.ndarray]:
    """Topic 0: five headlines of one story (cosine about 0.9 to each other); topic 1: four of
    another; then a headline worded like story 0 that HDBSCAN left out, and a one-off at cosine
    0.31 to story 0's centroid (enough for the old rule, 0.3 to the centroid) and at most 0.42
    to any headline: evidence 0.36."""
    rng = np.random.default_rng(0)
    story_a = unit(np.array([1.0, 0, 0, 0, 0]) + 0.15 * rng.standard_normal((5, 5)))
    story_b = unit(np.array([0, 1.0, 0, 0, 0]) + 0.15 * rng.standard_normal((4, 5)))
    like_a = unit([[0.9, 0.1, 0.2, 0, 0]])
    stray = unit([[0.3, 0.25, 0, 0.9, 0.2]])
    return np.vstack([story_a, story_b, like_a, stray]), np.array([0] * 5 + [1] * 4 + [-1, -1])


def test_evidence_is_the_mean_of_the_closest_relative_and_the_rest_of_the_topic():
    vectors = unit([[1, 0], [0.8, 0.6], [0, 1]])
    evidence = member_evidence(vectors, np.array([0, 0, 0]), np.array([1.0, 1.0, 2.0]))
    # headline 0: closest relative cos 0.8; the rest of the topic (1·[0.8, 0.6] + 2·[0, 1]) at cos 0.8 / |[0.8, 2.6]|
    assert np.isclose(evidence[0], (0.8 + 0.8 / np.hypot(0.8, 2.6)) / 2)
    assert member_evidence(vectors, np.array([0, 0, -1]), np.ones(3))[2] == -1.0  # unclustered


def test_a_stray_far_from_every_topic_stays_out_and_a_member_like_headline_joins():
    vectors, labels = story_and_stray()
    result = assign_outliers(vectors, labels, np.ones(len(labels)), ClusteringConfig(outlier_threshold=0.44))
    assert result.labels.tolist() == [0] * 5 + [1] * 4 + [0, -1]
    assert result.assigned_by.tolist() == ["hdbscan"] * 9 + ["nearest", "none"]
    # with a lower bar the stray joins story 0, as it did under the old rule
    looser = assign_outliers(vectors, labels, np.ones(len(labels)), ClusteringConfig(outlier_threshold=0.3))
    assert looser.labels[-1] == 0
    kept = assign_outliers(vectors, labels, np.ones(len(labels)), ClusteringConfig(outliers="keep"))
    assert kept.labels.tolist() == labels.tolist()


def test_a_stray_that_hdbscan_put_in_a_topic_is_taken_out_and_stays_out():
    vectors, labels = story_and_stray()
    labels = np.array([0] * 5 + [1] * 4 + [-1, 0])  # the one-off landed in story 0
    weights = np.ones(len(labels))
    assert drop_unsupported(vectors, labels, weights, 0.44).tolist() == [0] * 5 + [1] * 4 + [-1, -1]
    assert drop_unsupported(vectors, labels, weights, None).tolist() == labels.tolist()
    result = join_pieces(labels, vectors, weights, ClusteringConfig(merge_threshold=None))
    assert result.labels[-1] == -1 and result.assigned_by[-1] == "none"
    assert result.assigned_by[-2] == "nearest" and result.labels[-2] == result.labels[0]
    # a topic left with one member is no topic: both pieces of a pair without evidence go
    pair = drop_unsupported(unit([[1, 0], [0, 1], [1, 0.05], [1, 0.1]]), np.array([3, 3, 5, 5]), np.ones(4), 0.44)
    assert pair.tolist() == [-1, -1, 5, 5]


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


def short_list() -> np.ndarray:
    """Cosines like those of examples/related_stories.txt: three market headlines (M), two
    election headlines (E), one of which (E1) shares M1's subject ("stocks ... ahead of
    Japan's election"), a headline (X) close to E1 only and an unrelated one (Y)."""
    names = ["M1", "M2", "M3", "E1", "E2", "X", "Y"]
    gram = np.eye(len(names))
    for a, b, cos in [("M1", "M2", 0.65), ("M1", "M3", 0.3), ("M2", "M3", 0.3), ("M1", "E1", 0.6), ("M2", "E1", 0.1),
                      ("M3", "E1", 0.05), ("E1", "E2", 0.3), ("M1", "E2", 0.25), ("M2", "E2", 0.05), ("X", "E1", 0.25),
                      ("X", "E2", 0.1)]:  # fmt: skip
        gram[names.index(a), names.index(b)] = gram[names.index(b), names.index(a)] = cos
    return np.linalg.cholesky(gram)  # unit rows with exactly these cosines


def test_a_short_list_keeps_stories_apart_that_one_headline_touches_both():
    vectors, weights = short_list(), np.ones(7)
    cfg = ClusteringConfig(merge_lexical_weight=0.0)  # small_input_threshold 0.2, small_input_merge_threshold 0.3
    result = group_headlines(vectors, weights, cfg)
    assert result.labels.tolist() == [0, 0, 0, 1, 1, 1, -1]
    # X has no piece (X-E2 is 0.1) but its evidence for the elections, (0.25 + 0.22) / 2, reaches 0.2
    assert result.assigned_by.tolist() == ["grouped"] * 5 + ["nearest", "none"]
    # average linkage from single headlines, as before: E1 joins M1 and M2 (mean 0.35) and the elections split
    assert merge_similar_topics(vectors, np.arange(7), weights, 0.2).tolist() == [0, 0, 0, 0, 4, 5, 6]
    kept = group_headlines(vectors, weights, cfg.model_copy(update={"outliers": "keep"}))
    assert kept.labels[5] == -1
    # a threshold no two headlines reach: nothing is grouped
    assert (group_headlines(vectors, weights, cfg.model_copy(update={"small_input_threshold": 1.0})).labels == -1).all()


def test_a_short_list_topic_is_numbered_by_rows():
    vectors = unit([[1, 0, 0], [0.98, 0.2, 0], [0, 1, 0], [0, 0.96, 0.28], [0, 0, 1]])
    result = group_headlines(vectors, np.array([1, 1, 3, 1, 1.0]), ClusteringConfig(merge_lexical_weight=0.0))
    assert result.labels.tolist() == [1, 1, 0, 0, -1]  # the pair with 4 rows is topic 0
