"""Does a learned projection of the sentence embedding tell stories apart on unseen weeks?

A linear map W (384×384, starting at the identity) is trained with a supervised contrastive loss
on the aggregator's story ids of three UCI dev weeks, and the fourth week is clustered by the real
pipeline twice on the same vectors: as they are, and projected (x·W, back to unit length). Every
distinct headline is labelled with the story most of its copies carry; only text vectors are used.
The weeks kept out of tuning (2014-03-31, 2014-04-21) are refused.

Training: batches of 128 stories (drawn ∝ √size) with 4 headlines each plus 128 random headlines
as extra negatives; loss = supervised contrastive (temperature 0.07) + 0.01·‖W − I‖²; Adam, lr
1e-3, 1,000 steps (about 40 s on one core).

    python benchmarks/studies/story_projection.py                # each dev week held out in turn
    python benchmarks/studies/story_projection.py --heldout 2014-03-24 --steps 500
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for quality.py
from quality import (  # noqa: E402
    DEFAULT_DATA,
    DEV_WEEKS,
    REPO,
    cached_vectors,
    majority_labels,
    run_headline_cluster,
    week_input,
)

KEPT_OUT = {"2014-03-31", "2014-04-21"}


def labelled_texts(data: Path, week: str, cache_dir: Path):
    """The week's inputs, the vectors of its distinct texts and each text's majority story."""
    cfg, prepared, labels = week_input(data, week, [])
    texts = prepared.unique.texts
    vectors = cached_vectors(texts, cfg.embedding, cache_dir)
    majority = majority_labels(labels["story"], prepared.unique.row_to_unique)["story"].to_numpy()
    return cfg, prepared, labels, vectors, majority


def train_projection(vectors: np.ndarray, stories: np.ndarray, steps: int, seed: int = 0) -> np.ndarray:
    """W minimising the supervised contrastive loss of normalize(x·W) over story labels."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    codes = pd.factorize(stories)[0]
    groups = [np.flatnonzero(codes == c) for c in np.unique(codes)]
    groups = [g for g in groups if len(g) >= 2]
    draw = np.sqrt([len(g) for g in groups])
    draw /= draw.sum()
    x, y = torch.from_numpy(vectors.astype(np.float32)), torch.from_numpy(codes)
    identity = torch.eye(vectors.shape[1])
    w = torch.nn.Parameter(identity.clone())
    optimiser = torch.optim.Adam([w], lr=1e-3)
    for _ in range(steps):
        chosen = rng.choice(len(groups), size=128, replace=False, p=draw)
        members = [rng.choice(groups[s], size=min(4, len(groups[s])), replace=False) for s in chosen]
        batch = torch.from_numpy(np.concatenate([*members, rng.choice(len(x), size=128, replace=False)]))
        z = torch.nn.functional.normalize(x[batch] @ w, dim=1)
        self_pair = torch.eye(len(batch), dtype=torch.bool)
        logits = (z @ z.T / 0.07).masked_fill(self_pair, -1e9)
        log_p = logits - torch.logsumexp(logits, dim=1, keepdim=True)
        positive = (y[batch][:, None] == y[batch][None, :]) & ~self_pair
        has = positive.sum(1) > 0
        contrastive = -(log_p.masked_fill(~positive, 0).sum(1)[has] / positive.sum(1)[has]).mean()
        loss = contrastive + 0.01 * ((w - identity) ** 2).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return w.detach().numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--heldout", nargs="+", default=DEV_WEEKS, help="dev weeks to hold out, one at a time")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    args = parser.parse_args(argv)
    if set(args.heldout) & KEPT_OUT or not set(args.heldout) <= set(DEV_WEEKS):
        parser.error(f"hold out dev weeks only ({', '.join(DEV_WEEKS)}); {', '.join(sorted(KEPT_OUT))} stay untouched")
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    from cluster.evaluate import evaluate_topics

    weeks = {week: labelled_texts(args.data, week, args.cache_dir) for week in DEV_WEEKS}
    print("| held out | vectors | NMI | ARI | topics | unassigned | category hom. | training (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for heldout in args.heldout:
        train = [week for week in DEV_WEEKS if week != heldout]
        start = time.perf_counter()
        w = train_projection(
            np.concatenate([weeks[week][3] for week in train]),
            np.concatenate([weeks[week][4] for week in train]),
            args.steps,
        )
        seconds = time.perf_counter() - start
        cfg, prepared, labels, vectors, _ = weeks[heldout]
        projected = vectors @ w
        projected /= np.linalg.norm(projected, axis=1, keepdims=True)
        for name, given in (("as embedded", vectors), ("projected", projected.astype(np.float32))):
            topics = run_headline_cluster(cfg, prepared, given, prepared.unique.texts, None)
            scores = evaluate_topics(topics, labels["story"], labels["label"], "story", "label")
            print(
                f"| {heldout} | {name} | {scores.unassigned_as_one_cluster['nmi']:.3f} | "
                f"{scores.unassigned_as_one_cluster['ari']:.3f} | {scores.n_topics} | {scores.unassigned_share:.1%} | "
                f"{scores.category_homogeneity['unassigned_as_one_cluster']:.3f} | "
                f"{seconds if name == 'projected' else 0:.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
