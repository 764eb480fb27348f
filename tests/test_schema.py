"""The output schema: one home for every table's columns, used to check and to read back."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster.errors import InputError
from cluster.schema import CHANGES, HEADLINES, REJECTED, TOPICS, read_table


def test_every_table_lists_its_columns_once():
    for table in (TOPICS, HEADLINES, CHANGES, REJECTED):
        assert len(set(table.names)) == len(table.names), table.file


def test_check_accepts_the_schema_with_optional_columns_left_out_and_refuses_any_drift():
    without_dates = [c for c in TOPICS.names if c not in ("first_date", "last_date", "n_sources")]
    TOPICS.check(pd.DataFrame(columns=TOPICS.names))
    TOPICS.check(pd.DataFrame(columns=without_dates))
    with pytest.raises(RuntimeError):
        TOPICS.check(pd.DataFrame(columns=[*without_dates, "extra"]))
    with pytest.raises(RuntimeError):
        TOPICS.check(pd.DataFrame(columns=list(reversed(TOPICS.names))))
    HEADLINES.check(pd.DataFrame(columns=["id", "headline", *HEADLINES.names]))  # input columns first
    with pytest.raises(RuntimeError):
        HEADLINES.check(pd.DataFrame(columns=["id", "headline", *HEADLINES.names[:-1]]))


def test_read_table_gives_numbers_as_numbers_and_text_as_it_was(tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text("\ufeff" + ",".join(CHANGES.names) + "\nnew,T0001,0,'=x,2,,,,'+a; b\n", encoding="utf-8")
    frame = read_table(path, CHANGES)
    assert frame.loc[0, "topic_id"] == 0 and frame.loc[0, "size"] == 2
    assert pd.isna(frame.loc[0, "previous_size"]) and str(frame["previous_size"].dtype) == "Int64"
    assert frame.loc[0, "label"] == "=x" and frame.loc[0, "keywords"] == "+a; b"


def test_read_table_names_the_file_and_column_that_do_not_fit(tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text(",".join(CHANGES.names) + "\nnew,T0001,zero,x,2,,,,k\n", encoding="utf-8")
    with pytest.raises(InputError, match="changes.csv: column 'topic_id' should hold numbers"):
        read_table(path, CHANGES)
    path.write_text("topic_key,label\nT0001,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns \\['status'\\] missing"):
        read_table(path, CHANGES)


def test_runs_written_before_topic_tracking_are_still_read(tmp_path):
    path = tmp_path / "topics.csv"
    path.write_text("topic_id,label,size,share\n0,Fed,3,0.75\n-1,Unclustered,1,0.25\n", encoding="utf-8")
    frame = read_table(path, TOPICS)
    assert frame["size"].tolist() == [3, 1] and "topic_key" not in frame.columns
