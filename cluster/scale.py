"""Fit on a sample, assign the rest: the path for inputs too large to fit whole.

Above `scale.fit_sample` distinct headlines, UMAP, HDBSCAN and the merge run on a sample of that
size; every other headline then takes the topic its `scale.assign_neighbors` most similar sample
headlines vote for (in embedding space, votes weighted by similarity), and a map position among
those voters. As in the sample, a topic needs evidence (`voter_evidence`), and a vote for
"unclustered" goes through the same outlier policy.
The vote runs over fixed blocks of rows, in parts that `cluster.compute` may send to workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster.clustering import BY_NEAREST, BY_NONE, UNCLUSTERED, Assignment, number_topics_by_size, topic_centroids
from cluster.compute import Compute, in_process, split
from cluster.config import ClusteringConfig, ScaleConfig

BY_VOTE = "vote"
BLOCK = 256  # rows per matrix product: fixed, so that results do not depend on how work is split


def fits_whole(n_unique: int, cfg: ScaleConfig) -> bool:
    """Whether an input of `n_unique` distinct headlines is fitted whole (no sample)."""
    return cfg.fit_sample is None or n_unique <= cfg.fit_sample


def draw_sample(n: int, size: int, seed: int, days: np.ndarray | None = None) -> np.ndarray:
    """Sorted positions of `size` of `n` headlines, drawn with a fixed seed.

    With `days` (one value per headline, NaT allowed), each day gets its share of the sample
    (largest remainder), so that a quiet day is represented as much as a busy one is in the input."""
    rng = np.random.default_rng(seed)
    if days is None:
        return np.sort(rng.choice(n, size=size, replace=False))
    codes, _ = pd.factorize(pd.Series(days), sort=True, use_na_sentinel=False)
    counts = np.bincount(codes)
    exact = counts * (size / n)
    quota = np.floor(exact).astype(np.int64)
    remainder = size - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:remainder]] += 1
    picked = [
        rng.choice(np.flatnonzero(codes == day), size=int(quota[day]), replace=False) for day in range(len(counts))
    ]
    return np.sort(np.concatenate(picked))


@dataclass(frozen=True)
class SampleFit:
    """What the sample fit hands to `vote_block`: the sample's vectors, final topics and map
    positions, and per topic its centroid (for the outlier policy) and its map centre."""

    vectors: np.ndarray
    labels: np.ndarray
    map_xy: np.ndarray
    centroid_ids: np.ndarray
    centroids: np.ndarray
    centres_xy: np.ndarray  # mean map position of each topic's sample headlines, by centroid_ids


def _nearest(rows: np.ndarray, sample: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and cosine similarities of the k most similar sample rows to each row.

    torch's product gives the same bits for any thread count and for any block of equal height;
    numpy's BLAS does not, and the vote must not depend on where it is cast. topk keeps only k
    values a row instead of sorting a copy of the whole block."""
    from cluster.signals import signals_held

    with signals_held():  # the first torch import of a run whose vectors were all cached
        import torch

    similarity = torch.from_numpy(np.ascontiguousarray(rows)) @ torch.from_numpy(sample).T
    values, indices = torch.topk(similarity, k, dim=1, largest=True, sorted=True)
    return indices.numpy().astype(np.int64), values.numpy().astype(np.float64)


def voter_evidence(rows: np.ndarray, voters: np.ndarray, weight: np.ndarray, fit: SampleFit) -> np.ndarray:
    """For each row and voter, the row's evidence for that voter's topic, as
    `clustering.member_evidence` defines it: (its closest sample headline of the topic + the
    topic's centroid) / 2, by cosine similarity. The closest is among the voters, which are the
    row's k nearest sample headlines, so it is exact for every topic that has a voter; -inf for
    unclustered voters."""
    closest = np.where(voters[:, :, None] == voters[:, None, :], weight[:, None, :], -np.inf).max(axis=2)
    if not len(fit.centroid_ids):
        return np.full(voters.shape, -np.inf)
    position = np.clip(np.searchsorted(fit.centroid_ids, voters), 0, len(fit.centroid_ids) - 1)
    centroid = np.take_along_axis(rows @ fit.centroids.T, position, axis=1)
    return np.where(voters == UNCLUSTERED, -np.inf, (closest + centroid) / 2)


