"""The tables the review files are built from, and reading them back from a run folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.errors import InputError
from cluster.runs import MANIFEST
from cluster.schema import CHANGES, HEADLINES, HEADLINES_PARQUET, TOPICS, read_table

if TYPE_CHECKING:
    from cluster.review.sample import Sample


@dataclass(frozen=True)
class LargeRun:
    """A run with more headline rows than `output.large_run_rows`: the workbook's Headlines sheet
    and the maps show a per-topic sample (`cluster.review.sample`); `files` hold every row."""

    rows: int
    threshold: int
    files: tuple[str, ...]  # the run folder's files that hold every headline row

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> "LargeRun | None":
        """The run.json entry `large_run`, when the run was large."""
        entry = manifest.get("large_run")
        if not isinstance(entry, dict):
            return None
        return cls(rows=int(entry["rows"]), threshold=int(entry["threshold"]), files=tuple(entry["files"]))


@dataclass(frozen=True)
class ReviewTables:
    """A run's tables as the review files need them.

    `changes` and the `topic_key`/`status` columns come from topic tracking across runs; every
    review file works without them and shows them when they are there.
    """

    topics: pd.DataFrame
    headlines: pd.DataFrame
    manifest: dict[str, Any] = field(repr=False)
    changes: pd.DataFrame | None = None
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

    @cached_property
    def workbook_sample(self) -> "Sample | None":
        """The rows of the workbook's Headlines sheet of a large run; None: every row."""
        from cluster.review.sample import workbook_sample

        return workbook_sample(self.headlines) if self.large is not None else None

    @cached_property
    def map_sample(self) -> "Sample | None":
        """The points of the maps of a large run; None: every row."""
        from cluster.review.sample import map_sample

        return map_sample(self.headlines) if self.large is not None else None


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


def read_run(folder: Path | str) -> ReviewTables:
    """Read a run folder's topics.csv, headlines.csv, run.json (and changes.csv if present) back
    into typed tables, text cells as they were in the input. A large run's headlines are read
    from headlines.parquet (exact, and faster than the CSV; the only copy when the run was
    written with `output.headlines_csv: false`)."""
    folder = Path(folder)
    parquet = folder / HEADLINES_PARQUET
    headlines = parquet if parquet.is_file() else folder / HEADLINES.file
    missing = [name for name in (TOPICS.file, headlines.name, MANIFEST) if not (folder / name).is_file()]
    if missing:
        raise InputError(f"{folder} is not a complete run folder: {', '.join(missing)} missing")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    changes_path = folder / CHANGES.file
    return ReviewTables(
        topics=read_table(folder / TOPICS.file, TOPICS),
        headlines=read_table(headlines, HEADLINES),
        manifest=manifest,
        changes=read_table(changes_path, CHANGES) if changes_path.is_file() else None,
        large=LargeRun.from_manifest(manifest),
    )
