"""Read stage: one file, a folder or a glob of headline files into one table of strings.

Every cell is read as text, so input columns reach `headlines.csv` unchanged.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cluster.compute import Compute, in_process
from cluster.errors import InputError

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "txt",
}


@dataclass(frozen=True)
class InputFile:
    """One file that was read, for the run manifest."""

    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class ReadResult:
    """All rows read, as strings, with the files they came from."""

    frame: pd.DataFrame
    files: list[InputFile]


def resolve_input_paths(spec: str | list[str]) -> list[Path]:
    """Expand a file, a folder (its headline files) or a glob into a sorted list of files."""
    specs = [spec] if isinstance(spec, str) else list(spec)
    paths: list[Path] = []
    for item in specs:
        path = Path(item).expanduser()
        if any(ch in item for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not matches:
                raise InputError(f"input glob matched no files: {item}")
            paths.extend(matches)
        elif path.is_dir():
            matches = sorted(p for p in path.iterdir() if p.is_file() and _format_of(p) is not None)
            if not matches:
                raise InputError(f"input folder {path} holds no .csv, .tsv, .parquet, .jsonl or .txt files")
            paths.extend(matches)
        elif path.is_file():
            paths.append(path)
        else:
            raise InputError(f"input file not found: {path}")
    return paths


def _format_of(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None


def _decode(path: Path, raw: bytes, encoding: str) -> str:
    # utf-8-sig reads UTF-8 with or without a byte-order mark.
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: byte offset {exc.start} is not valid {encoding} (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8 or set input.encoding (e.g. cp1252)"
        ) from None


def _read_one(path: Path, raw: bytes, fmt: str, encoding: str) -> pd.DataFrame:
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable gzip file ({exc})") from None
    if not raw.strip():
        raise InputError(f"input file is empty: {path}")
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(raw))
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
        return frame.astype(object).where(frame.notna(), "").astype(str)
    text = _decode(path, raw, encoding)
    if fmt == "txt":
        # One headline a line; empty lines separate nothing and are not rows.
        lines = [line for line in text.splitlines() if line.strip()]
        return pd.DataFrame({"headline": lines}, dtype=object)
    if fmt == "jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}: line {number} is not a JSON object")
            records.append({key: "" if value is None else str(value) for key, value in record.items()})
        return pd.DataFrame.from_records(records).fillna("").astype(object)
    separator = "\t" if fmt == "tsv" else ","
    try:
        # keep_default_na=False: a headline that reads "NA" or "null" is a headline.
        return pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False).astype(object)
    except pd.errors.EmptyDataError:
        raise InputError(f"input file is empty: {path}") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable {fmt.upper()} file ({str(exc).strip()})") from None


def read_file(path: Path, fmt: str = "auto", encoding: str = "utf-8") -> tuple[pd.DataFrame, InputFile]:
    """One input file as a table of strings, and its record (path, checksum, rows)."""
    file_format = _format_of(path) if fmt == "auto" else fmt
    if file_format is None:
        raise InputError(
            f"{path}: cannot tell the format from the name; set input.format to csv, tsv, parquet, jsonl or txt"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read input file {path}: {exc.strerror}") from None
    frame = _read_one(path, raw, file_format, encoding)
    if frame.empty:
        raise InputError(f"input file is empty (a header but no rows): {path}")
    return frame, InputFile(str(path), hashlib.sha256(raw).hexdigest(), len(frame))


def read_headlines(
    spec: str | list[str], fmt: str = "auto", encoding: str = "utf-8", compute: Compute | None = None
) -> ReadResult:
    """Read every input file into one table of strings, in file order then row order. With a Dask
    `compute`, each file (e.g. each shard of a folder) is read on a worker, which must see the
    same path."""
    compute = compute or in_process()
    paths = resolve_input_paths(spec)
    # a worker resolves a relative path against its own folder: send absolute ones, record as given
    sent = [path.resolve() for path in paths] if compute.distributed else paths
    read = compute.map(read_file, sent, {"fmt": fmt, "encoding": encoding})
    read = [(frame, dataclasses.replace(record, path=str(path))) for (frame, record), path in zip(read, paths)]
    frames = [frame for frame, _ in read]
    frame = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    frame = frame.fillna("")
    frame.columns = [str(column) for column in frame.columns]
    return ReadResult(frame=frame.reset_index(drop=True), files=[record for _, record in read])


def check_columns(frame: pd.DataFrame, text_column: str, date_column: str | None, reserved: list[str]) -> None:
    """The headline column (and the date column, when a window needs one) must exist, and no
    input column may have a name the job adds (it would be overwritten)."""
    require_column(frame, text_column)
    clashes = [column for column in reserved if column in frame.columns]
    if clashes:
        raise InputError(f"input columns {clashes} clash with columns the job adds; rename them in the input")
    if date_column is not None:
        require_column(frame, date_column, role="date")


def require_column(frame: pd.DataFrame, column: str, role: str = "text", setting: str | None = None) -> None:
    """Refuse a missing column, listing the ones that exist and the closest match."""
    if column in frame.columns:
        return
    available = list(frame.columns)
    close = difflib.get_close_matches(column, available, n=1, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in available}
        close = [lowered[column.lower()]] if column.lower() in lowered else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    setting = setting or f"input.{role}_column"
    raise InputError(f"{role} column {column!r} not found; the input has columns {available}{hint} (set {setting})")
