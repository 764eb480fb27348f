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
