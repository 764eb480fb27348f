"""Reading every supported input shape into one table of strings."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from cluster.errors import InputError
from cluster.read import read_headlines, require_column

ROWS = pd.DataFrame(
    {"id": ["1", "007"], "headline": ["NA", "Anutin’s party wins"], "date": ["2026-11-23", ""], "source": ["x", "y"]}
)


def check(frame: pd.DataFrame) -> None:
    assert frame["headline"].tolist() == ["NA", "Anutin’s party wins"]  # "NA" stays a headline
    assert frame["id"].tolist() == ["1", "007"]  # ids stay text: leading zeros survive


def test_csv_with_and_without_bom(tmp_path):
    for name, encoding in (("plain.csv", "utf-8"), ("bom.csv", "utf-8-sig")):
        ROWS.to_csv(tmp_path / name, index=False, encoding=encoding)
        result = read_headlines(str(tmp_path / name))
        check(result.frame)
        assert list(result.frame.columns) == ["id", "headline", "date", "source"]


def test_tsv_parquet_jsonl_and_gzip(tmp_path):
    ROWS.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    ROWS.to_parquet(tmp_path / "a.parquet")
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS.to_dict("records")))
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(ROWS.to_csv(index=False).encode()))
    for name in ("a.tsv", "a.parquet", "a.jsonl", "a.csv.gz"):
        check(read_headlines(str(tmp_path / name)).frame)


def test_plain_text_is_one_headline_a_line(tmp_path):
    (tmp_path / "list.txt").write_text("First headline\n\nSecond headline\n", encoding="utf-8")
    assert read_headlines(str(tmp_path / "list.txt")).frame["headline"].tolist() == [
        "First headline",
        "Second headline",
    ]


def test_folder_and_glob_read_files_in_name_order(tmp_path):
    ROWS.iloc[:1].to_csv(tmp_path / "b.csv", index=False)
    ROWS.iloc[1:].to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "notes.md").write_text("ignored")
    for spec in (str(tmp_path), str(tmp_path / "*.csv")):
        result = read_headlines(spec)
        assert result.frame["headline"].tolist() == ["Anutin’s party wins", "NA"]
        assert [f.rows for f in result.files] == [1, 1]


def test_named_encoding_is_used(tmp_path):
    (tmp_path / "win.csv").write_bytes("headline\nCafé prices rise\n".encode("cp1252"))
    assert read_headlines(str(tmp_path / "win.csv"), encoding="cp1252").frame["headline"].tolist() == [
        "Café prices rise"
    ]


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(InputError, match="matched no files"):
        read_headlines(str(tmp_path / "*.csv"))


def test_bad_jsonl_line_is_named(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"headline": "ok"}\n{broken\n')
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        read_headlines(str(tmp_path / "a.jsonl"))


def test_case_only_difference_is_suggested():
    with pytest.raises(InputError, match="did you mean 'Title'"):
        require_column(pd.DataFrame({"Title": ["x"], "Body": ["y"]}), "title")
