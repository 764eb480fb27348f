"""Select the week, clean headline text, reject unusable rows and deduplicate."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster.config import CleaningConfig
from cluster.errors import NoHeadlines
from cluster.read import InputFile
from cluster.weeks import Window

CLEAN_TEXT = "_clean_text"  # working column; never written out
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")


def parse_dates(values: pd.Series) -> pd.Series:
    """Calendar dates (UTC) of date strings; missing or unreadable values become NaT."""
    parsed = pd.to_datetime(values.replace("", None), utc=True, errors="coerce", format="mixed")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()


@dataclass(frozen=True)
class WindowSplit:
    """Rows inside the window, rows outside it, and rows whose date could not be read."""

    inside: pd.Index
    outside: pd.Index
    undated: pd.Index


def split_by_window(frame: pd.DataFrame, date_column: str, window: Window) -> WindowSplit:
    """Split rows by whether their date falls in the window."""
    dates = parse_dates(frame[date_column])
    undated = dates.isna()
    inside = ~undated
    if window.since is not None:
        inside &= dates >= pd.Timestamp(window.since)
    if window.until is not None:
        inside &= dates <= pd.Timestamp(window.until)
    outside = ~undated & ~inside
    return WindowSplit(frame.index[inside], frame.index[outside], frame.index[undated])


def select_window(
    frame: pd.DataFrame, date_column: str, window: Window | None
) -> tuple[pd.DataFrame, pd.DataFrame | None, int]:
    """The rows inside the window, the undated rows (rejected, with a reason; None without a
    window) and how many fell outside. Raises NoHeadlines (an InputError) when no row is inside."""
    if window is None:
        return frame, None, 0
    split = split_by_window(frame, date_column, window)
    if len(split.inside) == 0:
        raise NoHeadlines(
            f"all {len(frame)} rows fall outside the date window {window.describe()} "
            f"({len(split.undated)} without a readable date); widen the window or check input.date_column",
            short="no headline dated in it",
        )
    undated = frame.loc[split.undated].copy()
    undated["reason"] = f"missing or unreadable {date_column!r} while a date window is set"
    return frame.loc[split.inside], undated, len(split.outside)


def clean_text(text: str, cfg: CleaningConfig, tag_pattern: re.Pattern[str] | None = None) -> str:
    """Normalise Unicode (NFKC) and whitespace, and optionally strip a trailing publisher tag."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if cfg.strip_publisher_tags and text:
        pattern = tag_pattern or re.compile(cfg.publisher_tag_pattern)
        stripped = pattern.sub("", text).strip()
        if stripped:  # never strip a headline down to nothing
            text = stripped
    return text


@dataclass(frozen=True)
class CleanResult:
    """Accepted rows (with the cleaned text in CLEAN_TEXT) and rejected rows (with `reason`)."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame


def clean_headlines(frame: pd.DataFrame, text_column: str, cfg: CleaningConfig) -> CleanResult:
    """Clean every headline; blank and over-long rows are rejected with a reason."""
    pattern = re.compile(cfg.publisher_tag_pattern)
    cleaned = frame[text_column].astype(str).map(lambda text: clean_text(text, cfg, pattern))
    lengths = cleaned.str.len()
    reasons = pd.Series("", index=frame.index, dtype=object)
    reasons[lengths == 0] = "blank headline"
    too_long = lengths > cfg.max_length
    reasons[too_long] = pd.Series(
        [f"longer than {cfg.max_length} characters ({n})" for n in lengths[too_long]], index=lengths[too_long].index
    )
    keep = reasons == ""
    accepted = frame[keep].copy()
    accepted[CLEAN_TEXT] = cleaned[keep]
    rejected = frame[~keep].copy()
    rejected["reason"] = reasons[~keep]
    return CleanResult(accepted=accepted, rejected=rejected)


@dataclass(frozen=True)
class Deduplicated:
    """Unique headline texts and, for every accepted row, the index of its unique text."""

    texts: list[str]
    row_to_unique: np.ndarray
    counts: np.ndarray  # input rows per unique text


def deduplicate(cleaned: pd.Series) -> Deduplicated:
    """Group headlines identical after cleaning (case-insensitive); the first spelling is kept."""
    keys = cleaned.str.casefold()
    codes, uniques = pd.factorize(keys, sort=False)
    first_row = pd.Series(np.arange(len(codes))).groupby(codes).min().to_numpy()
    texts = [str(cleaned.iloc[i]) for i in first_row]
    counts = np.bincount(codes, minlength=len(uniques))
    return Deduplicated(texts=texts, row_to_unique=codes.astype(np.int64), counts=counts)


@dataclass(frozen=True)
class PreparedInput:
    """The week's rows after reading, windowing and cleaning; everything the model stages need."""

    accepted: pd.DataFrame  # input columns plus CLEAN_TEXT, in input order
    rejected: pd.DataFrame  # input columns plus `reason`
    unique: Deduplicated
    files: list[InputFile]
    window: Window | None
    counts: dict[str, int]
    input_columns: list[str]
    seconds: float = 0.0  # time spent reading and cleaning

    def date_span(self, date_column: str) -> tuple[dt.date, dt.date] | tuple[None, None]:
        """The first and last day of the accepted rows' dates; (None, None) without dates."""
        if date_column not in self.accepted.columns:
            return None, None
        days = parse_dates(self.accepted[date_column]).dropna()
        if days.empty:
            return None, None
        return days.min().date(), days.max().date()

    def unique_days(self, date_column: str) -> np.ndarray | None:
        """The day of each distinct headline's first row, when the input has dates (else None)."""
        if date_column not in self.accepted.columns:
            return None
        rows = self.unique.row_to_unique
        first = np.full(len(self.unique.texts), len(rows), dtype=np.int64)
        np.minimum.at(first, rows, np.arange(len(rows)))
        return parse_dates(self.accepted[date_column]).to_numpy()[first]


def row_counts(read: int, outside: int, rejected: int, accepted: int, unique: int) -> dict[str, int]:
    """The row accounting run.json records; every row read is in exactly one of the three groups."""
    if read != outside + rejected + accepted:
        raise RuntimeError(f"row accounting does not add up: {read} read, {outside} + {rejected} + {accepted}")
    return {"read": read, "outside_window": outside, "rejected": rejected, "accepted": accepted, "unique": unique}
