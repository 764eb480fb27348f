"""Large runs (more headline rows than output.large_run_rows): headlines.parquet with every row, a
sampled Headlines sheet and sampled maps that say so, run.json's `large_run`, read_run on the
folder; below the threshold nothing changes. The real example run is reused with a low threshold
(no pipeline run of its own); the sampling itself is checked on small synthetic tables."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from PIL import Image

import cluster.review.sample as sampling
from cluster.config import Config, ReviewConfig
from cluster.formats import write_parquet
from cluster.record import RunRecord
from cluster.review.sample import map_sample, spread, workbook_sample
from cluster.runs import HEADLINES_CSV, HEADLINES_PARQUET, read_run, review_file_writers, write_run
from cluster.schema import HEADLINES, read_table
from cluster.tables import RunTables

REVIEW_FILES = ["report.html", "topic_map.html", "topic_map.png", "topics.xlsx"]
THRESHOLD = 20


def write_with_output(tables: RunTables, run_id: str, folder: Path, **output: object) -> Path:
    """The example run's tables written again under `run_id`, with the config's output section changed."""
    cfg = Config.model_validate(tables.manifest["config"])
    cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update=output)})
    manifest = {**tables.manifest, "run_id": run_id, "config": cfg.model_dump(mode="json")}
    manifest.pop("large_run", None)
    rejected = pd.DataFrame({"headline": [], "reason": []})
    again = RunTables(tables.topics, tables.headlines, rejected=rejected, changes=tables.changes)
    return write_run(again, RunRecord.from_json(manifest), folder, cfg.output, ReviewConfig())


@pytest.fixture
def small_caps(monkeypatch):
    """Sampling limits small enough for the 400-row example to be sampled."""
    monkeypatch.setattr(sampling, "WORKBOOK_PER_TOPIC", 5)
    monkeypatch.setattr(sampling, "MAP_MAX_POINTS", 120)
    monkeypatch.setattr(sampling, "MAP_MIN_PER_TOPIC", 3)


@pytest.fixture
def example_tables(example_run) -> RunTables:
    return read_run(example_run.folder)


@pytest.fixture
def large_folder(example_tables, small_caps, tmp_path) -> Path:
    return write_with_output(example_tables, "large", tmp_path, large_run_rows=THRESHOLD)


def html_payload(path: Path) -> dict:
    match = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', path.read_text("utf-8"), re.S)
    assert match
    return json.loads(match.group(1))


# --- headlines.parquet -----------------------------------------------------------------------


def test_a_large_run_writes_every_headline_to_parquet_with_the_schema_types(large_folder, example_tables):
    names = {p.name for p in large_folder.iterdir()}
    assert {HEADLINES_PARQUET, HEADLINES_CSV, *REVIEW_FILES} <= names
    from_csv = read_table(large_folder / HEADLINES_CSV, HEADLINES)
    from_parquet = read_table(large_folder / HEADLINES_PARQUET, HEADLINES)
    assert len(from_parquet) == len(example_tables.headlines) > THRESHOLD
    assert list(from_parquet.columns) == list(from_csv.columns)
    pd.testing.assert_frame_equal(from_parquet, from_csv, check_exact=False, atol=1e-6)
    schema = pq.read_schema(large_folder / HEADLINES_PARQUET)
    types = {field.name: str(field.type) for field in schema}
    assert types["topic_id"] == "int64"
    assert types["topic_confidence"] == types["map_x"] == types["map_y"] == "double"
    assert types["headline"] == types["topic_label"] == types["assigned_by"] == types["id"] == "string"
    stored = pq.read_metadata(large_folder / HEADLINES_PARQUET).metadata
    assert set(stored) == {b"ARROW:schema"}, "no pandas index or other metadata"
    unclustered = from_parquet["topic_id"] == -1
    assert from_parquet.loc[~unclustered, "topic_confidence"].notna().all()


def test_parquet_is_the_same_bytes_for_the_same_table(example_tables, tmp_path):
    write_parquet(example_tables.headlines, HEADLINES, tmp_path / "one.parquet")
    write_parquet(example_tables.headlines.copy(), HEADLINES, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    # and the same through a whole run folder, written twice
    folders = [
        write_with_output(example_tables, "again", tmp_path / name, large_run_rows=THRESHOLD) for name in ("a", "b")
    ]
    for name in (HEADLINES_PARQUET, HEADLINES_CSV, *REVIEW_FILES):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_text_is_stored_as_written_in_parquet(tmp_path):
    frame = pd.DataFrame(
        {
            "headline": ["=1+2", "'=quoted", "Zürich café"], "note": [None, "x", "y"], "topic_id": [0, 0, -1],
            "topic_key": ["T0001", "T0001", ""], "topic_label": ["+44", "+44", ""],
            "topic_confidence": [0.9, 0.8, np.nan], "assigned_by": ["hdbscan", "nearest", "none"],
            "map_x": [0.0, 1.0, 2.0], "map_y": [0.5, 1.5, 2.5],
        }
    )  # fmt: skip
    write_parquet(frame, HEADLINES, tmp_path / "h.parquet")
    back = read_table(tmp_path / "h.parquet", HEADLINES)
    assert back["headline"].tolist() == ["=1+2", "'=quoted", "Zürich café"], "no formula guard"
    assert back["note"].tolist() == ["", "x", "y"], "a missing text cell reads back empty, as from the CSV"
    assert back["topic_id"].dtype == "Int64" and np.isnan(back["topic_confidence"].iloc[2])


# --- the Headlines sheet ---------------------------------------------------------------------


def test_a_large_run_workbook_shows_the_most_representative_rows_and_says_so(large_folder, example_tables):
    book = load_workbook(large_folder / "topics.xlsx")
    sheet = book["Headlines"]
    rows = list(sheet.iter_rows(values_only=True))
    total = len(example_tables.headlines)
    note = rows[0][0]
    assert note.startswith("Sample: the 5 most representative headlines of each topic"), note
    assert f"of {total:,} rows" in note and "every row is in headlines.parquet and headlines.csv" in note
    assert all(value is None for value in rows[0][1:]), "the note is the first row's only cell"
    header = list(rows[1])
    assert header[:5] == ["topic_id", "topic_key", "topic_label", "topic_confidence", "headline"]
    assert all(cell.font.b for cell in sheet[2]), "the header row, second now, is still bold"
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref.startswith("A2:")
    body = pd.DataFrame(rows[2:], columns=header)
    assert f"({len(body):,} of {total:,} rows)" in note and len(body) < total
    # per topic: the 5 rows with the highest confidence, ties in row order; the topics in order
    headlines = example_tables.headlines
    for topic, shown in body.groupby("topic_id", sort=False):
        members = headlines[headlines["topic_id"] == topic]
        if topic == -1:
            assert len(shown) == min(5, len(members))
            continue
        best = members.sort_values("topic_confidence", ascending=False, kind="stable").head(5)
        assert shown["id"].astype(str).tolist() == best["id"].astype(str).tolist(), topic
    topics = body["topic_id"].tolist()
    assert topics == sorted(topics, key=lambda t: t if t >= 0 else 10**9)
    assert set(topics) == set(headlines["topic_id"].tolist()), "every topic has rows in the sheet"
    # the Run sheet and run.json say the same
    run = dict(list(book["Run"].iter_rows(values_only=True))[1:])
    manifest = json.loads((large_folder / "run.json").read_text())
    assert manifest["large_run"] == {
        "rows": total,
        "threshold": THRESHOLD,
        "files": [HEADLINES_PARQUET, HEADLINES_CSV],
        "workbook_rows": len(body),
        "workbook_per_topic": 5,
        "map_points": 120,
    }
    assert run["large_run.rows"] == total and run["large_run.workbook_rows"] == len(body)


# --- the maps and the report -----------------------------------------------------------------


def test_a_large_run_map_shows_a_per_topic_sample_and_says_how_many(large_folder, example_tables):
    total = len(example_tables.headlines)
    said = f"showing 120 of {total:,} headlines, sampled per topic"
    page = (large_folder / "topic_map.html").read_text(encoding="utf-8")
    assert said in page
    payload = html_payload(large_folder / "topic_map.html")
    assert len(payload["x"]) == len(payload["h"]) == len(payload["t"]) == 120
    topics = example_tables.topics
    assert sum(t["size"] for t in payload["topics"]) == topics.loc[topics["topic_id"] >= 0, "size"].sum()
    unclustered = {-1} if (example_tables.headlines["topic_id"] == -1).any() else set()
    assert set(payload["t"]) == set(range(len(payload["topics"]))) | unclustered, "every topic has points"
    # every point is a row of the table, with that row's topic, in input order, none twice
    ids = [topic["id"] for topic in payload["topics"]]
    points = [(text, ids[t] if t >= 0 else -1) for text, t in zip(payload["h"], payload["t"])]
    table = example_tables.headlines
    rows = iter(zip(table[example_tables.text_column].tolist(), table["topic_id"].tolist()))
    assert all(point in rows for point in points), "a subsequence of the table's rows"
    # each topic keeps MAP_MIN_PER_TOPIC (3 here) points, or all its rows when it has fewer
    shown = Counter(topic for _, topic in points)
    assert all(shown[topic] >= min(3, size) for topic, size in table["topic_id"].value_counts().items())
    with Image.open(large_folder / "topic_map.png") as image:
        assert image.size == (1800, 1350) and image.text.get("Description") == said
    report = (large_folder / "report.html").read_text(encoding="utf-8")
    assert f"120 of {total:,} headlines, sampled per topic, searchable" in report


def test_review_files_read_back_from_a_large_run_are_the_same_bytes(large_folder, tmp_path):
    tables = read_run(large_folder)
    assert tables.large is not None and tables.large.threshold == THRESHOLD
    for name, writer in review_file_writers(tables, ReviewConfig()).items():
        writer(tmp_path / name)
        assert (tmp_path / name).read_bytes() == (large_folder / name).read_bytes(), name


# --- the switches and the threshold ----------------------------------------------------------


def test_headlines_csv_false_writes_parquet_alone_and_read_run_reads_it(example_tables, small_caps, tmp_path):
    folder = write_with_output(example_tables, "parquet-only", tmp_path, large_run_rows=THRESHOLD, headlines_csv=False)
    names = {p.name for p in folder.iterdir()}
    assert HEADLINES_PARQUET in names and HEADLINES_CSV not in names
    assert json.loads((folder / "run.json").read_text())["large_run"]["files"] == [HEADLINES_PARQUET]
    note = load_workbook(folder / "topics.xlsx")["Headlines"]["A1"].value
    assert note.endswith("every row is in headlines.parquet")
    tables = read_run(folder)
    pd.testing.assert_frame_equal(tables.headlines, example_tables.headlines, check_exact=False, atol=1e-6)
    pd.testing.assert_frame_equal(tables.topics, example_tables.topics)


def test_below_the_threshold_nothing_changes(example_run, example_tables, tmp_path):
    """The default threshold (and headlines_csv: false, which only large runs heed): the files the
    CLI wrote, the tables byte for byte; the review files as review_writers writes them from the
    same tables; every headline in the sheet and on the map, and no large_run in run.json."""
    expected = sorted(p.name for p in example_run.folder.iterdir() if p.name != "topic_centroids.npz")
    (tmp_path / "direct").mkdir()
    for file, writer in review_file_writers(example_tables, ReviewConfig()).items():
        writer(tmp_path / "direct" / file)
    for name, output in (("default", {}), ("csv-off", {"large_run_rows": 10**6, "headlines_csv": False})):
        folder = write_with_output(example_tables, "first", tmp_path / name, **output)
        assert sorted(p.name for p in folder.iterdir()) == expected  # tracking state aside: not rebuilt here
        for file in (HEADLINES_CSV, "topics.csv", "changes.csv"):
            assert (example_run.folder / file).read_bytes() == (folder / file).read_bytes(), (name, file)
        for file in REVIEW_FILES:
            if name == "default" or file != "topics.xlsx":  # its Run sheet lists the changed settings
                assert (tmp_path / "direct" / file).read_bytes() == (folder / file).read_bytes(), (name, file)
        assert "large_run" not in json.loads((folder / "run.json").read_text())
        assert read_run(folder).large is None
        sheet = load_workbook(folder / "topics.xlsx")["Headlines"]
        assert sheet["A1"].value == "topic_id" and sheet.max_row == len(example_tables.headlines) + 1
        assert len(html_payload(folder / "topic_map.html")["x"]) == len(example_tables.headlines)
        assert "sampled per topic" not in (folder / "topic_map.html").read_text(encoding="utf-8")


def test_exactly_the_threshold_is_not_large(example_tables, tmp_path):
    rows = len(example_tables.headlines)
    folder = write_with_output(example_tables, "edge", tmp_path, large_run_rows=rows)
    assert not (folder / HEADLINES_PARQUET).exists()
    folder = write_with_output(example_tables, "over", tmp_path, large_run_rows=rows - 1)
    assert (folder / HEADLINES_PARQUET).exists()


# --- the samples, on synthetic tables --------------------------------------------------------


def synthetic_headlines(sizes: dict[int, int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    topic = np.concatenate([np.full(n, t) for t, n in sizes.items()])
    rng.shuffle(topic)
    confidence = np.where(topic >= 0, np.round(rng.uniform(0.2, 0.9, len(topic)), 2), np.nan)
    return pd.DataFrame({"headline": [f"h{i}" for i in range(len(topic))], "topic_id": topic,
                         "topic_confidence": confidence})  # fmt: skip


def test_workbook_sample_takes_the_most_confident_rows_ties_in_row_order():
    headlines = pd.DataFrame(
        {"topic_id": [1, 0, 0, 0, 0, -1, -1, -1, 1], "topic_confidence": [0.5, 0.7, 0.9, 0.7, 0.1, *[np.nan] * 3, 0.6]}
    )
    sample = workbook_sample(headlines, per_topic=2)
    assert sample.rows.tolist() == [2, 1, 8, 0, 5, 6]  # topic 0: 0.9, then the first 0.7; topic 1; unclustered
    assert (sample.shown, sample.total, sample.per_topic) == (6, 9, 2)


def test_workbook_sample_shrinks_per_topic_to_stay_under_its_row_cap():
    headlines = synthetic_headlines({t: 50 for t in range(40)} | {-1: 500})
    sample = workbook_sample(headlines, per_topic=100, max_rows=205)
    assert sample.per_topic == 5 and sample.shown == 41 * 5
    assert np.array_equal(sample.rows, workbook_sample(headlines, per_topic=100, max_rows=205).rows)


def test_map_sample_is_proportional_capped_in_input_order_and_keeps_every_topic():
    sizes = {0: 5000, 1: 2000, 2: 300, 3: 4, 4: 40, -1: 1000}
    headlines = synthetic_headlines(sizes)
    sample = map_sample(headlines, max_points=500, min_per_topic=10)
    assert sample.shown == 500 and sample.total == sum(sizes.values()) and sample.per_topic == 10
    assert np.all(np.diff(sample.rows) > 0), "input order, no repeats"
    shown = headlines["topic_id"].iloc[sample.rows].value_counts().to_dict()
    assert shown[3] == 4 and shown[4] >= 10, "small topics keep their guaranteed points"
    assert shown[0] > shown[1] > shown[-1] > shown[2], "otherwise in proportion to size"
    assert np.array_equal(sample.rows, map_sample(headlines, max_points=500, min_per_topic=10).rows)
    everything = map_sample(headlines, max_points=10**6)
    assert everything.shown == everything.total


def test_map_sample_of_a_small_table_worked_by_hand():
    """12 rows, at most 8 points, at least 2 a topic: topics 1 and 2 and the unclustered row keep
    every row (2, 1 and 1 points), and topic 0 takes the other 4, every second of its 8 rows."""
    topics = [0, 1, 0, 0, -1, 0, 0, 1, 0, 0, 2, 0]  # topic 0 on rows 0, 2, 3, 5, 6, 8, 9, 11
    sample = map_sample(pd.DataFrame({"topic_id": topics}), max_points=8, min_per_topic=2)
    assert sample.rows.tolist() == [0, 1, 3, 4, 6, 7, 9, 10]
    assert (sample.shown, sample.total, sample.per_topic) == (8, 12, 2)


def test_map_sample_with_more_topics_than_points_stays_under_the_cap():
    headlines = synthetic_headlines({t: 3 for t in range(300)})
    sample = map_sample(headlines, max_points=200, min_per_topic=10)
    assert sample.shown == 200 and sample.per_topic == 0


def test_spread_is_even_and_starts_at_the_first():
    assert spread(10, 3).tolist() == [0, 3, 6]
    assert spread(3, 5).tolist() == [0, 1, 2]
    assert spread(0, 5).tolist() == []
