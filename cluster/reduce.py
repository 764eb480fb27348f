"""Reduce stage: UMAP (cosine) to a few dimensions for clustering, and to 2-D for the map.

Both projections share one nearest-neighbour graph, so the map costs only its layout.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from cluster.config import ReductionConfig

_EXACT_NEIGHBOURS_BELOW = 4096  # below this, exact neighbours are cheap and need no index
MAP_MIN_DIST = 0.1  # a little spacing keeps the 2-D map readable; clustering uses min_dist from config


@dataclass(frozen=True)
class Reduction:
    """Low-dimensional points for clustering and 2-D coordinates for the map."""

    points: np.ndarray
    map_xy: np.ndarray


def too_few_to_reduce(n: int, cfg: ReductionConfig) -> bool:
    """UMAP needs a handful of points more than its output dimension."""
    return n < max(cfg.n_components + 2, 5)


def nearest_neighbours(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest neighbours (self included) of every vector by cosine distance."""
    if len(vectors) < _EXACT_NEIGHBOURS_BELOW:
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(vectors)
        distances, indices = index.kneighbors(vectors)
        return indices.astype(np.int32), np.maximum(distances, 0.0).astype(np.float32)
    from umap.umap_ import nearest_neighbors

    indices, distances, _ = nearest_neighbors(
        vectors,
        n_neighbors=k,
        metric="cosine",
        metric_kwds={},
        angular=False,
        random_state=np.random.RandomState(seed),
        low_memory=True,
        use_pynndescent=True,
        n_jobs=1,
    )
    return indices, distances


def _layout(
    vectors: np.ndarray, knn: tuple[np.ndarray, np.ndarray], n_components: int, min_dist: float, cfg: ReductionConfig
) -> np.ndarray:
    import umap

    model = umap.UMAP(
        n_neighbors=knn[0].shape[1],
        n_components=n_components,
        min_dist=min_dist,
        metric="cosine",
        init=cfg.init,
        random_state=cfg.random_state,
        precomputed_knn=(knn[0], knn[1], None),
        force_approximation_algorithm=True,
    )
    with warnings.catch_warnings():
        # The shared neighbour graph carries no search index (we never call transform), and a
        # fixed random_state disables parallelism on purpose: both warnings are expected.
        warnings.simplefilter("ignore")
        return model.fit_transform(vectors).astype(np.float32)


def reduce_embeddings(vectors: np.ndarray, cfg: ReductionConfig) -> Reduction:
    """UMAP the unit-length embeddings to `n_components` dimensions and to a 2-D map."""
    k = min(cfg.n_neighbors, len(vectors) - 1)
    knn = nearest_neighbours(vectors, k, cfg.random_state)
    points = _layout(vectors, knn, cfg.n_components, cfg.min_dist, cfg)
    map_xy = _layout(vectors, knn, 2, MAP_MIN_DIST, cfg)
    return Reduction(points=points, map_xy=map_xy)
