"""Cleaning, windowing and deduplication on small hand-made inputs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cluster.clean import clean_headlines, clean_text, deduplicate, split_by_window
from cluster.config import CleaningConfig, InputConfig
from cluster.weeks import resolve_window


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("  Fed\u00a0holds   rates\n", "Fed holds rates"),
        ("ﬁnancial\u200b news", "financial news"),  # NFKC ligature, zero-width space
        ("Stocks slide as tech falls - Reuters", "Stocks slide as tech falls"),
        ("Markets wobble | BBC News", "Markets wobble"),
        ("Elections 2026 – The Guardian", "Elections 2026"),
        ("Pings coming from Flight 370 - Australian PM", "Pings coming from Flight 370"),
        ("Wu-Tang Clan sells album", "Wu-Tang Clan sells album"),  # a hyphen inside a word is not a tag
        ("- Reuters", "- Reuters"),  # never strip a headline to nothing
    ],
)
def test_clean_text(raw, cleaned):
    assert clean_text(raw, CleaningConfig()) == cleaned


def test_tag_stripping_can_be_switched_off():
    assert (
        clean_text("Markets wobble | BBC News", CleaningConfig(strip_publisher_tags=False))
        == "Markets wobble | BBC News"
    )


def test_clean_headlines_rejects_blank_and_long_rows_keeping_the_rest_in_order():
    frame = pd.DataFrame({"headline": ["b", " ", "a" * 20, "c"]}, index=[10, 11, 12, 13])
    result = clean_headlines(frame, "headline", CleaningConfig(max_length=10))
    assert result.accepted.index.tolist() == [10, 13]
    assert result.rejected["reason"].tolist() == ["blank headline", "longer than 10 characters (20)"]


def test_deduplicate_is_case_insensitive_and_keeps_first_spelling():
    unique = deduplicate(pd.Series(["Fed holds", "Stocks up", "FED HOLDS", "fed holds"]))
    assert unique.texts == ["Fed holds", "Stocks up"]
    assert unique.row_to_unique.tolist() == [0, 1, 0, 0]
    assert unique.counts.tolist() == [3, 1]


def test_window_last_days_and_explicit_range():
    cfg = InputConfig(last_days=7, run_date=dt.date(2026, 11, 30))
    window = resolve_window(cfg)
    assert (window.since, window.until) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    frame = pd.DataFrame({"date": ["2026-11-22T23:59:00Z", "2026-11-23T00:00:00Z", "2026-11-29 18:00", "", "soon"]})
    split = split_by_window(frame, "date", window)
    assert split.inside.tolist() == [1, 2]
    assert split.outside.tolist() == [0]
    assert split.undated.tolist() == [3, 4]
