"""Run folders: the one module that knows their file names and how they are written, read
back, found and kept.

- writing: every table checked against its schema, the review files (`cluster.review`) and
  run.json (the run record, written last with the write stage's timings), published whole or
  not at all (`write_run`, `publish_run`);
- reading back: a run folder's tables and run.json as one `RunTables` (`read_run`);
- listing, the previous run to compare with (`find_previous_run`) and retention (`prune_runs`).

The output folder's lock is `cluster.lock`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection

from cluster.config import computation_settings
from cluster.errors import ConfigError, InputError
from cluster.formats import write_csv, write_json, write_parquet
from cluster.review import review_writers
from cluster.review.sample import ReviewSamples, review_samples
from cluster.schema import CHANGES, HEADLINES, REJECTED, TOPICS, Table, read_table
from cluster.tables import LargeRun, RunTables
from cluster.track import PreviousRun, TopicState

if TYPE_CHECKING:
    import pandas as pd

    from cluster.config import OutputConfig, ReviewConfig
    from cluster.record import RunRecord

log = logging.getLogger(__name__)

# What a run folder holds (docs/reference.md), and the pointer to the newest one.
TOPICS_CSV = "topics.csv"
HEADLINES_CSV = "headlines.csv"
HEADLINES_PARQUET = "headlines.parquet"  # a large run's every row, typed (output.large_run_rows)
CHANGES_CSV = "changes.csv"
REJECTED_CSV = "rejected.csv"
MANIFEST = "run.json"
STATE_FILE = "topic_centroids.npz"  # what the next run's tracking matches against
EVALUATION = "evaluation.json"  # `cluster evaluate` only
WORKBOOK = "topics.xlsx"
MAP_PNG = "topic_map.png"
MAP_HTML = "topic_map.html"
REPORT = "report.html"
LATEST = "latest"
# The output folder's timeline, beside `latest`: every run folder's topics by key (cluster.timeline)
TIMELINE_CSV = "timeline.csv"
TIMELINE_XLSX = "timeline.xlsx"
TIMELINE_PNG = "timeline.png"
TIMELINE_HTML = "timeline.html"

Writer = Callable[[Path], None]
# the review files, by the name `cluster.review.review_writers` gives each
REVIEW_FILES = {"workbook": WORKBOOK, "map_png": MAP_PNG, "map_html": MAP_HTML, "report": REPORT}


def review_files(settings: "ReviewConfig") -> list[str]:
    """The names of the review files the settings turn on, in the order they are written."""
    kinds = [("workbook", settings.workbook), ("map_png", settings.map), ("map_html", settings.map)]
    return [REVIEW_FILES[kind] for kind, on in [*kinds, ("report", settings.report)] if on]


# -- writing -----------------------------------------------------------------------------------


def _table_writer(frame: "pd.DataFrame", table: Table) -> Writer:
    """A CSV writer for one output table, checked against its schema first."""
    table.check(frame)
    return lambda path: write_csv(frame, path)


def _parquet_writer(frame: "pd.DataFrame", table: Table) -> Writer:
    """A Parquet writer for one output table, checked against its schema first."""
    table.check(frame)
    return lambda path: write_parquet(frame, table, path)


def large_run(rows: int, output: "OutputConfig") -> LargeRun | None:
    """What makes a run large (more headline rows than `output.large_run_rows`): the files that
    then hold every row (headlines.csv only when `output.headlines_csv` is true)."""
    if rows <= output.large_run_rows:
        return None
    files = (HEADLINES_PARQUET, HEADLINES_CSV) if output.headlines_csv else (HEADLINES_PARQUET,)
    log.info("large run: %d headline rows (more than output.large_run_rows, %d)", rows, output.large_run_rows)
    return LargeRun(rows=rows, threshold=output.large_run_rows, files=files)


def table_writers(tables: RunTables) -> dict[str, Writer]:
    """The writers of a run's tables (and of the state the next run's tracking reads)."""
    writers: dict[str, Writer] = {TOPICS_CSV: _table_writer(tables.topics, TOPICS)}
    if tables.large is None or HEADLINES_CSV in tables.large.files:
        writers[HEADLINES_CSV] = _table_writer(tables.headlines, HEADLINES)
    if tables.large is not None:
        writers[HEADLINES_PARQUET] = _parquet_writer(tables.headlines, HEADLINES)
    if tables.rejected is not None:
        writers[REJECTED_CSV] = _table_writer(tables.rejected, REJECTED)
    if tables.changes is not None:
        writers[CHANGES_CSV] = _table_writer(tables.changes, CHANGES)
    if tables.topic_state is not None:
        writers[STATE_FILE] = tables.topic_state.save
    return writers


def large_run_entry(large: LargeRun, samples: ReviewSamples, review: "ReviewConfig") -> dict[str, Any]:
    """run.json's `large_run`: the rows, the threshold, the files with every row, and how many
    rows the workbook's Headlines sheet and points the maps show (null: that file is off)."""
    workbook = samples.workbook if review.workbook else None
    points = samples.map if review.map else None
    return {
        "rows": large.rows,
        "threshold": large.threshold,
        "files": list(large.files),
        "workbook_rows": None if workbook is None else workbook.shown,
        "workbook_per_topic": None if workbook is None else workbook.per_topic,
        "map_points": None if points is None else points.shown,
    }


