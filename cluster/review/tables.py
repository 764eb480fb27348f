"""The tables the review files are built from, and reading them back from a run folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.errors import InputError
from cluster.write import FORMULA_TRIGGERS

# columns that are numbers in the run's CSVs; everything else is text
NUMERIC_COLUMNS = {
    "topic_id": "Int64",
    "size": "Int64",
    "share": "float",
    "cohesion": "float",
    "n_sources": "Int64",
    "topic_confidence": "float",
    "map_x": "float",
    "map_y": "float",
    "previous_size": "Int64",
    "previous_topic_id": "Int64",
}


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

    @property
    def text_column(self) -> str:
        return str(self.manifest.get("config", {}).get("input", {}).get("text_column", "headline"))

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


def unescape_cell(value: str) -> str:
    """Undo the CSV writer's formula guard: `'=1+2` was written for the headline `=1+2`."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def _read_table(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for column in frame.columns:
        if column in NUMERIC_COLUMNS:
            numbers = pd.to_numeric(frame[column].replace("", np.nan))
            frame[column] = numbers.astype(NUMERIC_COLUMNS[column])
        else:
            frame[column] = frame[column].map(unescape_cell)
    return frame


def read_run(folder: Path | str) -> ReviewTables:
    """Read a run folder's topics.csv, headlines.csv, run.json (and changes.csv if present) back
    into typed tables, text cells as they were in the input."""
    folder = Path(folder)
    missing = [name for name in ("topics.csv", "headlines.csv", "run.json") if not (folder / name).is_file()]
    if missing:
        raise InputError(f"{folder} is not a complete run folder: {', '.join(missing)} missing")
    changes_path = folder / "changes.csv"
    return ReviewTables(
        topics=_read_table(folder / "topics.csv"),
        headlines=_read_table(folder / "headlines.csv"),
        manifest=json.loads((folder / "run.json").read_text(encoding="utf-8")),
        changes=_read_table(changes_path) if changes_path.is_file() else None,
    )
