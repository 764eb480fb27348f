"""Write stage: spreadsheet-safe CSVs, the manifest and the review files of a run, handed to
`runs.publish_run`, which makes the run folder appear whole or not at all."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from cluster.runs import MANIFEST, publish_run
from cluster.schema import CHANGES, FORMULA_TRIGGERS, HEADLINES, REJECTED, TOPICS, Table
from cluster.track import STATE_FILE

if TYPE_CHECKING:
    from cluster.config import ReviewConfig
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


def write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def table_writer(frame: pd.DataFrame, table: Table) -> Writer:
    """A writer for one output table, checked against its schema first."""
    table.check(frame)
    return lambda path: write_csv(frame, path)


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
    """Publish the run folder atomically, review files included (as `review` asks); returns its path."""
    from cluster.review import ReviewTables, review_writers

    manifest = dict(result.manifest)
    writers: dict[str, Writer] = {
        TOPICS.file: table_writer(result.topics, TOPICS),
        HEADLINES.file: table_writer(result.headlines, HEADLINES),
        REJECTED.file: table_writer(result.rejected, REJECTED),
    }
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
    )
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