def review_file_writers(
    tables: RunTables, review: "ReviewConfig", samples: ReviewSamples | None = None
) -> dict[str, Writer]:
    """The writers of the review files the settings turn on, by file name. A large run's files
    show `samples` (computed here when not given)."""
    if samples is None and tables.large is not None:
        samples = review_samples(tables.headlines)
    writers = review_writers(tables, review, MAP_HTML, samples)
    return {REVIEW_FILES[kind]: writer for kind, writer in writers.items()}


def _timed(name: str, writer: Writer, seconds: dict[str, float]) -> Writer:
    def write(path: Path) -> None:
        log.info("writing %s", name)
        start = time.perf_counter()
        writer(path)
        seconds[name] = round(time.perf_counter() - start, 3)

    return write


def write_run(
    tables: RunTables,
    record: "RunRecord",
    output_dir: Path,
    output: "OutputConfig",
    review: "ReviewConfig",
    total_seconds: float | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Publish the run folder atomically: the tables, the review files (as `review` asks),
    `extra` JSON files by name, and run.json last, so that it records how long the rest took.
    A large run (see `large_run`) gets headlines.parquet, and headlines.csv only when
    `output.headlines_csv` is true. Returns the folder's path."""
    large = large_run(len(tables.headlines), output)
    samples = review_samples(tables.headlines) if large is not None else None
    if large is not None and samples is not None:  # before the review files: the workbook's Run sheet shows it
        record.large_run = large_run_entry(large, samples, review)
    tables = replace(tables, large=large, manifest=record.to_json())
    named = review_file_writers(tables, review, samples)
    writers = table_writers(tables)
    review_seconds: dict[str, float] = {}  # each review file is timed, so run.json shows what it cost
    writers.update({name: _timed(name, writer, review_seconds) for name, writer in named.items()})
    for name, content in (extra or {}).items():
        writers[name] = lambda path, content=content: write_json(content, path)  # type: ignore[misc]
    start = time.perf_counter()

    def write_manifest(path: Path) -> None:
        seconds = {"write": round(time.perf_counter() - start, 3)}
        if review_seconds:
            seconds["review"] = round(sum(review_seconds.values()), 3)
        if total_seconds is not None:
            seconds["total"] = round(total_seconds + time.perf_counter() - start, 3)
        record.written(seconds, review_seconds)
        write_json(record.to_json(), path)

    writers[MANIFEST] = write_manifest
    return publish_run(output_dir, record.run_id, writers)


# -- reading back ------------------------------------------------------------------------------


def read_run(folder: Path | str) -> RunTables:
    """Read a run folder's topics.csv, headlines.csv, run.json (and changes.csv and rejected.csv
    if present) back into typed tables, text cells as they were in the input. A large run's
    headlines are read from headlines.parquet (exact, and faster than the CSV; the only copy
    when the run was written with `output.headlines_csv: false`)."""
    folder = Path(folder)
    parquet = folder / HEADLINES_PARQUET
    headlines = parquet if parquet.is_file() else folder / HEADLINES_CSV
    missing = [name for name in (TOPICS_CSV, headlines.name, MANIFEST) if not (folder / name).is_file()]
    if missing:
        raise InputError(f"{folder} is not a complete run folder: {', '.join(missing)} missing")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    changes, rejected = folder / CHANGES_CSV, folder / REJECTED_CSV
    return RunTables(
        topics=read_table(folder / TOPICS_CSV, TOPICS),
        headlines=read_table(headlines, HEADLINES),
        manifest=manifest,
        rejected=read_table(rejected, REJECTED) if rejected.is_file() else None,
        changes=read_table(changes, CHANGES) if changes.is_file() else None,
        large=LargeRun.from_manifest(manifest),
    )


def read_topics(folder: Path) -> "pd.DataFrame":
    """A run folder's topics.csv alone, typed (what the timeline needs, without the headlines)."""
    return read_table(Path(folder) / TOPICS_CSV, TOPICS)


# -- publishing ------------------------------------------------------------------------------


def publish_run(output_dir: Path, run_id: str, writers: dict[str, Callable[[Path], None]]) -> Path:
    """Write every file into a hidden temporary folder beside the destination, then rename it to
    `<output_dir>/<run_id>` and point `<output_dir>/latest` at it.

    If anything fails, the temporary folder is removed and no run folder appears. A run folder
    with the same id is replaced: the old one is moved aside, the new one renamed in, and only
    then is the old one deleted.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{run_id}.", suffix=".partial", dir=output_dir))
    destination = output_dir / run_id
    retired = None
    try:
        for name, writer in writers.items():
            writer(staging / name)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a run folder is for sharing
        if destination.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{run_id}.", suffix=".old", dir=output_dir))
            os.replace(destination, retired / run_id)
        os.replace(staging, destination)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and not destination.exists() and (retired / run_id).exists():
            os.replace(retired / run_id, destination)  # put the old run back
            shutil.rmtree(retired, ignore_errors=True)
        raise
    point_latest(output_dir, run_id)
    return destination


def point_latest(output_dir: Path, run_id: str) -> None:
    """Atomically repoint the `latest` symlink at a run folder."""
    link = output_dir / LATEST
    temporary = output_dir / f".{LATEST}.{os.getpid()}"
    try:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        temporary.symlink_to(run_id, target_is_directory=True)
        os.replace(temporary, link)
    except OSError as exc:  # e.g. a file system without symlinks
        log.warning("could not update %s (%s); the run folder is complete", link, exc)


# -- listing, comparing and keeping -----------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """A complete run folder (it has a readable run.json)."""

    run_id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def finished_at(self) -> str:
        return str(self.manifest.get("finished_at", ""))

    @property
    def window_until(self) -> str:
        window = self.manifest.get("window") or {}
        return str(window.get("until") or "")


def list_runs(output_dir: Path) -> list[RunInfo]:
    """Complete runs in the output folder, oldest first (by finish time, then name)."""
    runs: list[RunInfo] = []
    if not output_dir.is_dir():
        return runs
    for path in output_dir.iterdir():
        if path.name.startswith(".") or path.is_symlink() or not path.is_dir():
            continue
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a run folder, or not a complete one
        if isinstance(manifest, dict):
            runs.append(RunInfo(path.name, path, manifest))
    return sorted(runs, key=lambda r: (r.finished_at, r.run_id))


def latest_target(output_dir: Path) -> str | None:
    link = output_dir / "latest"
    try:
        return os.readlink(link) if link.is_symlink() else None
    except OSError:
        return None


def prune_runs(output_dir: Path, keep: int | None, current: str) -> list[str]:
    """Delete all but the `keep` most recently finished runs. The current run and the target of
    `latest` are never deleted. Returns the deleted run ids."""
    if keep is None:
        return []
    protected = {current, latest_target(output_dir)}
    runs = list_runs(output_dir)
    doomed = [r for r in runs[: max(len(runs) - keep, 0)] if r.run_id not in protected]
    removed = []
    for run in doomed:
        retired = output_dir / f".{run.run_id}.deleting"
        try:
            os.replace(run.path, retired)  # gone from view at once, even if rmtree is slow
            shutil.rmtree(retired, ignore_errors=True)
            removed.append(run.run_id)
        except OSError as exc:
            log.warning("could not delete old run %s (%s)", run.path, exc)
    if removed:
        log.info("retention (output.keep_runs=%d): deleted %s", keep, ", ".join(removed))
    return removed


def _stored_next_key(run: RunInfo) -> int:
    tracking = run.manifest.get("tracking") or {}
    try:
        return int(tracking.get("next_key", 1))
    except (TypeError, ValueError):
        return 1


def run_fingerprint(config: dict[str, Any], inputs: list[dict[str, Any]], window: dict[str, str] | None) -> str:
    """What makes two runs the same computation: the input files' contents, the date window and
    every setting that shapes the tables (`config.computation_settings`)."""
    payload = {
        "config": computation_settings(config),
        "inputs": sorted(str(item.get("sha256")) for item in inputs),
        "window": window,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _fingerprint_of(run: RunInfo) -> str:
    manifest = run.manifest
    config = json.loads(json.dumps(manifest.get("config") or {}))
    return run_fingerprint(config, manifest.get("inputs") or [], manifest.get("window"))


def find_previous_run(
    output_dir: Path,
    run_id: str,
    previous: str | None,
    window_until: str = "",
    fingerprint: str | None = None,
    replaced: Collection[str] = (),
) -> PreviousRun:
    """The run to compare with: `previous` if named ("none" for no comparison), else the newest
    complete run in `output_dir` other than `run_id` (which this run replaces). With a date
    window, runs whose window ends after this one's are skipped, so rerunning an old week is
    compared with the week before it. The key counter continues from every run kept there.

    A run with the same `fingerprint` (same input files, window and settings) under another id is
    a rerun of this one: it is neither compared with nor counted, so a rerun gives the same files.
    Neither are the runs in `replaced`: a backfill's later weeks, which it is about to replace, so
    that rerunning a backfill gives the same keys.
    """
    others = [r for r in list_runs(output_dir) if r.run_id != run_id and r.run_id not in replaced]
    if fingerprint is not None:
        others = [r for r in others if _fingerprint_of(r) != fingerprint]
    next_key = max([1, *(_stored_next_key(r) for r in others)])
    if previous == "none":
        return PreviousRun(None, None, next_key)
    if previous is not None:
        named = [r for r in others if r.run_id == previous]
        if not named:
            choices = ", ".join(r.run_id for r in others[-5:]) or "none"
            raise ConfigError(
                f"--previous {previous!r}: no complete run of that name in {output_dir} (recent runs: {choices})"
            )
        chosen = named[0]
    else:
        candidates = [r for r in others if not window_until or not r.window_until or r.window_until <= window_until]
        if not candidates:
            return PreviousRun(None, None, next_key)
        chosen = max(candidates, key=lambda r: (r.window_until, r.finished_at, r.run_id))
    path = chosen.path / STATE_FILE
    try:
        state = TopicState.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if previous is not None:
            raise ConfigError(f"--previous {previous!r}: cannot read {path} ({exc}); pick another run") from None
        log.warning(
            "previous run %s has no readable %s (%s); every topic gets a new key", chosen.run_id, STATE_FILE, exc
        )
        return PreviousRun(None, None, next_key)
    return PreviousRun(chosen.run_id, state, next_key)