def vote_block(
    vectors: np.ndarray, fit: SampleFit, k: int, outliers: str, threshold: float, member_threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Topic, how it was chosen and map position for each row of `vectors` (one part of the rest).

    The k most similar sample headlines vote, each with its similarity; ties go to the lower topic
    id. As on the whole path, a topic needs evidence (`voter_evidence`): a winning topic keeps the
    row only when its evidence reaches `member_threshold` (None: always). A win for
    "unclustered", or a topic without that evidence, goes to the voters' topic with the most
    evidence when `outliers` is "nearest" and it reaches `threshold`. The map position is the
    similarity-weighted mean of the voters for the chosen topic (of the unclustered voters when
    it stays unclustered, of all when none voted so), or the topic's centre on the map when the
    outlier policy chose it."""
    labels = np.empty(len(vectors), dtype=np.int64)
    assigned_by = np.empty(len(vectors), dtype=object)
    map_xy = np.empty((len(vectors), 2), dtype=np.float32)
    for block in split(len(vectors), BLOCK):
        nearest, weight = _nearest(vectors[block], fit.vectors, min(k, len(fit.vectors)))
        voters = fit.labels[nearest]
        # a voter's score is the summed weight of every voter with its topic
        scores = ((voters[:, :, None] == voters[:, None, :]) * weight[:, None, :]).sum(axis=2)
        best = scores.max(axis=1, keepdims=True)
        winner = np.where(scores >= best, voters, np.iinfo(np.int64).max).min(axis=1)
        evidence = voter_evidence(vectors[block], voters, weight, fit)
        if member_threshold is not None:
            backed = np.where(voters == winner[:, None], evidence, -np.inf).max(axis=1) >= member_threshold
            winner = np.where(backed, winner, UNCLUSTERED)
        share = np.clip(weight, 1e-6, None) * (voters == winner[:, None])
        share[share.sum(axis=1) == 0] = 1.0
        xy = (share[:, :, None] * fit.map_xy[nearest]).sum(axis=1) / share.sum(axis=1)[:, None]
        by = np.where(winner == UNCLUSTERED, BY_NONE, BY_VOTE).astype(object)
        lost = np.flatnonzero(winner == UNCLUSTERED)
        if outliers == "nearest" and len(lost):
            pick = evidence[lost].argmax(axis=1)
            accepted = evidence[lost, pick] >= threshold
            moved = lost[accepted]
            winner[moved] = voters[moved, pick[accepted]]
            by[moved] = BY_NEAREST
            xy[moved] = fit.centres_xy[np.searchsorted(fit.centroid_ids, winner[moved])]  # placed in its topic
        labels[block], assigned_by[block], map_xy[block] = winner, by, xy
    return labels, assigned_by, map_xy


def assign_rest(
    vectors: np.ndarray,
    weights: np.ndarray,
    sample: np.ndarray,
    sample_assignment: Assignment,
    sample_map: np.ndarray,
    clustering: ClusteringConfig,
    cfg: ScaleConfig,
    compute: Compute | None = None,
) -> tuple[Assignment, np.ndarray]:
    """Every headline's topic and map position, from the sample's (`sample` holds their positions):
    sample headlines keep theirs, the rest are voted on (`vote_block`) in parts on `compute`.
    Topics are then numbered by size over the whole input."""
    compute = compute or in_process()
    sample_vectors = np.ascontiguousarray(vectors[sample])
    centroids = topic_centroids(sample_vectors, sample_assignment.labels, weights[sample])
    centroid_ids = np.array(sorted(centroids), dtype=np.int64)
    centres_xy = [sample_map[sample_assignment.labels == t].mean(axis=0) for t in centroid_ids]
    fit = SampleFit(
        vectors=sample_vectors,
        labels=sample_assignment.labels,
        map_xy=sample_map,
        centroid_ids=centroid_ids,
        centres_xy=np.array(centres_xy, dtype=np.float32).reshape(len(centroid_ids), 2),
        centroids=np.stack([centroids[t] for t in centroid_ids]).astype(np.float32)
        if len(centroid_ids)
        else np.zeros((0, vectors.shape[1]), dtype=np.float32),
    )
    rest = np.setdiff1d(np.arange(len(vectors)), sample)
    # a generator: in-process, each part is copied out only when its turn comes
    parts = (np.ascontiguousarray(vectors[rest[s]]) for s in split(len(rest), compute.cfg.partition_size, BLOCK))
    shared = {"fit": fit, "k": cfg.assign_neighbors, "outliers": clustering.outliers,
              "threshold": clustering.outlier_threshold, "member_threshold": clustering.member_threshold}  # fmt: skip
    voted = compute.map(vote_block, parts, shared)
    labels = np.empty(len(vectors), dtype=np.int64)
    assigned_by = np.empty(len(vectors), dtype=object)
    map_xy = np.empty((len(vectors), 2), dtype=np.float32)
    labels[sample], assigned_by[sample], map_xy[sample] = fit.labels, sample_assignment.assigned_by, sample_map
    if voted:
        labels[rest] = np.concatenate([v[0] for v in voted])
        assigned_by[rest] = np.concatenate([v[1] for v in voted])
        map_xy[rest] = np.concatenate([v[2] for v in voted])
    return Assignment(number_topics_by_size(labels, weights), assigned_by), map_xy
