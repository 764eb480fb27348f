"""topics.xlsx: Topics, Headlines, Changes (with topic tracking) and Run sheets.

A large run's Headlines sheet holds a per-topic sample (`cluster.review.sample`); its first row
says so, and the header row is the second.

XlsxWriter writes it: it is fast on tens of thousands of rows and lets every cell be written with
an explicit type, so text is always stored as text (never as a formula) and numbers as numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.schema import FORMULA_TRIGGERS
from cluster.tables import RunTables, headline_order

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

    from cluster.review.sample import Sample

MAX_WIDTH = 60  # characters; longer text wraps
MIN_WIDTH = 6
EXCEL_MAX_ROWS = 1_048_576
# A fixed creation time keeps the file byte-for-byte reproducible; the run's real times are in run.json.
FIXED_CREATED = dt.datetime(2000, 1, 1)

NUMBER_FORMATS = {
    "share": "0.0%",
    "topic_confidence": "0.000",
    "cohesion": "0.000",
    "map_x": "0.0000",
    "map_y": "0.0000",
}
DATE_COLUMNS = {"first_date", "last_date"}


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def input_dates(values: pd.Series) -> tuple[pd.Series, str] | None:
    """The input's date column as dates, for the Headlines sheet, with the Excel format to show
    them: "yyyy-mm-dd" when every value is a day alone (midnight), else with the time. Only when
    every non-empty value reads as a date (ISO 8601 first, then pandas' other formats) from 1900
    on, where Excel's dates start; else None, and the column stays text as written. Excel has no
    time zones: a value with an offset ("…Z", "+02:00") is shown in UTC."""
    parsed = _parse_all(values)
    if parsed is None:
        return None
    naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    shown = naive.dropna()
    if shown.empty or shown.min() < pd.Timestamp(1900, 1, 1):  # pandas itself stops before 9999
        return None
    day_only = bool((shown == shown.dt.normalize()).all())
    return naive, "yyyy-mm-dd" if day_only else "yyyy-mm-dd hh:mm:ss"


def _parse_all(values: pd.Series) -> pd.Series | None:
    """The values as UTC date-times when every non-empty one reads as a date, else None."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    text = values.astype("string").str.strip()
    present = text.notna() & (text != "")
    if not present.any():
        return None
    for style in ("ISO8601", "mixed"):
        try:
            parsed = pd.to_datetime(text[present], utc=True, format=style)
        except (ValueError, TypeError, OverflowError):
            continue
        return None if parsed.isna().any() else parsed.reindex(values.index)
    return None


def _column_kind(series: pd.Series) -> str:
    if series.name in DATE_COLUMNS:
        return "date"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "text"


def _text_width(series: pd.Series, header: str) -> int:
    """Width from the header and the 90th percentile of text lengths (a sample on big sheets)."""
    sample = series if len(series) <= 5000 else series.sample(5000, random_state=0)
    lengths = sample.map(lambda v: 0 if _is_missing(v) else len(str(v)))
    typical = int(np.percentile(lengths, 90)) if len(lengths) else 0
    return max(MIN_WIDTH, min(MAX_WIDTH, max(typical, len(header)) + 2))


class SheetWriter:
    """Writes DataFrames as sheets with a frozen, filtered header row and typed cells (the run
    folder's workbook and the output folder's timeline.xlsx)."""

    def __init__(self, workbook: Workbook) -> None:
        self.book = workbook
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#E8EEF4", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        self.text = workbook.add_format({"valign": "top"})
        self.wrapped = workbook.add_format({"text_wrap": True, "valign": "top"})
        # quote_prefix: Excel keeps `=…` as text even after someone edits the cell
        self.guarded = workbook.add_format({"valign": "top", "quote_prefix": True})
        self.guarded_wrapped = workbook.add_format({"text_wrap": True, "valign": "top", "quote_prefix": True})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
        self.note = workbook.add_format({"bold": True, "italic": True, "font_color": "#7A4B00"})
        self.numbers: dict[str, Format] = {}

    def number_format(self, spec: str) -> Format:
        if spec not in self.numbers:
            self.numbers[spec] = self.book.add_format({"num_format": spec, "valign": "top"})
        return self.numbers[spec]

    def write(
        self,
        name: str,
        frame: pd.DataFrame,
        widths: dict[str, int] | None = None,
        note: str | None = None,
        dates: dict[str, tuple[pd.Series, str]] | None = None,
    ) -> None:
        """One sheet; with a `note`, the first row holds it and the header is the second row.
        `dates` gives columns to write as dates instead: the parsed values (same index as
        `frame`) and their Excel format."""
        sheet = self.book.add_worksheet(name)
        top = 0
        if note:
            sheet.write_string(0, 0, note, self.note)
            top = 1
        frame = frame.iloc[: EXCEL_MAX_ROWS - 1 - top]
        for col, column in enumerate(frame.columns):
            series = frame[column]
            kind = _column_kind(series)
            sheet.write_string(top, col, str(column), self.header)
            if dates and column in dates:
                parsed, spec = dates[column]
                self._write_dates(sheet, col, parsed.iloc[: len(series)], self.number_format(spec), top + 1)
                width = max(len(str(column)), len(spec)) + 2
            elif kind == "text":
                width = (widths or {}).get(column) or _text_width(series, str(column))
                long_text = width >= MAX_WIDTH or (widths or {}).get(column) is not None
                self._write_text(sheet, col, series, long_text, top + 1)
            else:
                width = max(len(str(column)) + 2, 11 if kind != "int" else 8)
                self._write_typed(sheet, col, series, kind, top + 1)
            sheet.set_column(col, col, width)
        sheet.freeze_panes(top + 1, 0)
        sheet.autofilter(top, 0, top + max(len(frame), 1), max(len(frame.columns) - 1, 0))

    def _write_text(self, sheet: Worksheet, col: int, series: pd.Series, wrap: bool, first: int = 1) -> None:
        plain, guarded = (self.wrapped, self.guarded_wrapped) if wrap else (self.text, self.guarded)
        for row, value in enumerate(series.tolist(), start=first):
            if _is_missing(value):
                continue
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
                sheet.write_number(row, col, value, self.text)  # a number in a mixed column
                continue
            text = str(value)
            if text:
                sheet.write_string(row, col, text, guarded if text.startswith(FORMULA_TRIGGERS) else plain)

    def _write_dates(self, sheet: Worksheet, col: int, dates: pd.Series, style: Format, first: int = 1) -> None:
        """Real Excel dates (numbers shown through a date format), so they sort and filter as
        dates; a missing value leaves the cell empty."""
        for row, value in enumerate(dates.tolist(), start=first):
            if not _is_missing(value) and value is not pd.NaT:
                sheet.write_datetime(row, col, value.to_pydatetime(), style)

    def _write_typed(self, sheet: Worksheet, col: int, series: pd.Series, kind: str, first: int = 1) -> None:
        if kind == "date":
            self._write_dates(sheet, col, pd.to_datetime(series.replace("", None), errors="coerce"), self.date, first)
            return
        if kind == "bool":
            for row, value in enumerate(series.tolist(), start=first):
                if not _is_missing(value):
                    sheet.write_boolean(row, col, bool(value), self.text)
            return
        spec = NUMBER_FORMATS.get(str(series.name), "0" if kind == "int" else "0.000")
        style = self.number_format(spec)
        for row, value in enumerate(series.tolist(), start=first):
            if not _is_missing(value) and math.isfinite(float(value)):
                sheet.write_number(row, col, value, style)


def _headlines_sheet(tables: RunTables, sample: "Sample | None") -> pd.DataFrame:
    """Headlines sorted by topic then confidence (a large run's: the sample, in the same order);
    the reviewer's columns first."""
    rows = headline_order(tables.headlines) if sample is None else sample.rows
    headlines = tables.headlines.iloc[rows]
    reviewer = ("topic_id", "topic_key", "topic_label", "topic_confidence", tables.text_column)
    first = [c for c in reviewer if c in headlines]
    last = [c for c in ("assigned_by", "map_x", "map_y") if c in headlines and c not in first]
    middle = [c for c in headlines.columns if c not in first and c not in last]
    return headlines[first + middle + last]


def sample_note(tables: RunTables, sample: "Sample | None") -> str | None:
    """The first row of a large run's Headlines sheet: what it holds and where every row is;
    None when the sheet holds every row."""
    if sample is None or tables.large is None or sample.shown == sample.total:
        return None
    topic = tables.headlines["topic_id"].astype(int).to_numpy()
    unclustered = int((topic[sample.rows] == UNCLUSTERED).sum())
    spread = f" and {unclustered:,} unclustered headlines spread over the input" if unclustered else ""
    return (
        f"Sample: the {sample.per_topic:,} most representative headlines of each topic (highest topic_confidence)"
        f"{spread} ({sample.shown:,} of {sample.total:,} rows); every row is in {' and '.join(tables.large.files)}"
    )


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        rows = []
        for key, inner in value.items():
            rows += _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return rows
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return [(prefix, value)]


def run_sheet(manifest: dict[str, Any]) -> pd.DataFrame:
    """Counts and settings, one per row. Timings and timestamps stay in run.json so that the
    workbook is the same for the same input and config."""
    counts = manifest.get("counts", {})
    rows: list[tuple[str, Any]] = [("run_id", manifest.get("run_id", ""))]
    window = manifest.get("window") or {}
    rows += [("window.since", window.get("since") or ""), ("window.until", window.get("until") or "")]
    for entry in manifest.get("inputs", []):
        digest = str(entry.get("sha256", ""))[:12]
        rows.append(("input", f"{entry.get('path', '')} ({entry.get('rows', '?')} rows, sha256 {digest}…)"))
    rows += [(f"rows.{key}", value) for key, value in counts.items()]
    rows += [
        ("topics", manifest.get("topics")),
        ("unclustered_rows", manifest.get("unclustered_rows")),
        ("unclustered_share", manifest.get("unclustered_share")),
    ]
    rows += _flatten("assigned_by", manifest.get("assigned_by", {}))
    rows += _flatten("model", {k: v for k, v in manifest.get("model", {}).items() if k != "location"})
    # not the device: it is null when every vector came from the cache, and the sheet must be the
    # same for a cold run and a warm rerun of the same computation
    rows += _flatten("resolved", {k: v for k, v in manifest.get("resolved", {}).items() if k != "device"})
    rows += _flatten("", manifest.get("config", {}))
    rows += _flatten("version", manifest.get("versions", {}))
    rows += _flatten("large_run", manifest.get("large_run") or {})
    rows += [("warning", w) for w in manifest.get("warnings", [])]
    values = [("true" if v else "false") if isinstance(v, bool) else "null" if v is None else v for _, v in rows]
    return pd.DataFrame({"setting": [k for k, _ in rows], "value": pd.Series(values, dtype=object)})


def write_workbook(tables: RunTables, path: Path, sample: "Sample | None" = None) -> None:
    """Write topics.xlsx with Topics, Headlines, Changes (when tracking is present) and Run; a
    large run's Headlines sheet shows `sample`."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        # never guess: cells are written with explicit types, text stays text
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "nan_inf_to_errors": False,
        },
    )
    workbook.set_properties({"title": f"Topics, run {tables.run_id}", "created": FIXED_CREATED})
    writer = SheetWriter(workbook)
    long_text = {c: MAX_WIDTH for c in ("keywords", "representative_1", "representative_2", "representative_3")}
    long_text["label"] = 36
    writer.write("Topics", tables.topics, widths={c: w for c, w in long_text.items() if c in tables.topics})
    headlines = _headlines_sheet(tables, sample)
    date_column = str((tables.manifest.get("config") or {}).get("input", {}).get("date_column") or "date")
    parsed = input_dates(headlines[date_column]) if date_column in headlines else None
    writer.write(
        "Headlines",
        headlines,
        widths={tables.text_column: MAX_WIDTH, "topic_label": 36},
        note=sample_note(tables, sample),
        dates={date_column: parsed} if parsed is not None else None,
    )
    if tables.changes is not None:
        writer.write("Changes", tables.changes)
    writer.write("Run", run_sheet(tables.manifest), widths={"setting": 34, "value": MAX_WIDTH})
    workbook.close()
