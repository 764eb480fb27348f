"""cluster.timeline and cluster.review.timeline: the output folder's timeline, built from run
folders alone (made here by hand, no model): its order, its tables, and files that are replaced
whole and are the same bytes for the same run folders."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cluster.formats import write_csv
from cluster.runs import TIMELINE_CSV, TIMELINE_HTML, TIMELINE_PNG, TIMELINE_XLSX
from cluster.timeline import build_timeline, write_timeline

from conftest import read_output

FILES = (TIMELINE_CSV, TIMELINE_XLSX, TIMELINE_PNG, TIMELINE_HTML)


def make_run(out: Path, run_id: str, until: str, finished: str, topics: list[tuple[str, str, int]]) -> None:
    """A complete run folder: run.json and a topics.csv with `topics` (key, label, size) and the
    unclustered row."""
    folder = out / run_id
    folder.mkdir(parents=True)
    since = str((pd.Timestamp(until) - pd.Timedelta(days=6)).date()) if until else ""
    total = sum(size for _, _, size in topics) + 5
    manifest = {
        "run_id": run_id, "finished_at": finished, "window": {"since": since, "until": until} if until else None,
        "counts": {"accepted": total}, "topics": len(topics), "unclustered_share": round(5 / total, 4),
    }  # fmt: skip
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    rows = [(i, key, label, size, "new" if i == 0 else "continuing") for i, (key, label, size) in enumerate(topics)]
    rows.append((-1, "", "(unclustered)", 5, ""))
    frame = pd.DataFrame(rows, columns=["topic_id", "topic_key", "label", "size", "status"])
    frame.insert(4, "share", frame["size"] / total)
    for column in ("keywords", "representative_1", "representative_2", "representative_3"):
        frame.insert(5, column, "")
    frame.insert(9, "cohesion", 0.5)
    frame["previous_size"] = pd.array([None] * len(frame), dtype="Int64")
    frame["previous_label"] = ""
    write_csv(frame, folder / "topics.csv")


@pytest.fixture
def season(tmp_path: Path) -> Path:
    """Three weekly runs written out of order (a rerun of W11 finished last), and a run with no
    window."""
    out = tmp_path / "out"
    make_run(out, "2014-W12", "2014-03-23", "2026-12-01T10:00:00+00:00",
             [("T0001", "MH370 / Search", 40), ("T0003", "=Ukraine / Crimea", 12)])  # fmt: skip
    make_run(out, "2014-W13", "2014-03-30", "2026-12-01T11:00:00+00:00",
             [("T0001", "MH370 / Search / Ocean", 55), ("T0004", "GM / Recall", 9)])  # fmt: skip
    make_run(
        out, "2014-W11", "2014-03-16", "2026-12-02T09:00:00+00:00", [("T0001", "MH370", 20), ("T0002", "Oscars", 30)]
    )
    make_run(out, "adhoc", "", "2026-11-30T09:00:00+00:00", [("T0009", "Spring", 3)])
    (out / "not-a-run").mkdir()
    return out


def test_runs_are_in_window_order_and_every_keyed_topic_is_a_row(season):
    timeline = build_timeline(season)
    assert timeline is not None
    assert timeline.run_ids == ["adhoc", "2014-W11", "2014-W12", "2014-W13"]  # no window first, then by window
    table = timeline.table
    assert list(table.columns) == ["run_id", "window_since", "window_until", "topic_key", "topic_id", "label",
                                   "size", "share", "status"]  # fmt: skip
    assert len(table) == 7 and "" not in set(table["topic_key"])  # the unclustered rows are left out
    w12 = table[table.run_id == "2014-W12"]
    assert w12[["window_since", "window_until"]].iloc[0].tolist() == ["2014-03-17", "2014-03-23"]
    assert w12["label"].tolist() == ["MH370 / Search", "=Ukraine / Crimea"]


def test_the_size_table_has_a_row_per_key_and_a_column_per_run_largest_first(season):
    sizes = build_timeline(season).sizes
    assert sizes["topic_key"].tolist() == ["T0001", "T0002", "T0003", "T0004", "T0009"]
    first = sizes.iloc[0]
    assert (first["label"], first["runs"], first["largest"]) == ("MH370 / Search / Ocean", 3, 55)  # the latest label
    assert [first[r] for r in ["2014-W11", "2014-W12", "2014-W13"]] == [20, 40, 55] and pd.isna(first["adhoc"])


def test_files_are_replaced_whole_and_are_the_same_bytes_for_the_same_run_folders(season):
    written = write_timeline(season)
    assert [p.name for p in written] == list(FILES)
    first = {name: (season / name).read_bytes() for name in FILES}
    write_timeline(season)
    assert {name: (season / name).read_bytes() for name in FILES} == first
    assert not [p for p in season.iterdir() if p.name.startswith(".")], "no temporary file is left"
    csv = read_output(season / TIMELINE_CSV)
    assert csv[csv.topic_key == "T0003"]["label"].tolist() == ["'=Ukraine / Crimea"], "formula guard, as run CSVs"
    assert csv.run_id.drop_duplicates().tolist() == ["adhoc", "2014-W11", "2014-W12", "2014-W13"]
    assert (season / TIMELINE_CSV).stat().st_mode & 0o777 == 0o644


def test_the_workbook_has_topic_keys_by_runs(season):
    write_timeline(season)
    book = openpyxl.load_workbook(season / TIMELINE_XLSX)
    assert book.sheetnames == ["Sizes", "Timeline", "Runs"]
    rows = list(book["Sizes"].iter_rows(values_only=True))
    assert rows[0] == ("topic_key", "label", "runs", "largest", "adhoc", "2014-W11", "2014-W12", "2014-W13")
    assert rows[1] == ("T0001", "MH370 / Search / Ocean", 3, 55, None, 20, 40, 55)
    runs = list(book["Runs"].iter_rows(values_only=True))
    assert [r[0] for r in runs[1:]] == ["adhoc", "2014-W11", "2014-W12", "2014-W13"]


def test_the_page_works_offline_and_escapes_labels(season):
    write_timeline(season)
    page = (season / TIMELINE_HTML).read_text(encoding="utf-8")
    assert "<script src=" not in page and "<link" not in page, "nothing is fetched"
    assert "Plotly.newPlot" in page and '"name": "T0001 · MH370 / Search / Ocean"' in page
    data = json.loads(page.split('id="timeline-data">')[1].split("</script>")[0])
    assert [trace["y"] for trace in data["traces"]][0] == [None, 20, 40, 55]


def test_a_run_whose_topics_cannot_be_read_is_left_out_and_an_empty_folder_has_no_timeline(season, tmp_path):
    (season / "2014-W12" / "topics.csv").write_text("nothing,here\n", encoding="utf-8")
    assert build_timeline(season).run_ids == ["adhoc", "2014-W11", "2014-W13"]
    assert write_timeline(tmp_path / "empty") == [] and not (tmp_path / "empty").exists()
