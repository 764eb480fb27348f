"""Select the week, clean headline text, reject unusable rows and deduplicate."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster.config import CleaningConfig, InputConfig

CLEAN_TEXT = "_clean_text"  # working column; never written out
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Window:
    """An inclusive range of dates; either end may be open."""

    since: dt.date | None
    until: dt.date | None

    def describe(self) -> str:
        return f"{self.since or 'the beginning'} to {self.until or 'the end'}"


def resolve_window(cfg: InputConfig, today: dt.date | None = None) -> Window | None:
    """The date window the config asks for, or None for no window."""
    if cfg.last_days is not None:
        run_date = cfg.run_date or today or dt.datetime.now(dt.timezone.utc).date()
        return Window(run_date - dt.timedelta(days=cfg.last_days), run_date - dt.timedelta(days=1))
    if cfg.since is None and cfg.until is None:
        return None
    return Window(cfg.since, cfg.until)


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
    reasons[too_long] = [f"longer than {cfg.max_length} characters ({n})" for n in lengths[too_long]]
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

