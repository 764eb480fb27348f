"""The file formats of a run folder: spreadsheet-safe CSV, deterministic Parquet and JSON.
`cluster.runs` decides which table goes into which file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from cluster.schema import FLOAT, FORMULA_TRIGGERS, INT, OPTIONAL_INT, TEXT, Table


def spreadsheet_safe(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would evaluate with an apostrophe, so it shows as
    text: `=1+2` is written as `'=1+2`. Numbers are not text cells and are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with a byte-order mark (so Excel detects UTF-8), text cells formula-safe, floats
    with 4 decimals, missing values empty."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_safe).astype(object)
    safe.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.4f", na_rep="", lineterminator="\n")


PARQUET_ROW_GROUP = 131_072  # rows; fixed, like every other setting, so that the bytes are too


def write_parquet(frame: pd.DataFrame, table: Table, path: Path) -> None:
    """The table as Parquet, deterministically: the same frame gives the same bytes. The schema's
    integers as int64, its floats as float64, every other column as a string; a missing value is
    null; text as it is (no formula guard); no pandas index and no metadata beyond the Arrow
    schema; zstd, fixed row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {INT: pa.int64(), OPTIONAL_INT: pa.int64(), FLOAT: pa.float64()}
    kinds = table.kinds()
    fields, arrays = [], []
    for column in frame.columns:
        arrow_type = types.get(kinds.get(column, TEXT), pa.string())
        series = frame[column]
        try:
            array = pa.array(series, type=arrow_type, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            if arrow_type != pa.string():
                raise
            # an input column holding something other than text: written as its text, as in the CSV
            array = pa.array(series.map(lambda v: None if pd.isna(v) else str(v)).astype(object), type=pa.string())
        fields.append(pa.field(str(column), arrow_type))
        arrays.append(array)
    arrow = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    pq.write_table(
        arrow,
        path,
        version="2.6",
        data_page_version="1.0",
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=PARQUET_ROW_GROUP,
    )


def write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
