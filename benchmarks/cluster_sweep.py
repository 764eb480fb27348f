"""Sweep the clustering settings (HDBSCAN min_cluster_size, the merge pass, the outlier threshold)
on fixed UMAP output, to see how sensitive quality is to each and to choose defaults.

For each UCI dev week the headlines go through the project's own read/clean/dedupe, the shared
MiniLM vectors of benchmarks/quality.py, and one UMAP reduction with the default `reduction.*`
settings (kept in --cache-dir, so a second sweep starts at once). Then every combination of the
grid runs the real cluster stage (`cluster_points` once per min_cluster_size, then `join_pieces`:
the merge, the outlier policy and numbering, the same calls `cluster_topics` makes) and is scored
against the stories like `cluster evaluate` does. One line per setting and week, then the lowest
NMI and ARI over the weeks per setting.

    python benchmarks/cluster_sweep.py                                   # the default grid
    python benchmarks/cluster_sweep.py --weeks 2014-04-14 --min-cluster-size 8 25 \
        --merge-threshold 0.5 0.8 none --merge-lexical-weight 0 0.5
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DEFAULT_DATA, DEV_WEEKS, REPO, cached_vectors, week_input  # noqa: E402


def cached_points(vectors: np.ndarray, texts: list[str], words, cfg, cache_dir: Path) -> np.ndarray:
    """The default UMAP reduction of the week (clustering points only), computed once."""
    from cluster.reduce import reduce_embeddings

    settings = cfg.reduction.model_dump_json()
    key = hashlib.sha256("\n".join([settings, *texts]).encode("utf-8")).hexdigest()[:24]
    path = cache_dir / f"points-{key}.npy"
    if path.exists():
        return np.load(path)
    points = reduce_embeddings(vectors, cfg.reduction, texts, words).points
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, points)
    return points


def threshold(value: str) -> float | None:
    return None if value.lower() in ("none", "null") else float(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS, help="Mondays (YYYY-MM-DD)")
    parser.add_argument("--min-cluster-size", nargs="+", default=["auto", "5", "12", "25"])
    parser.add_argument("--merge-threshold", nargs="+", type=threshold, default=[0.4, 0.5, 0.6, 0.8, None])
    parser.add_argument("--merge-lexical-weight", nargs="+", type=float, default=[0.0, 0.5, 1.0])
    parser.add_argument("--outlier-threshold", nargs="+", type=float, default=[0.3])
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    from cluster.clustering import cluster_points, join_pieces, with_min_cluster_size
    from cluster.evaluate import evaluate_topics
    from cluster.reduce import word_vectors

    grid = list(
        itertools.product(
            args.min_cluster_size, args.merge_threshold, args.merge_lexical_weight, args.outlier_threshold
        )
    )
    worst: dict[tuple, list[tuple[float, float]]] = {setting: [] for setting in grid}
    header = "week min_cluster_size merge_threshold merge_lexical_weight outlier_threshold"
    print(header, "NMI ARI unassigned category_hom topics")
    for week in args.weeks:
        cfg, prepared, labels = week_input(args.data, week, [])
        texts = prepared.unique.texts
        vectors = cached_vectors(texts, cfg.embedding, args.cache_dir)
        words = word_vectors(texts)
        points = cached_points(vectors, texts, words, cfg, args.cache_dir)
        weights = prepared.unique.counts.astype(float)
        rows = prepared.unique.row_to_unique
        pieces: dict[int, np.ndarray] = {}
        for size, merge, lexical, outlier in grid:
            settings = {
                "min_cluster_size": size if size == "auto" else int(size),
                "merge_threshold": merge,
                "merge_lexical_weight": lexical,
                "outlier_threshold": outlier,
            }
            clustering = with_min_cluster_size(cfg.clustering.model_copy(update=settings), len(texts))
            resolved = int(clustering.min_cluster_size)
            if resolved not in pieces:  # HDBSCAN depends on min_cluster_size alone: once per size
                pieces[resolved] = cluster_points(points, clustering)
            final = join_pieces(pieces[resolved], vectors, weights, clustering, words)
            result = evaluate_topics(final.labels[rows], labels["story"], labels["label"], "story", "label")
            one = result.unassigned_as_one_cluster
            worst[(size, merge, lexical, outlier)].append((one["nmi"], one["ari"]))
            print(
                f"{week} {size}({resolved}) {merge} {lexical} {outlier} {one['nmi']:.3f} {one['ari']:.3f} "
                f"{result.unassigned_share:.1%} {result.category_homogeneity['unassigned_as_one_cluster']:.3f} "
                f"{result.n_topics}",
                flush=True,
            )
    print("\nlowest over the weeks: min_cluster_size merge_threshold merge_lexical_weight outlier_threshold NMI ARI")
    for setting, scores in sorted(worst.items(), key=lambda item: -min(s[0] for s in item[1])):
        print(*setting, f"{min(s[0] for s in scores):.3f}", f"{min(s[1] for s in scores):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
