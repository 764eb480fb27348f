"""Reduce stage: UMAP (cosine) to a few dimensions for clustering, and to 2-D for the map.

Both projections share one nearest-neighbour graph, so the map costs only its layout. With
`reduction.lexical_weight` > 0 that graph blends the sentence embedding with word overlap: two
headlines about one event share rare words (names, places, flight numbers) that a sentence
embedding trained for paraphrase tends to blur.
"""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cluster.config import ReductionConfig

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

log = logging.getLogger(__name__)

_EXACT_NEIGHBOURS_BELOW = 4096  # below this, exact neighbours are cheap and need no index
MAP_MIN_DIST = 0.1  # a little spacing keeps the 2-D map readable; clustering uses min_dist from config
# The map starts from the clustering layout's two principal axes, so a few epochs place it: 60
# cost 4.4 s on a 31k week where a full 2-D UMAP from scratch cost 15.5 s, with about the same
# share of map neighbours from the same story (0.536 against 0.542; benchmarks/cold_levers.py).
MAP_EPOCHS = 60


@dataclass(frozen=True)
class Reduction:
    """Low-dimensional points for clustering and 2-D coordinates for the map."""

    points: np.ndarray
    map_xy: np.ndarray


def too_few_to_reduce(n: int, cfg: ReductionConfig) -> bool:
    """UMAP needs a handful of points more than its output dimension."""
    return n < max(cfg.n_components + 2, 5)


def fallback_map(vectors: np.ndarray) -> np.ndarray:
    """2-D coordinates when there are too few headlines for UMAP: the first two principal axes."""
    if len(vectors) < 3:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    return principal_axes(vectors).astype(np.float32)


def word_vectors(texts: list[str]) -> "csr_matrix | None":
    """Unit-length TF-IDF vectors of the rarer words of each headline (sparse), or None.

    Words in more than 5% of headlines (and more than 50) are left out: they say little about
    which event a headline reports.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    max_df = max(int(0.05 * len(texts)), 50)
    vectorizer = TfidfVectorizer(
        token_pattern=r"(?u)\b\w[\w']+\b", stop_words="english", max_df=max_df, sublinear_tf=True, dtype=np.float32
    )
    try:
        return vectorizer.fit_transform(texts)
    except ValueError:  # no word left (e.g. only stop words): embeddings alone
        return None


def blended_neighbours(
    vectors: np.ndarray, words: "csr_matrix | None", k: int, weight: float, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self first) under the blended similarity

        s(a, b) = (cos_embedding(a, b) + weight · cos_words(a, b)) / (1 + weight)

    with distance 1 - s. Computed a block of rows at a time to bound memory."""
    n = len(vectors)
    words_t = words.T.tocsr() if words is not None else None
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        similarity = vectors[start:stop] @ vectors.T
        if words is not None and words_t is not None and weight > 0:
            similarity += weight * (words[start:stop] @ words_t).toarray()
            similarity /= 1.0 + weight
        rows = np.arange(stop - start)
        similarity[rows, np.arange(start, stop)] = np.inf  # each point is its own first neighbour
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.lexsort((nearest, -np.take_along_axis(similarity, nearest, axis=1)), axis=1)
        nearest = np.take_along_axis(nearest, order, axis=1)
        indices[start:stop] = nearest
        chosen = np.take_along_axis(similarity, nearest, axis=1)
        chosen[:, 0] = 1.0
        distances[start:stop] = np.clip(1.0 - chosen, 0.0, None)
    return indices, distances


