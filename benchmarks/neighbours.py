"""The blended neighbour graph: exact search against an approximate index, on real weeks.

The reduce stage's graph (`cluster.reduce.blended_neighbours`) is exact and brute force: time
grows with n². Its similarity (cos_e + w·cos_t)/(1 + w) of unit embedding e and unit TF-IDF t is
the cosine of the concatenated vector [e, √w·t], so any cosine nearest-neighbour index can search
it. This measures, per UCI dev week, the exact graph against pynndescent's NNDescent (installed
with umap-learn) on that sparse concatenation: wall time of each (the index's time includes numba
compiling it, as in a real process) and the recall of the exact k neighbours.

    python benchmarks/neighbours.py                        # the week of 2014-03-24
    python benchmarks/neighbours.py --weeks 2014-03-17 2014-04-14 --k 15
    python benchmarks/neighbours.py --together --weeks 2014-03-17 2014-03-24   # one 54k input

Vectors come from benchmarks/quality.py's cache (computed on first use). Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DEFAULT_DATA, REPO, cached_vectors, week_input  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=["2014-03-24"], help="Mondays (YYYY-MM-DD)")
    parser.add_argument("--k", type=int, default=15, help="neighbours per headline (reduction.n_neighbors)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    parser.add_argument("--together", action="store_true", help="search the weeks' distinct headlines as one input")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    import scipy.sparse as sp
    from pynndescent import NNDescent

    from cluster.reduce import blended_neighbours, word_vectors

    print("| week | distinct headlines | exact (s) | NNDescent (s) | recall of the exact neighbours |")
    print("|---|---|---|---|---|")
    inputs = []
    for week in args.weeks:
        cfg, prepared, _ = week_input(args.data, week, [])
        texts = prepared.unique.texts
        inputs.append((week, texts, cached_vectors(texts, cfg.embedding, args.cache_dir)))
    if args.together:  # one input: the weeks' headlines, each distinct text once
        seen: dict[str, tuple[str, np.ndarray]] = {}
        for _, texts, vectors in inputs:
            for text, vector in zip(texts, vectors):
                seen.setdefault(text.casefold(), (text, vector))
        together = list(seen.values())
        vectors = np.stack([vector for _, vector in together])
        inputs = [("+".join(args.weeks), [text for text, _ in together], vectors)]
    for week, texts, vectors in inputs:
        words = word_vectors(texts)
        weight = cfg.reduction.lexical_weight
        start = time.perf_counter()
        exact, _ = blended_neighbours(vectors, words, args.k, weight)
        exact_seconds = time.perf_counter() - start
        combined = sp.hstack([sp.csr_matrix(vectors), words * np.sqrt(weight)]).tocsr().astype(np.float32)
        start = time.perf_counter()
        index = NNDescent(combined, metric="cosine", n_neighbors=args.k, random_state=cfg.reduction.random_state)
        approximate, _ = index.neighbor_graph
        approximate_seconds = time.perf_counter() - start
        recall = np.mean([len(set(exact[i]) & set(approximate[i])) / args.k for i in range(len(texts))])
        row = [week, f"{len(texts):,}", f"{exact_seconds:.1f}", f"{approximate_seconds:.1f}", f"{recall:.3f}"]
        print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
