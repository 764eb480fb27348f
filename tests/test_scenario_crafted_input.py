"""Formula-like, non-ASCII, duplicate, blank and over-long headlines, through the real pipeline."""

from __future__ import annotations

import csv
import json

import pandas as pd

from conftest import CRAFTED_HEADLINES, read_output


def test_blank_and_long_rows_are_rejected_with_a_reason(crafted_run, crafted_input):
    rejected = read_output(crafted_run.folder / "rejected.csv")
    assert list(rejected.columns) == ["id", "headline", "date", "source", "reason"]
    reasons = dict(zip(rejected.id, rejected.reason))
    assert reasons == {
        "crafted-6": "blank headline",
        "crafted-7": "blank headline",
        "crafted-8": "longer than 300 characters (400)",
    }
    manifest = json.loads((crafted_run.folder / "run.json").read_text())
    source = pd.read_csv(crafted_input, dtype=str, keep_default_na=False)
    headlines = read_output(crafted_run.folder / "headlines.csv")
    assert manifest["counts"]["read"] == len(source) == len(headlines) + len(rejected)
    assert set(headlines.id) | set(rejected.id) == set(source.id)


def test_duplicates_share_a_topic_but_keep_their_rows(crafted_run, crafted_input):
    headlines = read_output(crafted_run.folder / "headlines.csv").set_index("id")
    source = pd.read_csv(crafted_input, dtype=str, keep_default_na=False)
    original_id = source.id.iloc[0]
    group = headlines.loc[[original_id, "dup-1", "dup-2", "dup-3"]]
    assert group.topic_id.nunique() == 1
    assert group.topic_confidence.nunique() == 1
    manifest = json.loads((crafted_run.folder / "run.json").read_text())
    assert manifest["counts"]["unique"] == manifest["counts"]["accepted"] - 3


def test_formula_like_cells_are_written_as_text(crafted_run):
    raw = (crafted_run.folder / "headlines.csv").read_text(encoding="utf-8-sig")
    cells = [cell for row in csv.reader(raw.splitlines()) for cell in row]
    for headline in CRAFTED_HEADLINES[:4]:
        assert "'" + headline in cells, headline
        assert headline not in cells
    # no text cell in any output may start with a formula trigger
    for name in ("headlines.csv", "topics.csv", "rejected.csv"):
        frame = read_output(crafted_run.folder / name)
        for column in frame.columns:
            if column in {"map_x", "map_y", "topic_id", "topic_confidence", "share", "cohesion"}:
                continue
            assert not frame[column].str.match(r"^[=+\-@\t\r]").any(), (name, column)


def test_non_ascii_survives_with_a_bom_for_excel(crafted_run):
    raw = (crafted_run.folder / "headlines.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "Anutin’s Bhumjaithai Party Wins Thai Election" in text
    assert "Zürich café owners protest new tax — Ünïcödé test" in text
