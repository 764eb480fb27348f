"""The output folder's timeline: every topic key across the run folders kept there, so that a
reviewer sees a season at a glance (which stories ran for weeks, which flared up and faded).

Built from the run folders alone (each one's run.json and topics.csv), so `cluster timeline`
can rebuild it at any time, and the same run folders give the same bytes: no timestamp is
written, only used to order runs. Runs are ordered by their date window (its last day, then its
first), then by when they finished; runs without a window come first, by finish time. Every run
and backfill rewrites it (`cluster.jobs.refresh_timeline`); each file is replaced atomically.

Files, at the top of the output folder beside `latest` (names in `cluster.runs`):
timeline.csv (one row per topic key and run), timeline.xlsx (a Sizes sheet: topic keys by runs),
timeline.png and timeline.html (the largest topics' sizes across runs; drawn by
`cluster.review.timeline`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.errors import InputError
from cluster.formats import write_csv
from cluster.runs import TIMELINE_CSV, TIMELINE_HTML, TIMELINE_PNG, TIMELINE_XLSX, RunInfo, list_runs, read_topics
from cluster.schema import TIMELINE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeline:
    """The tables the timeline files show.

    `table`: one row per topic key and run (timeline.csv); `sizes`: one row per topic key, its
    latest label, in how many runs it appears and its largest size, then one column per run
    (its size there, empty when absent), largest topics first; `runs`: one row per run, in order."""

    table: pd.DataFrame
    sizes: pd.DataFrame
    runs: pd.DataFrame

    @property
    def run_ids(self) -> list[str]:
        return [str(run_id) for run_id in self.runs["run_id"]]


def _window(run: RunInfo) -> tuple[str, str]:
    window = run.manifest.get("window") or {}
    return str(window.get("since") or ""), str(window.get("until") or "")


def run_order(runs: list[RunInfo]) -> list[RunInfo]:
    """Runs by window (last day, then first day), then finish time, then name; runs without a
    window first."""
    return sorted(runs, key=lambda run: (_window(run)[1], _window(run)[0], run.finished_at, run.run_id))


def _run_rows(run: RunInfo) -> pd.DataFrame | None:
    """A run's topics as timeline rows (the unclustered row and unkeyed topics left out); None,
    with a warning, when its topics.csv cannot be read."""
    try:
        topics = read_topics(run.path)
    except (OSError, InputError, ValueError) as exc:
        log.warning("timeline: run %s left out, its topics cannot be read (%s)", run.run_id, exc)
        return None
    if "topic_key" not in topics.columns:  # a run written before topic keys
        return None
    topics = topics[(topics["topic_id"] != UNCLUSTERED) & (topics["topic_key"] != "")]
    since, until = _window(run)
    status = topics["status"] if "status" in topics.columns else pd.Series("", index=topics.index)
    return pd.DataFrame(
        {
            "run_id": run.run_id,
            "window_since": since,
            "window_until": until,
            "topic_key": topics["topic_key"].astype(str),
            "topic_id": topics["topic_id"].astype("int64"),
            "label": topics["label"].astype(str),
            "size": topics["size"].astype("int64"),
            "share": topics["share"].astype(float),
            "status": status.astype(str),
        }
    )


def _runs_table(runs: list[RunInfo]) -> pd.DataFrame:
    """One row per run: its id, window, accepted headlines, topics and unclustered share."""
    rows = []
    for run in runs:
        since, until = _window(run)
        counts = run.manifest.get("counts") or {}
        rows.append(
            {
                "run_id": run.run_id,
                "window_since": since,
                "window_until": until,
                "headlines": int(counts.get("accepted", 0)),
                "topics": int(run.manifest.get("topics", 0)),
                "unclustered_share": float(run.manifest.get("unclustered_share", 0.0)),
            }
        )
    return pd.DataFrame(rows, columns=["run_id", "window_since", "window_until", "headlines", "topics",
                                       "unclustered_share"])  # fmt: skip


def size_table(table: pd.DataFrame, run_ids: list[str]) -> pd.DataFrame:
    """Topic keys by runs: each key's latest label, the runs it appears in, its largest size, and
    its size in each run (empty when absent). Largest first, then by key."""
    sizes = table.pivot(index="topic_key", columns="run_id", values="size").reindex(columns=run_ids)
    latest = table.groupby("topic_key", sort=True)["label"].last()
    summary = pd.DataFrame(
        {
            "topic_key": sizes.index.astype(str),
            "label": latest.reindex(sizes.index).to_numpy(),
            "runs": sizes.notna().sum(axis=1).astype("int64").to_numpy(),
            "largest": sizes.max(axis=1).astype("int64").to_numpy(),
        }
    )
    columns = {run_id: sizes[run_id].astype("Int64").to_numpy() for run_id in run_ids}
    frame = pd.concat([summary, pd.DataFrame(columns)], axis=1)
    return frame.sort_values(["largest", "topic_key"], ascending=[False, True], kind="stable").reset_index(drop=True)


def build_timeline(output_dir: Path) -> Timeline | None:
    """The timeline of the complete run folders in `output_dir`; None when there is none."""
    runs = run_order(list_runs(output_dir))
    parts = {run.run_id: _run_rows(run) for run in runs}
    runs = [run for run in runs if parts[run.run_id] is not None]
    if not runs:
        return None
    table = pd.concat([parts[run.run_id] for run in runs], ignore_index=True)
    run_ids = [run.run_id for run in runs]
    return Timeline(table, size_table(table, run_ids), _runs_table(runs))


def _replace(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file beside `path` and rename it into place: a reader sees the old file or the
    new one, never half of one."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the timeline is for sharing
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_timeline(output_dir: Path) -> list[Path]:
    """Write (or replace) timeline.csv, .xlsx, .png and .html in `output_dir` from its run
    folders; returns their paths, none when the folder holds no complete run."""
    from cluster.review.timeline import write_timeline_html, write_timeline_png, write_timeline_workbook

    timeline = build_timeline(output_dir)
    if timeline is None:
        return []
    TIMELINE.check(timeline.table)
    writers: dict[str, Callable[[Path], None]] = {
        TIMELINE_CSV: lambda path: write_csv(timeline.table, path),
        TIMELINE_XLSX: lambda path: write_timeline_workbook(timeline.table, timeline.sizes, timeline.runs, path),
        TIMELINE_PNG: lambda path: write_timeline_png(timeline.sizes, timeline.run_ids, path),
        TIMELINE_HTML: lambda path: write_timeline_html(timeline.table, timeline.sizes, timeline.run_ids, path),
    }
    for name, writer in writers.items():
        _replace(output_dir / name, writer)
    log.info("timeline of %d runs written to %s", len(timeline.run_ids), output_dir / TIMELINE_CSV)
    return [output_dir / name for name in writers]
