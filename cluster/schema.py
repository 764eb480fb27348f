"""Every output table's columns, in order, with their types: the one place that spells them.

The writers check each table against its schema before writing (a drift is a bug and stops the
run), and `read_table` uses the same schema to read a run's CSVs (or a large run's
headlines.parquet) back with numbers as numbers.
Tables that carry the input's own columns (headlines, rejected rows) list only the columns the
job adds; the input's columns come first, as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cluster.errors import InputError

# A spreadsheet evaluates a cell that starts with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT, INT, OPTIONAL_INT, FLOAT = "text", "int", "Int64", "float"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = TEXT  # TEXT, INT, OPTIONAL_INT (may be empty) or FLOAT
    optional: bool = False  # present only when the input has what it needs (a date or source column)


@dataclass(frozen=True)
class Table:
    """One output table's columns (`cluster.runs` names the file each is written to)."""

    name: str
    columns: tuple[Column, ...]
    carries_input: bool = False  # the input's columns come first
    # what a file must hold to be read back at all; runs written before topic tracking lack
    # topic_key, status and previous_*, and are still read
    needed_to_read: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def kinds(self) -> dict[str, str]:
        return {column.name: column.kind for column in self.columns}

    def optional_ints(self) -> dict[str, str]:
        """pandas dtypes for the integer columns that may be empty."""
        return {column.name: "Int64" for column in self.columns if column.kind == OPTIONAL_INT}

    def check(self, frame: pd.DataFrame) -> None:
        """Raise (a bug, never the user's input) unless `frame` ends with exactly this table's
        columns in order (after the input's columns, if it carries them); optional columns may
        be absent."""
        columns = list(frame.columns)
        expected = [c.name for c in self.columns if not c.optional or c.name in columns]
        own = columns[len(columns) - len(expected) :] if self.carries_input else columns
        if own != expected:
            raise RuntimeError(f"the {self.name} table: columns {columns} do not match the schema {expected}")


TOPICS = Table(
    "topics",
    (
        Column("topic_id", INT),
        Column("topic_key"),
        Column("label"),
        Column("size", INT),
        Column("share", FLOAT),
        Column("keywords"),
        Column("representative_1"),
        Column("representative_2"),
        Column("representative_3"),
        Column("cohesion", FLOAT),
        Column("first_date", optional=True),
        Column("last_date", optional=True),
        Column("n_sources", INT, optional=True),
        Column("status"),
        Column("previous_size", OPTIONAL_INT),
        Column("previous_label"),
    ),
    needed_to_read=("topic_id", "label", "size"),
)

HEADLINES = Table(
    "headlines",
    (
        Column("topic_id", INT),
        Column("topic_key"),
        Column("topic_label"),
        Column("topic_confidence", FLOAT),
        Column("assigned_by"),
        Column("map_x", FLOAT),
        Column("map_y", FLOAT),
    ),
    carries_input=True,
    needed_to_read=("topic_id",),
)

CHANGES = Table(
    "changes",
    (
        Column("status"),
        Column("topic_key"),
        Column("topic_id", OPTIONAL_INT),
        Column("label"),
        Column("size", INT),
        Column("previous_topic_id", OPTIONAL_INT),
        Column("previous_label"),
        Column("previous_size", OPTIONAL_INT),
        Column("keywords"),
    ),
    needed_to_read=("status",),
)

REJECTED = Table("rejected", (Column("reason"),), carries_input=True)

# The output folder's timeline (cluster.timeline): one row per topic key and run, runs in order.
TIMELINE = Table(
    "timeline",
    (
        Column("run_id"),
        Column("window_since"),
        Column("window_until"),
        Column("topic_key"),
        Column("topic_id", INT),
        Column("label"),
        Column("size", INT),
        Column("share", FLOAT),
        Column("status"),
    ),
)

# Columns the job adds to input rows: an input column of the same name would be overwritten.
ADDED_TO_INPUT = [*HEADLINES.names, *REJECTED.names]


def unescape_cell(value: str) -> str:
    """Undo the CSV writer's formula guard: `'=1+2` was written for the headline `=1+2`."""
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    return arrow.to_pandas()


def read_table(path: Path, table: Table) -> pd.DataFrame:
    """A run's CSV with the schema's numbers as numbers and every text cell as it was before the
    formula guard. A `.parquet` file (a large run's headline table) is read with the same types:
    the schema's integers as Int64, its floats as float, every other column as text, a missing
    text cell as "". A missing or unreadable column is an InputError naming file and column."""
    parquet = path.suffix == ".parquet"
    if parquet:
        frame = _read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    kinds = table.kinds()
    missing = [name for name in table.needed_to_read if name not in frame.columns]
    if missing:
        raise InputError(f"{path}: columns {missing} missing; it was not written by this version of headline-cluster")
    for column in frame.columns:
        kind = kinds.get(column, TEXT)
        if kind == TEXT:
            if parquet:  # stored as written: no formula guard to undo
                frame[column] = frame[column].fillna("").astype(str)
            else:
                frame[column] = frame[column].map(unescape_cell)
            continue
        try:
            numbers = frame[column] if parquet else frame[column].replace("", np.nan)
            frame[column] = pd.to_numeric(numbers).astype("Int64" if kind in (INT, OPTIONAL_INT) else "float")
        except (ValueError, TypeError):
            raise InputError(f"{path}: column {column!r} should hold numbers") from None
    return frame
