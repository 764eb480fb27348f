"""Topic tracking: Hungarian matching on hand-made centroids, key assignment and statuses.
Finding the previous run is in test_runs.py; real runs are in test_scenario_weekly.py."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.config import TrackingConfig
from cluster.runs import STATE_FILE
from cluster.track import (
    PreviousRun,
    TopicState,
    match_topics,
    size_status,
    text_hashes,
    track_topics,
)


def unit(rows) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def state(centroids, sizes, keys=None, labels=None, texts=None, text_topics=None, model="m/3") -> TopicState:
    n = len(sizes)
    texts = texts or []
    return TopicState(
        topic_id=np.arange(n, dtype=np.int64),
        topic_key=np.array(keys or [""] * n),
        size=np.array(sizes, dtype=np.int64),
        label=np.array(labels or [f"topic {i}" for i in range(n)]),
        keywords=np.array(["a; b"] * n),
        centroid=unit(centroids),
        text_hash=text_hashes(texts),
        text_topic=np.array(text_topics or [], dtype=np.int64),
        text_rows=np.ones(len(texts), dtype=np.int64),
        model=model,
    )


def test_hungarian_finds_the_best_one_to_one_pairing_not_the_greedy_one():
    # Greedy would pair (0, 0) at 0.9 and leave row 1 with 0.1; the optimum pairs crosswise.
    similarity = np.array([[0.90, 0.85], [0.80, 0.10]])
    assert sorted(match_topics(similarity, threshold=0.5)) == [(0, 1), (1, 0)]


def test_pairs_below_the_threshold_are_never_matched():
    similarity = np.array([[0.95, 0.2], [0.3, 0.4]])
    assert match_topics(similarity, threshold=0.5) == [(0, 0)]
    assert match_topics(np.zeros((0, 3)), threshold=0.5) == []


def test_each_previous_topic_is_inherited_at_most_once():
    similarity = np.array([[0.9, 0.8, 0.7]])  # one old topic, three candidates
    assert match_topics(similarity, threshold=0.5) == [(0, 0)]


def test_keys_are_inherited_new_ones_continue_the_counter_and_statuses_follow_size():
    previous = state([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [100, 40, 20], keys=["T0001", "T0002", "T0003"])
    current = state(
        # topic 0 ≈ old T0002 and much bigger; topic 1 ≈ old T0001 and smaller; topic 2 is new
        [[0.05, 1, 0], [1, 0.1, 0], [-1, -1, 0.2]],
        [80, 60, 30],
    )
    tracking = track_topics(current, PreviousRun("last", previous, next_key=7), TrackingConfig(overlap_weight=0))
    assert tracking.keys.tolist() == ["T0002", "T0001", "T0007"]
    assert tracking.status.tolist() == ["growing", "shrinking", "new"]
    assert tracking.previous_size[:2].tolist() == [40, 100] and np.isnan(tracking.previous_size[2])
    assert tracking.report["next_key"] == 8
    changes = tracking.changes
    assert changes.status.tolist() == ["new", "faded"]
    assert changes.topic_key.tolist() == ["T0007", "T0003"]
    assert changes.previous_size.iloc[1] == 20 and changes["size"].iloc[1] == 0


def test_a_big_continuing_story_keeps_its_key_rather_than_a_small_fragment():
    # Unweighted, the crosswise pairing has the larger summed cosine (0.95 + 0.96 > 0.80 + 0.82)
    # and would hand the 300-headline story's key to a 10-headline fragment.
    previous = state([[1, 0, 0], [0.6, 0.8, 0]], [300, 60], keys=["T0001", "T0002"])
    current = state([[0.8, 0.6, 0], [0.95, 0.312, 0]], [290, 10])
    tracking = track_topics(current, PreviousRun("last", previous, next_key=3), TrackingConfig(overlap_weight=0))
    assert tracking.keys.tolist() == ["T0001", "T0002"]
    assert sorted(match_topics(previous.centroid @ current.centroid.T, 0.6)) == [(0, 1), (1, 0)]


def test_a_subject_that_plainly_continues_gets_its_key_back_not_a_bigger_merely_similar_topic():
    # Weekly runs, 2014-W15 to W16: a 68-row "tap water" story continues as a 12-row topic that
    # shares one of its headlines (cosine 0.97); a 91-row "polluted soil" topic of the same
    # country sits at cosine 0.62, just over the threshold. Weighting the whole similarity by
    # size (68 · 0.62 > 12 · 1.01, the shared headline adding 0.5 · 1/12) handed the key to the
    # soil topic; only the margin above the threshold counts now (12 · 0.41 > 68 · 0.02).
    previous = state(
        [[1, 0, 0]], [68], keys=["T0001"], texts=["Benzene found in city tap water", "other"], text_topics=[0, 0]
    )
    current = state(
        [[0.62, 0, 0.785], [0.97, 0.243, 0]],  # topic 0: the unrelated soil topic; topic 1: the water story
        [91, 12],
        texts=["China soil polluted", "benzene found in city TAP WATER"],
        text_topics=[0, 1],
    )
    tracking = track_topics(current, PreviousRun("last", previous, next_key=2), TrackingConfig())
    assert tracking.keys.tolist() == ["T0002", "T0001"]
    assert tracking.status.tolist() == ["new", "shrinking"]


def test_two_pairs_just_over_the_threshold_do_not_outbid_one_clear_match():
    # Rows: a 284-row stocks topic (A) and a 151-row banks topic (P) of last week; columns: a
    # 141-row stocks topic (B, 0.94 to A) and a 146-row buyback topic (C, 0.63 to A). P is 0.603
    # to B. Summed weighted similarities preferred A→C and P→B (92 + 85 > 132); counting the
    # margins, A→B (48) beats them (4.4 + 0.4), and P and C pair with nothing.
    similarity = np.array([[0.94, 0.63], [0.603, 0.2]])
    weight = np.minimum.outer(np.array([284, 151]), np.array([141, 146])).astype(float)
    assert match_topics(similarity, threshold=0.6, weight=weight) == [(0, 0)]


def test_a_pair_exactly_at_the_threshold_still_matches():
    assert match_topics(np.array([[0.6]]), threshold=0.6, weight=np.array([[5.0]])) == [(0, 0)]


def test_without_a_previous_run_every_topic_is_new():
    current = state([[1, 0, 0], [0, 1, 0]], [5, 3])
    tracking = track_topics(current, PreviousRun(None, None, next_key=1), TrackingConfig())
    assert tracking.keys.tolist() == ["T0001", "T0002"]
    assert set(tracking.status) == {"new"} and tracking.report["faded"] == 0


@pytest.mark.parametrize("size, status", [(125, "growing"), (124, "continuing"), (76, "continuing"), (75, "shrinking")])
def test_growing_and_shrinking_thresholds(size, status):
    assert size_status(size, 100, 0.25) == status


def test_shared_headlines_decide_between_two_similar_candidates():
    """Two old topics with the same centroid: the one whose headlines reappear wins."""
    previous = state(
        [[1, 0, 0], [1, 0.02, 0]],
        [10, 10],
        keys=["T0001", "T0002"],
        texts=["old story a", "Storm hits coast"],
        text_topics=[0, 1],
    )
    current = state([[1, 0.01, 0]], [1], texts=["STORM hits coast"], text_topics=[0])
    tracking = track_topics(current, PreviousRun("p", previous, 3), TrackingConfig(overlap_weight=0.5))
    assert tracking.keys.tolist() == ["T0002"]


def test_centroids_of_another_model_are_not_compared():
    previous = state([[1, 0, 0]], [10], keys=["T0001"], model="other/3")
    current = state([[1, 0, 0]], [10])
    tracking = track_topics(current, PreviousRun("p", previous, 2), TrackingConfig())
    assert tracking.keys.tolist() == ["T0002"]


def test_state_file_round_trip(tmp_path):
    original = state([[1, 0, 0], [0, 1, 0]], [5, 3], keys=["T0001", "T0009"], texts=["a", "b"], text_topics=[0, -1])
    original.save(tmp_path / STATE_FILE)
    loaded = TopicState.load(tmp_path / STATE_FILE)
    assert loaded.topic_key.tolist() == ["T0001", "T0009"] and loaded.model == "m/3"
    assert np.array_equal(loaded.centroid, original.centroid)
    assert np.array_equal(loaded.text_hash, original.text_hash)