def approximate_blended_neighbours(
    vectors: np.ndarray, words: "csr_matrix", k: int, weight: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The graph of `blended_neighbours` from an approximate index (pynndescent's NNDescent),
    in about n log n instead of n².

    For unit vectors e and t, (e·e' + w·t·t') / (1 + w) is the cosine of the concatenations
    [e, √w·t] and [e', √w·t'], so a cosine index over the concatenation searches the blended
    similarity itself. Each point is put first among its own neighbours, at distance 0."""
    import scipy.sparse as sp
    from pynndescent import NNDescent

    combined = sp.hstack([sp.csr_matrix(vectors), words * np.sqrt(weight)]).tocsr().astype(np.float32)
    index = NNDescent(combined, metric="cosine", n_neighbors=k, random_state=seed)
    indices, distances = index.neighbor_graph
    rows = np.arange(len(vectors))
    for i in np.flatnonzero(indices[:, 0] != rows):  # a tie with an identical vector may come first
        others = indices[i] != i
        indices[i] = np.concatenate([[i], indices[i][others][: k - 1]])
        distances[i] = np.concatenate([[0.0], distances[i][others][: k - 1]])
    distances[:, 0] = 0.0
    return indices.astype(np.int64), np.clip(distances, 0.0, None).astype(np.float32)


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


def keep_compiled(directory: Path) -> None:
    """Keep the machine code numba compiles for UMAP (about 8 s a process) in `directory`, so
    that later runs load it instead of compiling again.

    umap-learn does not ask numba to cache most of its functions; this turns caching on for those
    that have none (functions already cached, e.g. pynndescent's, keep their own place). numba
    checks a cached entry against the function's source file and argument types, so an upgraded
    umap-learn compiles afresh."""
    import umap  # noqa: F401  (imports umap.umap_, umap.layouts and pynndescent)
    from numba.core import config as numba_config
    from numba.core.caching import NullCache
    from numba.core.errors import NumbaWarning
    from numba.core.registry import CPUDispatcher

    # a few of pynndescent's functions cannot be cached (they hold dynamic globals): they compile
    # as before, and the warning numba prints about it says nothing a user can act on
    warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=NumbaWarning)

    previous = numba_config.CACHE_DIR  # type: ignore[attr-defined]
    numba_config.CACHE_DIR = str(directory)  # type: ignore[attr-defined]  # read when a function's cache is created, just below
    try:
        for name, module in list(sys.modules.items()):
            if module is None or not name.startswith(("umap", "pynndescent")):
                continue
            for function in vars(module).values():
                if isinstance(function, CPUDispatcher) and isinstance(getattr(function, "_cache", None), NullCache):
                    function.enable_caching()
    except (AttributeError, OSError) as exc:  # another numba, or an unwritable folder: compile as before
        log.warning("numba compile cache not used (%s)", exc)
    finally:
        numba_config.CACHE_DIR = previous  # type: ignore[attr-defined]


def _layout(
    vectors: np.ndarray,
    knn: tuple[np.ndarray, np.ndarray],
    n_components: int,
    min_dist: float,
    cfg: ReductionConfig,
    init: np.ndarray | None = None,
    n_epochs: int | None = None,
) -> np.ndarray:
    import umap

    model = umap.UMAP(
        n_neighbors=knn[0].shape[1],
        n_components=n_components,
        min_dist=min_dist,
        metric="cosine",
        init=cfg.init if init is None else init,
        n_epochs=n_epochs,
        random_state=cfg.random_state,
        precomputed_knn=(knn[0], knn[1], None),
        force_approximation_algorithm=True,
    )
    with warnings.catch_warnings():
        # The shared neighbour graph carries no search index (we never call transform), and a
        # fixed random_state disables parallelism on purpose: both warnings are expected.
        warnings.simplefilter("ignore")
        return model.fit_transform(vectors).astype(np.float32)


def reduce_embeddings(
    vectors: np.ndarray, cfg: ReductionConfig, texts: list[str] | None = None, words: "csr_matrix | None" = None
) -> Reduction:
    """UMAP the unit-length embeddings to `n_components` dimensions and to a 2-D map.

    With texts and `cfg.lexical_weight` > 0, the neighbour graph blends in word overlap; `words`
    may hold `word_vectors(texts)` already, so that a caller who needs them too builds them once."""
    k = min(cfg.n_neighbors, len(vectors) - 1)
    if cfg.lexical_weight > 0 and words is None and texts is not None:
        words = word_vectors(texts)
    if words is None or cfg.lexical_weight == 0:
        knn = nearest_neighbours(vectors, k, cfg.random_state)
    elif len(vectors) < cfg.exact_neighbors_below:
        knn = blended_neighbours(vectors, words, k, cfg.lexical_weight)
    else:
        knn = approximate_blended_neighbours(vectors, words, k, cfg.lexical_weight, cfg.random_state)
    points = _layout(vectors, knn, cfg.n_components, cfg.min_dist, cfg)
    map_xy = _layout(vectors, knn, 2, MAP_MIN_DIST, cfg, init=principal_axes(points), n_epochs=MAP_EPOCHS)
    return Reduction(points=points, map_xy=map_xy)


def principal_axes(points: np.ndarray) -> np.ndarray:
    """`points` on their first two principal axes (float64, signs fixed so that reruns agree)."""
    centred = points.astype(np.float64) - points.astype(np.float64).mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    axes[:2] *= np.sign(axes[:2, :1] + (axes[:2, :1] == 0))  # first coordinate of each axis ≥ 0
    return centred @ axes[:2].T
