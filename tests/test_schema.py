"""The output schema: one home for every table's columns, used to check and to read back."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster.errors import InputError
from cluster.schema import CHANGES, HEADLINES, REJECTED, TOPICS, read_table

# The headers docs/reference.md documents ("Output"), typed from it; headlines.csv and rejected.csv
# start with the input's own columns, here `id` and `headline`.
DOCUMENTED = [
    pytest.param(
        TOPICS,
        "topic_id,topic_key,label,size,share,keywords,representative_1,representative_2,representative_3,"
        "cohesion,first_date,last_date,n_sources,status,previous_size,previous_label",
        id="topics.csv",
    ),
    pytest.param(
        HEADLINES,
        "id,headline,topic_id,topic_key,topic_label,topic_confidence,assigned_by,map_x,map_y",
        id="headlines.csv",
    ),
    pytest.param(
        CHANGES,
        "status,topic_key,topic_id,label,size,previous_topic_id,previous_label,previous_size,keywords",
        id="changes.csv",
    ),
    pytest.param(REJECTED, "id,headline,reason", id="rejected.csv"),
]


@pytest.mark.parametrize("table, header", DOCUMENTED)
def test_each_file_has_the_documented_header(table, header):
    """Scripts and spreadsheets read these columns by name and position: the schema the writers
    check against is exactly the documented header, each column once, in that order."""
    table.check(pd.DataFrame(columns=header.split(",")))


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
