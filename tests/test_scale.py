"""cluster.scale: the sample and the vote that assigns the rest, on small synthetic inputs.
The whole path with the real model is in test_scenario_scale.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cluster.clustering import BY_HDBSCAN, BY_NEAREST, BY_NONE, UNCLUSTERED, Assignment
from cluster.compute import Compute
from cluster.config import ClusteringConfig, ComputeConfig, ScaleConfig
from cluster.scale import BY_VOTE, SampleFit, assign_rest, draw_sample, fits_whole, vote_block


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_a_week_is_fitted_whole_and_only_larger_inputs_use_a_sample():
    assert fits_whole(35_000, ScaleConfig())
    assert not fits_whole(250_000, ScaleConfig())
    assert fits_whole(10**7, ScaleConfig(fit_sample=None))


def test_sample_is_sorted_distinct_of_the_asked_size_and_the_same_every_time():
    sample = draw_sample(1000, 100, seed=42)
    assert len(sample) == len(set(sample.tolist())) == 100
    assert np.all(np.diff(sample) > 0)
    assert np.array_equal(sample, draw_sample(1000, 100, seed=42))
    assert not np.array_equal(sample, draw_sample(1000, 100, seed=7))


def test_with_dates_each_day_gets_its_share_of_the_sample():
    days = np.array(["2014-03-24"] * 900 + ["2014-03-25"] * 90 + ["2014-03-26"] * 10, dtype="datetime64[ns]")
    sample = draw_sample(len(days), 100, seed=1, days=days)
    taken = pd.Series(days[sample]).value_counts().sort_index().tolist()
    assert taken == [90, 9, 1]


def test_undated_headlines_form_a_day_of_their_own():
    days = np.array(["2014-03-24"] * 50 + ["NaT"] * 50, dtype="datetime64[ns]")
    sample = draw_sample(len(days), 10, seed=3, days=days)
    assert int(np.isnat(days[sample]).sum()) == 5


def two_topic_fit() -> SampleFit:
    rng = np.random.default_rng(0)
    a = unit(np.array([1.0, 0, 0]) + 0.05 * rng.standard_normal((20, 3)))
    b = unit(np.array([0, 1.0, 0]) + 0.05 * rng.standard_normal((20, 3)))
    vectors = np.vstack([a, b])
    labels = np.array([0] * 20 + [1] * 20)
    map_xy = np.vstack([np.zeros((20, 2)), np.ones((20, 2)) * 10]).astype(np.float32)
    centroids = unit(np.array([[1.0, 0, 0], [0, 1.0, 0]]))
    return SampleFit(vectors, labels, map_xy, np.array([0, 1]), centroids, np.array([[0, 0], [10, 10]], np.float32))


def test_vote_gives_each_headline_its_neighbours_topic_and_a_place_among_them():
    fit = two_topic_fit()
    rows = unit(np.array([[1.0, 0.1, 0], [0.1, 1.0, 0.05]]))
    labels, by, xy = vote_block(rows, fit, k=5, outliers="nearest", threshold=0.3)
    assert labels.tolist() == [0, 1]
    assert by.tolist() == [BY_VOTE, BY_VOTE]
    assert np.allclose(xy, [[0, 0], [10, 10]])


def test_a_vote_for_unclustered_follows_the_outlier_policy():
    fit = two_topic_fit()
    labels = fit.labels.copy()
    labels[:20] = UNCLUSTERED  # the sample left topic 0's region unclustered
    fit = SampleFit(fit.vectors, labels, fit.map_xy, np.array([1]), fit.centroids[1:], fit.centres_xy[1:])
    near_b = unit(np.array([[0.8, 0.6, 0]]))  # cos 0.8 to the unclustered region, 0.6 to topic 1
    # 25 voters: unclustered ones win the vote, topic 1's voters give it evidence of about 0.6
    assert vote_block(near_b, fit, 25, "nearest", 0.3)[0].tolist() == [1]
    assert vote_block(near_b, fit, 25, "nearest", 0.3)[1].tolist() == [BY_NEAREST]
    assert vote_block(near_b, fit, 25, "nearest", 0.3)[2].tolist() == [[10, 10]], "placed in its topic, not its voters"
    assert vote_block(near_b, fit, 25, "nearest", 0.9)[1].tolist() == [BY_NONE]
    assert vote_block(near_b, fit, 25, "keep", 0.3)[0].tolist() == [UNCLUSTERED]
    # with 5 voters, all unclustered, no headline of topic 1 is close enough to count as evidence
    assert vote_block(near_b, fit, 5, "nearest", 0.3)[0].tolist() == [UNCLUSTERED]


def test_a_voted_topic_without_evidence_leaves_the_headline_unclustered():
    far = unit(np.array([[0.5, 0, 0.866]]))  # every voter is in topic 0, at cosine 0.5: evidence 0.5
    assert vote_block(far, two_topic_fit(), 5, "nearest", 0.6, member_threshold=0.4)[1].tolist() == [BY_VOTE]
    assert vote_block(far, two_topic_fit(), 5, "nearest", 0.6, member_threshold=0.6)[0].tolist() == [UNCLUSTERED]
    assert vote_block(far, two_topic_fit(), 5, "nearest", 0.45, member_threshold=0.6)[1].tolist() == [BY_NEAREST]


def test_assignment_covers_every_headline_and_does_not_depend_on_partition_size():
    rng = np.random.default_rng(5)
    centres = unit(rng.standard_normal((6, 16)))
    vectors = unit(np.repeat(centres, 300, axis=0) + 0.2 * rng.standard_normal((1800, 16)))
    weights = np.ones(len(vectors))
    sample = draw_sample(len(vectors), 400, seed=0)
    sample_labels = np.repeat(np.arange(6), 300)[sample]
    fitted = Assignment(sample_labels, np.full(len(sample), BY_HDBSCAN, dtype=object))
    sample_map = rng.standard_normal((len(sample), 2)).astype(np.float32)
    results = []
    for size in (256, 4096):
        with Compute(ComputeConfig(partition_size=size)) as compute:
            results.append(assign_rest(vectors, weights, sample, fitted, sample_map, ClusteringConfig(),
                                       ScaleConfig(), compute))  # fmt: skip
    (first, first_xy), (second, second_xy) = results
    assert np.array_equal(first.labels, second.labels) and np.array_equal(first_xy, second_xy)
    truth = np.repeat(np.arange(6), 300)
    assert (pd.crosstab(first.labels, truth).max(axis=1).sum()) / len(truth) > 0.99  # one topic per centre
    assert set(first.assigned_by[sample]) == {BY_HDBSCAN}
    rest = np.setdiff1d(np.arange(len(vectors)), sample)
    assert set(first.assigned_by[rest]) == {BY_VOTE}
    assert np.isfinite(first_xy).all()
    sizes = np.bincount(first.labels)
    assert np.all(np.diff(sizes) <= 0), "topics are numbered by size over every headline"


@pytest.mark.parametrize("k", [1, 10, 100])
def test_k_larger_than_the_sample_is_fine(k):
    labels, _, _ = vote_block(unit(np.array([[1.0, 0, 0]])), two_topic_fit(), k=k, outliers="keep", threshold=0.3)
    assert labels.tolist() == [0]  # with all 40 voting, the nearer topic still weighs more
