"""Writing a run: formula-safe text, numbers as numbers, every table checked against its schema."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cluster.config import OutputConfig, ReviewConfig
from cluster.formats import spreadsheet_safe, write_csv
from cluster.record import RunRecord
from cluster.runs import read_run, write_run
from cluster.tables import RunTables

OFF = ReviewConfig(workbook=False, map=False, report=False)


@pytest.mark.parametrize(
    "value, written",
    [
        ("=1+2", "'=1+2"),
        ("+44 call", "'+44 call"),
        ("-5% drop", "'-5% drop"),
        ("@all", "'@all"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Fed holds", "Fed holds"),
        (3, 3),
    ],
)
def test_spreadsheet_safe(value, written):
    assert spreadsheet_safe(value) == written


def test_write_csv_keeps_numbers_as_numbers(tmp_path):
    write_csv(pd.DataFrame({"t": ["=x"], "map_x": [-1.23456], "topic_id": [-1]}), tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == "\ufefft,map_x,topic_id\n'=x,-1.2346,-1\n".encode("utf-8")


def result_with_formula_like_text():
    """A run's tables whose text cells a spreadsheet would take for formulas."""
    topics = pd.DataFrame(
        {
            "topic_id": [0], "topic_key": ["T0001"], "label": ["=SUM(A1:A9)"], "size": [2], "share": [1.0],
            "keywords": ["+44; dial"], "representative_1": ["-5% drop in shares"], "representative_2": ["@everyone"],
            "representative_3": [""], "cohesion": [0.9], "status": ["new"],
            "previous_size": pd.array([None], dtype="Int64"), "previous_label": ["=old()"],
        }
    )  # fmt: skip
    headlines = pd.DataFrame(
        {
            "headline": ["-5% drop in shares", "@everyone"], "topic_id": [0, 0], "topic_key": ["T0001"] * 2,
            "topic_label": ["=SUM(A1:A9)"] * 2, "topic_confidence": [0.9, 0.8], "assigned_by": ["hdbscan"] * 2,
            "map_x": [0.0, 1.0], "map_y": [0.0, 1.0],
        }
    )  # fmt: skip
    changes = pd.DataFrame(
        {
            "status": ["new", "faded"], "topic_key": ["T0001", "T0000"], "topic_id": pd.array([0, None], dtype="Int64"),
            "label": ["=SUM(A1:A9)", ""], "size": [2, 0], "previous_topic_id": pd.array([None, 3], dtype="Int64"),
            "previous_label": ["", "+gone"], "previous_size": pd.array([None, 5], dtype="Int64"),
            "keywords": ["+44; dial", "-minus"],
        }
    )  # fmt: skip
    rejected = pd.DataFrame({"headline": [], "reason": []})
    return RunTables(topics, headlines, rejected=rejected, changes=changes, text_column="headline")


def record() -> RunRecord:
    return RunRecord("r", config={}, inputs=[], window=None, counts={})


def test_labels_representatives_and_changes_are_written_formula_safe(tmp_path):
    folder = write_run(result_with_formula_like_text(), record(), tmp_path, OutputConfig(), OFF)
    topics = (folder / "topics.csv").read_text(encoding="utf-8-sig")
    assert "'=SUM(A1:A9)" in topics and "'-5% drop in shares" in topics and "'@everyone" in topics
    assert "'+44; dial" in topics and "'=old()" in topics
    changes = (folder / "changes.csv").read_text(encoding="utf-8-sig").splitlines()
    assert changes[1].startswith("new,T0001,0,'=SUM(A1:A9),2,,,,'+44; dial")
    assert changes[2] == "faded,T0000,,,0,3,'+gone,5,'-minus"
    # read back, every cell is what the run produced
    tables = read_run(folder)
    assert tables.topics.loc[0, "label"] == "=SUM(A1:A9)" and tables.changes.loc[1, "previous_label"] == "+gone"


def test_a_table_that_drifts_from_its_schema_is_never_written(tmp_path):
    result = result_with_formula_like_text()
    drifted = dataclasses.replace(result, topics=result.topics.drop(columns=["cohesion"]))
    with pytest.raises(RuntimeError, match="the topics table: columns"):
        write_run(drifted, record(), tmp_path, OutputConfig(), OFF)
    assert list(tmp_path.iterdir()) == []
