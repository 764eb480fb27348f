"""How far can the text take story-level scores? A supervised reference beside the job's own.

For each UCI dev week of ../shared/data, three labellings of the week's headlines are scored
against the aggregator's `story` ids, next to the job's default run (the same vectors):

- majority story per text: every distinct headline text gets the story most of its copies carry.
  Copies of one text filed under two stories cost almost nothing, so this is near 1.0; it says
  how noisy the labels are, not how much the text tells apart.
- k-NN, told the answers: every distinct headline gets the majority story of its k most similar
  OTHER distinct headlines (leave-one-out), under the similarity the job's neighbour graph uses
  (sentence embedding blended with rare-word overlap). A supervised classifier that sees every
  other headline's true story; it scores what these features say about a headline's story.

No unsupervised method on the same features should expect to beat the k-NN rows by much: where
they score below the targets, the features do not carry the stories apart.

    python benchmarks/studies/story_ceiling.py           # the four dev weeks
    python benchmarks/studies/story_ceiling.py --weeks 2014-03-24 --set reduction.lexical_weight=3   # words weigh more
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for quality.py
from quality import (  # noqa: E402
    DEFAULT_DATA,
    DEV_WEEKS,
    REPO,
    STORY_HEADER,
    cached_vectors,
    majority_labels,
    run_headline_cluster,
    story_row,
    week_input,
)


def neighbour_vote(codes: np.ndarray, neighbours: np.ndarray, k: int) -> np.ndarray:
    """Each text's most common code among its k nearest others (ties: the nearer one wins)."""
    votes = codes[neighbours[:, 1 : 1 + k]]
    result = np.empty(len(codes), dtype=np.int64)
    for i, row in enumerate(votes):
        values, counts = np.unique(row, return_counts=True)
        best = values[counts == counts.max()]
        result[i] = next(code for code in row if code in best)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS)
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override (job and k-NN)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    from cluster.reduce import blended_neighbours, word_vectors

    print(f"settings: {args.overrides or 'defaults'}")
    print(STORY_HEADER)
    for week in args.weeks:
        cfg, prepared, labels = week_input(args.data, week, args.overrides)
        texts, rows = prepared.unique.texts, prepared.unique.row_to_unique
        vectors = cached_vectors(texts, cfg.embedding, args.cache_dir)
        codes = pd.factorize(majority_labels(labels["story"], rows)["story"])[0]
        neighbours, _ = blended_neighbours(vectors, word_vectors(texts), 6, cfg.reduction.lexical_weight)
        labellings = {
            "the job": run_headline_cluster(cfg, prepared, vectors, texts, None),
            "majority story per text": codes[rows],
            "1-NN, told the answers": neighbour_vote(codes, neighbours, 1)[rows],
            "5-NN, told the answers": neighbour_vote(codes, neighbours, 5)[rows],
        }
        for name, topics in labellings.items():
            print(story_row(week, name, labels["story"], topics), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
