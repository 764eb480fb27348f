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
