"""Write stage: spreadsheet-safe CSVs and the manifest, published atomically as a run folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd

log = logging.getLogger(__name__)

# A spreadsheet evaluates a cell that starts with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LATEST = "latest"


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
