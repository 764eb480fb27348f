"""What each cold-run lever buys, one at a time, on one UCI week (docs/benchmarks.md, "A cold week
against BERTopic"):

- embedding: the torch route against the int8 ONNX route on the same distinct headlines
  (headlines a second, and the cosine of each ONNX vector to its torch vector);
- numba: a fresh process compiling UMAP, against one loading the compile cache;
- the map: a full 2-D UMAP from scratch against the short one started from the clustering
  layout (seconds, and the share of each headline's 10 map neighbours from its own story).

    python benchmarks/cold_levers.py                       # 2014-03-24, 4,096 headlines embedded
    python benchmarks/cold_levers.py --week 2014-04-14 --embed 8192
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DEFAULT_DATA, REPO, cached_vectors, week_input  # noqa: E402

COMPILE = """
import sys, time
import numpy as np
from pathlib import Path
start = time.perf_counter()
from cluster.config import ReductionConfig
from cluster.reduce import keep_compiled, reduce_embeddings
if sys.argv[1] != "-":
    keep_compiled(Path(sys.argv[1]))
vectors = np.random.RandomState(0).normal(size=(300, 16)).astype(np.float32)
reduce_embeddings(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), ReductionConfig(lexical_weight=0))
print(time.perf_counter() - start)
"""


def embedding_rates(texts: list[str]) -> None:
    from cluster.config import EmbeddingConfig
    from cluster.embed import embed_texts, process_encoder, route_for

    vectors = {}
    with tempfile.TemporaryDirectory() as scratch:
        from cluster.store import Cache

        with Cache(Path(scratch)) as cache:
            for backend in ("torch", "onnx"):
                route = route_for(EmbeddingConfig(device="cpu", backend=backend), cache)
                process_encoder(route)
                embed_texts(texts[:256], route, progress=False)  # warm-up
                start = time.perf_counter()
                vectors[backend] = embed_texts(texts, route, progress=False)
                seconds = time.perf_counter() - start
                print(f"embedding, {backend}: {len(texts)} headlines in {seconds:.1f} s = {len(texts) / seconds:.0f}/s")
    cosine = np.sum(vectors["torch"] * vectors["onnx"], axis=1)
    print(
        f"  cosine onnx to torch: mean {cosine.mean():.4f}, 1st percentile {np.percentile(cosine, 1):.4f}, "
        f"min {cosine.min():.4f}"
    )


def compile_cache() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        for label, folder in (("no cache", "-"), ("cache, first", scratch), ("cache, next", scratch)):
            done = subprocess.run([sys.executable, "-c", COMPILE, folder], capture_output=True, text=True, check=True)
            print(
                f"numba, fresh process importing and running UMAP on 300 points ({label}): "
                f"{float(done.stdout.split()[-1]):.1f} s"
            )


def map_layouts(texts: list[str], vectors: np.ndarray, stories: np.ndarray, cfg) -> None:
    from sklearn.neighbors import NearestNeighbors

    from cluster.reduce import MAP_EPOCHS, MAP_MIN_DIST, _layout, blended_neighbours, principal_axes, word_vectors

    def agreement(xy: np.ndarray) -> float:
        near = NearestNeighbors(n_neighbors=11).fit(xy).kneighbors(xy, return_distance=False)[:, 1:]
        return float((stories[near] == stories[:, None]).mean())

    _layout(vectors[:300], blended_neighbours(vectors[:300], None, cfg.n_neighbors, 0.0), 2, MAP_MIN_DIST, cfg)
    start = time.perf_counter()  # numba has compiled UMAP just above: the times below are the layouts'
    knn = blended_neighbours(vectors, word_vectors(texts), cfg.n_neighbors, cfg.lexical_weight)
    print(f"exact blended k-NN graph: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    points = _layout(vectors, knn, cfg.n_components, cfg.min_dist, cfg)
    print(
        f"clustering layout ({cfg.n_components}-D): {time.perf_counter() - start:.1f} s; "
        f"story agreement {agreement(points):.3f}"
    )
    start = time.perf_counter()
    full = _layout(vectors, knn, 2, MAP_MIN_DIST, cfg)
    print(f"map, 2-D UMAP from scratch: {time.perf_counter() - start:.1f} s; story agreement {agreement(full):.3f}")
    start = time.perf_counter()
    short = _layout(vectors, knn, 2, MAP_MIN_DIST, cfg, init=principal_axes(points), n_epochs=MAP_EPOCHS)
    print(
        f"map, {MAP_EPOCHS} epochs from the clustering layout's axes: {time.perf_counter() - start:.1f} s; "
        f"story agreement {agreement(short):.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--week", default="2014-03-24")
    parser.add_argument("--embed", type=int, default=4096, help="distinct headlines to embed by both routes")
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    cfg, prepared, labels = week_input(args.data, args.week, [])
    texts = prepared.unique.texts
    rows = prepared.unique.row_to_unique
    stories = np.empty(len(texts), dtype=object)
    stories[rows] = labels["story"].to_numpy()  # a distinct headline filed under two stories: one of them
    print(f"# {args.week}: {len(texts)} distinct headlines")
    picked = np.random.default_rng(0).choice(len(texts), size=min(args.embed, len(texts)), replace=False)
    embedding_rates([texts[i] for i in sorted(picked)])
    compile_cache()
    vectors = cached_vectors(texts, cfg.embedding, args.cache_dir)
    map_layouts(texts, vectors, stories, cfg.reduction)
    return 0


if __name__ == "__main__":
    sys.exit(main())
