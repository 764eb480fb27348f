"""The reduce stage's neighbour graph on small hand-made inputs."""

from __future__ import annotations

import numpy as np

from cluster.reduce import blended_neighbours, word_vectors


def test_blended_neighbours_match_brute_force():

    texts = [
        "Malaysia flight MH370 search",
        "MH370 search resumes",
        "Apple iPhone launch",
        "iPhone 6 launch date",
        "Search for flight goes on",
        "Apple earnings beat",
    ]
    rng = np.random.RandomState(0)
    vectors = rng.normal(size=(6, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = word_vectors(texts)
    indices, distances = blended_neighbours(vectors, words, k=3, weight=1.0, chunk=4)
    similarity = (vectors @ vectors.T + (words @ words.T).toarray()) / 2
    for i in range(6):
        others = sorted((j for j in range(6) if j != i), key=lambda j: (-similarity[i, j], j))
        assert indices[i].tolist() == [i] + others[:2]
        assert distances[i, 0] == 0
        np.testing.assert_allclose(distances[i, 1:], 1 - similarity[i, others[:2]], atol=1e-5)
    # word overlap pulls the two MH370 headlines together however the embeddings fall
    assert similarity[0, 1] > (vectors[0] @ vectors[1]) / 2


def test_the_approximate_graph_finds_the_exact_neighbours_with_each_point_first():
    from cluster.reduce import approximate_blended_neighbours

    rng = np.random.RandomState(0)
    centres = rng.normal(size=(20, 16))
    vectors = (centres[rng.randint(0, 20, 600)] + 0.3 * rng.normal(size=(600, 16))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [f"story{i % 20} word{i % 7} item{i % 11}" for i in range(600)]
    words = word_vectors(texts)
    exact, _ = blended_neighbours(vectors, words, k=10, weight=1.0)
    approximate, distances = approximate_blended_neighbours(vectors, words, k=10, weight=1.0, seed=42)
    assert approximate.shape == exact.shape and (approximate[:, 0] == np.arange(600)).all()
    assert (distances[:, 0] == 0).all() and (np.diff(distances, axis=1) >= -1e-6).all()
    recall = np.mean([len(set(exact[i]) & set(approximate[i])) / 10 for i in range(600)])
    assert recall > 0.95
    # the distances are the blended ones: 1 - (cos_e + cos_t) / 2
    blended = (vectors @ vectors.T + (words @ words.T).toarray()) / 2
    rows = np.arange(600)[:, None]
    np.testing.assert_allclose(distances[:, 1:], 1 - blended[rows, approximate[:, 1:]], atol=1e-5)
    again, _ = approximate_blended_neighbours(vectors, words, k=10, weight=1.0, seed=42)
    assert np.array_equal(again, approximate), "a fixed seed gives the same graph"


COMPILE_THEN_REPORT = """
import sys
import numpy as np
from pathlib import Path
from cluster.config import ReductionConfig
from cluster.reduce import keep_compiled, reduce_embeddings
keep_compiled(Path(sys.argv[1]))
vectors = np.random.RandomState(0).normal(size=(60, 16)).astype(np.float32)
reduce_embeddings(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), ReductionConfig(lexical_weight=0))
from umap.layouts import _nb_optimize_layout_euclidean_single_epoch as epoch
print(sum(epoch.stats.cache_hits.values()), sum(epoch.stats.cache_misses.values()))
"""


def test_umaps_compiled_code_is_kept_and_loaded_by_the_next_process(tmp_path):
    import subprocess
    import sys

    def run() -> list[int]:
        done = subprocess.run(
            [sys.executable, "-c", COMPILE_THEN_REPORT, str(tmp_path / "numba")], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return [int(n) for n in done.stdout.split()]

    hits, misses = run()
    assert hits == 0 and misses > 0, "the first process compiles UMAP's layout epoch"
    assert list((tmp_path / "numba").rglob("*.nbi")), "and keeps the machine code"
    hits, misses = run()
    assert hits > 0 and misses == 0, "the next process loads it instead of compiling"


def test_the_map_keeps_separate_groups_apart_and_reruns_agree():
    from cluster.config import ReductionConfig
    from cluster.reduce import principal_axes, reduce_embeddings

    rng = np.random.RandomState(1)
    centres = rng.normal(size=(4, 16))
    vectors = np.repeat(centres, 30, axis=0) + 0.05 * rng.normal(size=(120, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    first = reduce_embeddings(vectors, ReductionConfig(lexical_weight=0))
    again = reduce_embeddings(vectors, ReductionConfig(lexical_weight=0))
    assert np.array_equal(first.map_xy, again.map_xy) and np.array_equal(first.points, again.points)
    # four well-separated groups stay apart on the map: each point's map neighbours are its group's
    group = np.repeat(np.arange(4), 30)
    distance = np.linalg.norm(first.map_xy[:, None] - first.map_xy[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    assert (group[distance.argmin(axis=1)] == group).mean() > 0.95
    axes = principal_axes(first.points)
    assert axes.shape == (120, 2) and np.allclose(axes.mean(axis=0), 0, atol=1e-9)
