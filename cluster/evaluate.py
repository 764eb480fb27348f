"""Score topics against known labels (e.g. the aggregator's story ids).

The label columns are taken out of the input before the pipeline sees it, so no stage can use
them; scores are computed afterwards on the accepted rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from cluster.clean import PreparedInput
from cluster.clustering import UNCLUSTERED
from cluster.errors import InputError
from cluster.read import require_column

METRICS = ["nmi", "ari", "v_measure", "homogeneity", "completeness"]


def withhold_labels(
    prepared: PreparedInput, columns: list[str], text_column: str = "headline"
) -> tuple[PreparedInput, pd.DataFrame]:
    """Take the label columns out of the accepted rows, before any stage sees them; returns
    them aside, one row per accepted row."""
    if len(set(columns)) != len(columns):
        raise InputError("--label-column and --category-column name the same column; give two different ones")
    for column in columns:
        require_column(prepared.accepted, column, role="label", setting="--label-column / --category-column")
        if column == text_column:
            raise InputError(f"{column!r} is the headline column; the labels must be in another column")
    held_out = prepared.accepted[columns].reset_index(drop=True)
    return replace(prepared, accepted=prepared.accepted.drop(columns=columns)), held_out


def singletons(topics: np.ndarray) -> np.ndarray:
    """Give every unclustered headline a cluster of its own."""
    result = np.asarray(topics, dtype=np.int64).copy()
    outliers = result == UNCLUSTERED
    result[outliers] = result.max(initial=0) + 1 + np.arange(outliers.sum())
    return result


def score(truth: pd.Series | np.ndarray, topics: np.ndarray) -> dict[str, float]:
    """NMI, ARI, V-measure, homogeneity and completeness of topics against true labels."""
    from sklearn import metrics

    truth = np.asarray(truth)
    homogeneity, completeness, v_measure = metrics.homogeneity_completeness_v_measure(truth, topics)
    return {
        "nmi": float(metrics.normalized_mutual_info_score(truth, topics)),
        "ari": float(metrics.adjusted_rand_score(truth, topics)),
        "v_measure": float(v_measure),
        "homogeneity": float(homogeneity),
        "completeness": float(completeness),
    }


@dataclass(frozen=True)
class Evaluation:
    """Scores of one run against one label column (and optionally a coarser category column)."""

    label_column: str
    rows: int
    n_labels: int
    n_topics: int
    unassigned_share: float
    unassigned_as_one_cluster: dict[str, float]
    unassigned_as_singletons: dict[str, float]
    category_column: str | None = None
    category_homogeneity: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items()}


def evaluate_topics(
    topics: np.ndarray,
    labels: pd.Series,
    categories: pd.Series | None = None,
    label_column: str = "label",
    category_column: str | None = None,
) -> Evaluation:
    """Score per-row topic ids against per-row labels, with unassigned rows counted two ways:
    all together as one cluster, and each as a singleton cluster."""
    topics = np.asarray(topics, dtype=np.int64)
    alone = singletons(topics)
    category_scores = None
    if categories is not None:
        category_scores = {
            "unassigned_as_one_cluster": score(categories, topics)["homogeneity"],
            "unassigned_as_singletons": score(categories, alone)["homogeneity"],
        }
    return Evaluation(
        label_column=label_column,
        rows=int(len(topics)),
        n_labels=int(pd.Series(labels).nunique()),
        n_topics=int(len(set(topics.tolist()) - {UNCLUSTERED})),
        unassigned_share=float((topics == UNCLUSTERED).mean()),
        unassigned_as_one_cluster=score(labels, topics),
        unassigned_as_singletons=score(labels, alone),
        category_column=category_column,
        category_homogeneity=category_scores,
    )


def format_evaluation(evaluation: Evaluation) -> str:
    """A plain-text table for the terminal."""
    lines = [
        f"{evaluation.rows} headlines, {evaluation.n_labels} distinct {evaluation.label_column!r} labels, "
        f"{evaluation.n_topics} topics, {evaluation.unassigned_share:.1%} unassigned",
        "",
        f"{'metric':<14}{'unassigned as one cluster':>28}{'unassigned as singletons':>28}",
    ]
    for metric in METRICS:
        lines.append(
            f"{metric:<14}{evaluation.unassigned_as_one_cluster[metric]:>28.4f}"
            f"{evaluation.unassigned_as_singletons[metric]:>28.4f}"
        )
    if evaluation.category_homogeneity is not None:
        lines.append(
            f"{'homogeneity vs ' + repr(evaluation.category_column)}: "
            f"{evaluation.category_homogeneity['unassigned_as_one_cluster']:.4f} (unassigned as one cluster), "
            f"{evaluation.category_homogeneity['unassigned_as_singletons']:.4f} (as singletons)"
        )
    return "\n".join(lines)
