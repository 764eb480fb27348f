"""The output tables of a run, assembled from the stages' results (pure; no I/O), and
`RunTables`, a run's results as one type.

`topic_table` gives one row per topic, `headline_table` one row per accepted input row; the
tracking stage then adds the topic keys and statuses (`track.add_tracking_columns`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.clean import CLEAN_TEXT, parse_dates
from cluster.clustering import UNCLUSTERED, Assignment, topic_centroids

if TYPE_CHECKING:
    from cluster.clean import PreparedInput
    from cluster.config import InputConfig
    from cluster.label import TopicDescription
    from cluster.track import TopicState


@dataclass(frozen=True)
class LargeRun:
    """A run with more headline rows than `output.large_run_rows`: the workbook's Headlines sheet
    and the maps show a per-topic sample (`cluster.review.sample`); `files` hold every row."""

    rows: int
    threshold: int
    files: tuple[str, ...]  # the run folder's files that hold every headline row

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "LargeRun | None":
        """run.json's entry `large_run`, when the run was large."""
        entry = manifest.get("large_run")
        if not isinstance(entry, dict):
            return None
        return cls(rows=int(entry["rows"]), threshold=int(entry["threshold"]), files=tuple(entry["files"]))


@dataclass(frozen=True)
class RunTables:
    """A run's results: what the pipeline hands to the run folder, and what `read_run` gives back.

    `manifest` is run.json's content (the run record as written; empty until the run is
    written). `changes` and the `topic_key`/`status` columns come from topic tracking across
    runs; every review file works without them and shows them when they are there.
    """

    topics: pd.DataFrame
    headlines: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    rejected: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None  # new and faded topics since the previous run
    topic_state: "TopicState | None" = field(default=None, repr=False)  # what the next run matches against
    text_column: str = ""  # the input's headline column; empty: the manifest's input.text_column
    large: LargeRun | None = None  # set when the run is large: the review files show samples

    def __post_init__(self) -> None:
        if not self.text_column:
            configured = self.manifest.get("config", {}).get("input", {}).get("text_column", "headline")
            object.__setattr__(self, "text_column", str(configured))

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id", ""))

    @property
    def has_tracking(self) -> bool:
        return "status" in self.topics.columns or self.changes is not None


def clustered_topics(topics: pd.DataFrame) -> pd.DataFrame:
    """The topic rows without the unclustered row, largest first (the table's own order)."""
    return topics[topics["topic_id"].astype(int) != UNCLUSTERED]


def headline_order(headlines: pd.DataFrame) -> np.ndarray:
    """Row positions sorted by topic (0, 1, …, unclustered last), then by confidence, highest
    first; ties keep input order."""
    topic = headlines["topic_id"].astype(int).to_numpy()
    topic_rank = np.where(topic == UNCLUSTERED, np.iinfo(np.int64).max, topic)
    confidence = pd.to_numeric(headlines["topic_confidence"], errors="coerce").fillna(-np.inf).to_numpy()
    # lexsort sorts by the last key first; a stable sort keeps input order among ties
    return np.lexsort((np.arange(len(headlines)), -confidence, topic_rank))


@dataclass(frozen=True)
class Fit:
    """How well each unique headline fits its topic: cosine similarity to the topic's centroid
    (NaN when unclustered), and per topic the weighted mean of that (cohesion)."""

    centroids: dict[int, np.ndarray]
    similarity: np.ndarray
    cohesion: dict[int, float]


def topic_fit(vectors: np.ndarray, topics: np.ndarray, weights: np.ndarray) -> Fit:
    """Centroids, each headline's similarity to its centroid and each topic's cohesion."""
    centroids = topic_centroids(vectors, topics, weights)
    similarity = np.full(len(topics), np.nan)
    for topic, centroid in centroids.items():
        members = topics == topic
        similarity[members] = vectors[members] @ centroid
    cohesion = {
        topic: float(np.average(similarity[topics == topic], weights=weights[topics == topic])) for topic in centroids
    }
    return Fit(centroids, similarity, cohesion)


def headline_table(
    prepared: "PreparedInput",
    assignment: Assignment,
    descriptions: dict[int, "TopicDescription"],
    fit: Fit,
    map_xy: np.ndarray,
) -> pd.DataFrame:
    """Every accepted row with its input columns unchanged, then its topic (no key yet)."""
    rows = prepared.unique.row_to_unique
    row_topics = assignment.labels[rows]
    headlines = prepared.accepted.drop(columns=[CLEAN_TEXT]).copy()
    headlines["topic_id"] = row_topics
    headlines["topic_label"] = [descriptions[int(t)].label for t in row_topics]
    headlines["topic_confidence"] = np.round(fit.similarity[rows], 4)
    headlines["assigned_by"] = assignment.assigned_by[rows]
    headlines["map_x"] = np.round(map_xy[rows, 0].astype(float), 4)
    headlines["map_y"] = np.round(map_xy[rows, 1].astype(float), 4)
    return headlines.reset_index(drop=True)


def topic_table(
    prepared: "PreparedInput",
    row_topics: np.ndarray,
    descriptions: dict[int, "TopicDescription"],
    cohesion: dict[int, float],
    columns: "InputConfig",
) -> pd.DataFrame:
    """One row per topic, largest first, the unclustered row (-1) last (no key yet)."""
    total = len(row_topics)
    accepted = prepared.accepted
    dates = parse_dates(accepted[columns.date_column]) if columns.date_column in accepted.columns else None
    has_sources = columns.source_column in accepted.columns
    topic_ids = sorted(int(t) for t in np.unique(row_topics) if t != UNCLUSTERED)
    if (row_topics == UNCLUSTERED).any():
        topic_ids.append(UNCLUSTERED)
    rows = []
    for topic in topic_ids:
        members = row_topics == topic
        description = descriptions[topic]
        representatives = description.representatives + [""] * (3 - len(description.representatives))
        row: dict[str, object] = {
            "topic_id": topic,
            "label": description.label,
            "size": int(members.sum()),
            "share": members.sum() / total,
            "keywords": "; ".join(description.keywords),
            "representative_1": representatives[0],
            "representative_2": representatives[1],
            "representative_3": representatives[2],
            "cohesion": cohesion.get(topic, np.nan),
        }
        if dates is not None:
            topic_dates = dates[members].dropna()
            row["first_date"] = topic_dates.min().date().isoformat() if len(topic_dates) else ""
            row["last_date"] = topic_dates.max().date().isoformat() if len(topic_dates) else ""
        if has_sources:
            sources = accepted.loc[members, columns.source_column].astype(str).str.strip()
            row["n_sources"] = int(sources[sources != ""].nunique())
        rows.append(row)
    return pd.DataFrame(rows)
