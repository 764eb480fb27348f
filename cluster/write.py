"""Write stage: spreadsheet-safe CSVs, the manifest and the review files of a run, handed to
`runs.publish_run`, which makes the run folder appear whole or not at all.

A large run (more headline rows than `output.large_run_rows`, read from the config the manifest
records) also writes headlines.parquet, drops headlines.csv when `output.headlines_csv` is false,
and its workbook and maps show a per-topic sample (`cluster.review.sample`); run.json says so
under `large_run`."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from cluster.runs import MANIFEST, publish_run
from cluster.schema import (
    CHANGES,
    FLOAT,
    FORMULA_TRIGGERS,
    HEADLINES,
    HEADLINES_PARQUET,
    INT,
    OPTIONAL_INT,
    REJECTED,
    TEXT,
    TOPICS,
    Table,
)
from cluster.track import STATE_FILE

if TYPE_CHECKING:
    from cluster.config import OutputConfig, ReviewConfig
    from cluster.review.tables import LargeRun, ReviewTables
    from cluster.tables import RunResult

log = logging.getLogger(__name__)

Writer = Callable[[Path], None]


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


def table_writer(frame: pd.DataFrame, table: Table) -> Writer:
    """A writer for one output table, checked against its schema first."""
    table.check(frame)
    return lambda path: write_csv(frame, path)


def parquet_writer(frame: pd.DataFrame, table: Table) -> Writer:
    """A Parquet writer for one output table, checked against its schema first."""
    table.check(frame)
    return lambda path: write_parquet(frame, table, path)


def output_settings(manifest: dict[str, Any]) -> "OutputConfig":
    """The run's large-run settings (`output.large_run_rows`, `output.headlines_csv`), from the
    config its manifest records; the defaults where it records none."""
    from cluster.config import OutputConfig

    section = (manifest.get("config") or {}).get("output") or {}
    return OutputConfig(**{key: section[key] for key in ("large_run_rows", "headlines_csv") if key in section})


def large_run_entry(tables: "ReviewTables", large: "LargeRun", review: "ReviewConfig") -> dict[str, Any]:
    """run.json's `large_run`: the rows, the threshold, the files with every row, and how many
    rows the workbook's Headlines sheet and points the maps show (null: that file is off)."""
    workbook = tables.workbook_sample if review.workbook else None
    points = tables.map_sample if review.map else None
    return {
        "rows": large.rows,
        "threshold": large.threshold,
        "files": list(large.files),
        "workbook_rows": None if workbook is None else workbook.shown,
        "workbook_per_topic": None if workbook is None else workbook.per_topic,
        "map_points": None if points is None else points.shown,
    }


def _timed(name: str, writer: Writer, seconds: dict[str, float]) -> Writer:
    def write(path: Path) -> None:
        log.info("writing %s", name)
        start = time.perf_counter()
        writer(path)
        seconds[name] = round(time.perf_counter() - start, 3)

    return write


def write_run(
    result: "RunResult",
    output_dir: Path,
    review: "ReviewConfig",
    total_seconds: float | None = None,
    extra_writers: dict[str, Writer] | None = None,
) -> Path:
    """Publish the run folder atomically, review files included (as `review` asks); returns its path.

    A large run (see the module's doc) gets headlines.parquet, and headlines.csv only when
    `output.headlines_csv` is true; smaller runs are written as ever."""
    from cluster.review import ReviewTables, review_writers
    from cluster.review.tables import LargeRun

    manifest = dict(result.manifest)
    settings = output_settings(manifest)
    rows = len(result.headlines)
    large = None
    if rows > settings.large_run_rows:
        files = (HEADLINES_PARQUET, HEADLINES.file) if settings.headlines_csv else (HEADLINES_PARQUET,)
        large = LargeRun(rows=rows, threshold=settings.large_run_rows, files=files)
        log.info("large run: %d headline rows (more than output.large_run_rows, %d)", rows, large.threshold)
    writers: dict[str, Writer] = {TOPICS.file: table_writer(result.topics, TOPICS)}
    if large is None or HEADLINES.file in large.files:
        writers[HEADLINES.file] = table_writer(result.headlines, HEADLINES)
    if large is not None:
        writers[HEADLINES_PARQUET] = parquet_writer(result.headlines, HEADLINES)
    writers[REJECTED.file] = table_writer(result.rejected, REJECTED)
    if result.changes is not None:
        writers[CHANGES.file] = table_writer(result.changes, CHANGES)
    if result.topic_state is not None:
        writers[STATE_FILE] = result.topic_state.save
    tables = ReviewTables(
        topics=result.topics,
        headlines=result.headlines,
        manifest=manifest,
        changes=result.changes,
        text_column=result.text_column,
        large=large,
    )
    if large is not None:  # before the review files: the workbook's Run sheet shows it too
        manifest["large_run"] = large_run_entry(tables, large, review)
    # review files are timed one by one, so run.json shows what they cost
    review_seconds: dict[str, float] = {}
    for name, writer in review_writers(tables, review).items():
        writers[name] = _timed(name, writer, review_seconds)
    start = time.perf_counter()

    # the manifest is written last, so it can record how long the other files took
    def write_manifest(path: Path) -> None:
        manifest["seconds"] = {**manifest["seconds"], "write": round(time.perf_counter() - start, 3)}
        if review_seconds:
            manifest["seconds"]["review"] = round(sum(review_seconds.values()), 3)
            manifest["review_seconds"] = review_seconds
        if total_seconds is not None:
            manifest["seconds"]["total"] = round(total_seconds + time.perf_counter() - start, 3)
        write_json(manifest, path)

    writers.update(extra_writers or {})
    writers[MANIFEST] = write_manifest
    return publish_run(output_dir, result.run_id, writers)
