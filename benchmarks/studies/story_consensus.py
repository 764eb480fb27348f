"""Does a consensus of several UMAP seeds cut a week into stories more faithfully than one seed?

The job's cluster stage is run on the UMAP layouts of --seeds (the first is the default 42), on
the same vectors and neighbour graph settings. Each other seed's topics are mapped onto the first
seed's topics by their largest overlap (in input rows), and every distinct headline takes the
topic most seeds give it (the first seed breaks ties). Each seed alone and the consensus are
scored against the aggregator's story ids.

    python benchmarks/studies/story_consensus.py               # 2014-03-24 and 2014-04-14, seeds 42 43 44
    python benchmarks/studies/story_consensus.py --weeks 2014-03-17 --seeds 42 43 44 45 46
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for quality.py
from quality import DEFAULT_DATA, REPO, STORY_HEADER, cached_vectors, story_row, week_input  # noqa: E402


def map_onto(labels: np.ndarray, base: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`labels` renamed to the `base` topic each of its topics overlaps most (unclustered stays)."""
    mapped = np.full(len(labels), -1, dtype=np.int64)
    for topic in np.unique(labels[labels >= 0]):
        members = labels == topic
        inside = base[members]
        if (inside >= 0).any():
            overlap = np.bincount(inside[inside >= 0], weights=weights[members][inside >= 0])
            mapped[members] = int(overlap.argmax())
    return mapped


def vote(runs: list[np.ndarray]) -> np.ndarray:
    """Each headline's most common label over the runs; the first run wins ties."""
    stacked = np.stack(runs, axis=1)
    result = stacked[:, 0].copy()
    for i, row in enumerate(stacked):
        values, counts = np.unique(row, return_counts=True)
        if counts.max() > 1 and row[0] not in values[counts == counts.max()]:
            result[i] = values[counts.argmax()]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=["2014-03-24", "2014-04-14"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    from cluster.clustering import cluster_topics, with_min_cluster_size
    from cluster.reduce import reduce_embeddings, word_vectors

    print(STORY_HEADER)
    for week in args.weeks:
        cfg, prepared, labels = week_input(args.data, week, [])
        texts, rows = prepared.unique.texts, prepared.unique.row_to_unique
        weights = prepared.unique.counts.astype(float)
        vectors = cached_vectors(texts, cfg.embedding, args.cache_dir)
        words = word_vectors(texts)
        clustering = with_min_cluster_size(cfg.clustering, len(texts))
        runs = []
        for seed in args.seeds:
            reduction_cfg = cfg.reduction.model_copy(update={"random_state": seed})
            points = reduce_embeddings(vectors, reduction_cfg, texts, words).points
            runs.append(cluster_topics(points, vectors, weights, clustering, words).labels)
        mapped = [runs[0], *(map_onto(run, runs[0], weights) for run in runs[1:])]
        variants = {f"seed {seed}": run for seed, run in zip(args.seeds, runs)}
        variants[f"consensus of {len(args.seeds)} seeds"] = vote(mapped)
        for name, topics in variants.items():
            print(story_row(week, name, labels["story"], topics[rows]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
