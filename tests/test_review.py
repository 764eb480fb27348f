"""Review files (topics.xlsx, topic_map.png/.html, report.html) from the shared real runs, read
back the way a reviewer's tools read them."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from cluster.config import OutputConfig, ReviewConfig
from cluster.record import RunRecord
from cluster.review.report import render_report
from cluster.runs import read_run, review_file_writers, review_files, write_run
from cluster.tables import RunTables

from conftest import CRAFTED_HEADLINES, read_output

REVIEW_FILES = ["report.html", "topic_map.html", "topic_map.png", "topics.xlsx"]
FORMULA_LIKE = [h for h in CRAFTED_HEADLINES if h[:1] and h[0] in "=+-@"]


def sheet_rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def map_payload(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', text, re.S)
    assert match, "the map's data block"
    return json.loads(match.group(1))


class NetworkRefs(HTMLParser):
    """Collects src/href attributes that point off the machine, and CSS url()/@import."""

    def __init__(self):
        super().__init__()
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href", "data", "poster", "srcset"} and value and re.match(r"\s*(https?:)?//", value):
                self.remote.append(f"<{tag} {name}={value}>")


def remote_references(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    parser = NetworkRefs()
    parser.feed(text)
    css = re.findall(r"@import|url\(\s*['\"]?(?:https?:)?//", "".join(re.findall(r"<style>(.*?)</style>", text, re.S)))
    return parser.remote + css


# --- the run folder ------------------------------------------------------------------------


def test_every_run_writes_the_review_files_and_times_them(example_run):
    names = {p.name for p in example_run.folder.iterdir()}
    assert set(REVIEW_FILES) <= names
    manifest = json.loads((example_run.folder / "run.json").read_text())
    assert set(manifest["review_seconds"]) == set(REVIEW_FILES)
    assert manifest["seconds"]["review"] == pytest.approx(sum(manifest["review_seconds"].values()), abs=0.01)
    assert manifest["seconds"]["review"] <= manifest["seconds"]["write"] <= manifest["seconds"]["total"]


def write_again(tables: RunTables, run_id: str, folder: Path, review: ReviewConfig, headlines=None) -> Path:
    """A run folder written again from a run's tables read back, under another run id."""
    headlines = tables.headlines if headlines is None else headlines
    record = RunRecord.from_json({**tables.manifest, "run_id": run_id})
    return write_run(replace(tables, headlines=headlines, changes=None), record, folder, OutputConfig(), review)


def test_config_switches_turn_review_files_off(example_run, tmp_path):
    """write_run honours the review settings; the tables are the real run's, read back."""
    tables = read_run(example_run.folder)
    folder = write_again(tables, "switched", tmp_path, ReviewConfig(workbook=False, map=True, report=False))
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["headlines.csv", "rejected.csv", "run.json", "topic_map.html", "topic_map.png", "topics.csv"]
    )
    assert review_files(ReviewConfig(workbook=False, map=False, report=False)) == []


def test_a_failing_review_writer_leaves_no_run_folder(example_run, tmp_path):
    tables = read_run(example_run.folder)
    broken = tables.headlines.assign(map_x="nowhere")  # the map cannot be drawn without coordinates
    with pytest.raises(ValueError):
        write_again(tables, "broken", tmp_path, ReviewConfig(), broken)
    assert list(tmp_path.iterdir()) == []


def test_review_files_are_the_same_bytes_for_the_same_tables(example_run, tmp_path):
    tables = read_run(example_run.folder)
    for attempt in ("one", "two"):
        (tmp_path / attempt).mkdir()
        for name, writer in review_file_writers(tables, ReviewConfig()).items():
            writer(tmp_path / attempt / name)
    for name in REVIEW_FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


# --- topics.xlsx -----------------------------------------------------------------------------


def test_workbook_sheets_headers_and_layout(example_run):
    book = load_workbook(example_run.folder / "topics.xlsx")
    assert book.sheetnames == ["Topics", "Headlines", "Changes", "Run"]
    changes = read_output(example_run.folder / "changes.csv")
    assert book["Changes"].max_row == len(changes) + 1, "the Changes sheet holds changes.csv"
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert all(cell.font.b for cell in sheet[1]), f"{sheet.title}: bold header"
        widths = [sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]]
        assert all(6 <= w <= 61 for w in widths), (sheet.title, widths)
    topics = book["Topics"]
    header = [c.value for c in topics[1]]
    assert header == list(read_output(example_run.folder / "topics.csv").columns)
    keywords = header.index("keywords") + 1
    assert topics.cell(row=2, column=keywords).alignment.wrap_text, "long text wraps"
    assert topics.column_dimensions[topics.cell(row=1, column=keywords).column_letter].width >= 40


def test_workbook_numbers_are_numbers_and_match_the_csv(example_run):
    book = load_workbook(example_run.folder / "topics.xlsx")
    csv = read_output(example_run.folder / "topics.csv")
    rows = sheet_rows(book["Topics"])
    header = list(rows[0])
    assert len(rows) - 1 == len(csv)
    for values, (_, expected) in zip(rows[1:], csv.iterrows()):
        row = dict(zip(header, values))
        assert isinstance(row["topic_id"], int) and row["topic_id"] == int(expected.topic_id)
        assert isinstance(row["size"], int) and row["size"] == int(expected["size"])
        assert isinstance(row["share"], float) and row["share"] == pytest.approx(float(expected.share), abs=1e-4)
        assert row["label"] == expected.label
    share_cell = book["Topics"].cell(row=2, column=header.index("share") + 1)
    assert share_cell.number_format == "0.0%"
    date_cell = book["Topics"].cell(row=2, column=header.index("first_date") + 1)
    assert date_cell.is_date and date_cell.value.date().isoformat() == csv.first_date[0]


def test_workbook_headlines_sorted_by_topic_then_confidence(example_run):
    book = load_workbook(example_run.folder / "topics.xlsx")
    rows = sheet_rows(book["Headlines"])
    header = list(rows[0])
    reviewer = ["topic_id", "topic_key", "topic_label", "topic_confidence", "headline"]
    assert header[:5] == reviewer, "the reviewer's columns first"
    csv = read_output(example_run.folder / "headlines.csv")
    assert len(rows) - 1 == len(csv)
    assert sorted(r[header.index("headline")] for r in rows[1:]) == sorted(csv.headline)
    keys = []
    for row in rows[1:]:
        topic, confidence = row[0], row[header.index("topic_confidence")]
        assert isinstance(topic, int)
        keys.append((topic if topic >= 0 else 10**9, -(confidence if confidence is not None else -1)))
    assert keys == sorted(keys), "topic 0, 1, … then unclustered; highest confidence first"


def test_workbook_run_sheet_has_counts_and_settings(example_run):
    rows = dict(sheet_rows(load_workbook(example_run.folder / "topics.xlsx")["Run"])[1:])
    manifest = json.loads((example_run.folder / "run.json").read_text())
    assert rows["run_id"] == "first"
    assert rows["rows.accepted"] == manifest["counts"]["accepted"] and isinstance(rows["rows.accepted"], int)
    assert rows["topics"] == manifest["topics"]
    assert rows["clustering.min_cluster_size"] == "auto"
    assert rows["reduction.random_state"] == 42
    assert rows["resolved.min_cluster_size"] == manifest["resolved"]["min_cluster_size"]


def test_formula_like_headlines_are_text_cells_in_the_workbook(crafted_run):
    book = load_workbook(crafted_run.folder / "topics.xlsx")
    cells = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    cells.setdefault(cell.value, cell)
    for headline in FORMULA_LIKE:
        assert headline in cells, f"{headline!r} is shown as written, without an apostrophe"
        assert cells[headline].data_type == "s"
        assert cells[headline].quotePrefix, "Excel keeps it text even when the cell is edited"


# --- the maps --------------------------------------------------------------------------------


def test_map_html_holds_every_headline_with_its_topic(example_run):
    payload = map_payload(example_run.folder / "topic_map.html")
    headlines = read_output(example_run.folder / "headlines.csv")
    topics = read_output(example_run.folder / "topics.csv")
    assert payload["h"] == headlines.headline.tolist()
    assert len(payload["x"]) == len(payload["y"]) == len(payload["t"]) == len(headlines)
    labels = [topics.label[topics.topic_id == str(t)].iloc[0] for t in headlines.topic_id.astype(int) if t >= 0]
    assert [payload["topics"][t]["label"] for t in payload["t"] if t >= 0] == labels
    assert sum(t < 0 for t in payload["t"]) == (headlines.topic_id == "-1").sum()
    assert payload["x"] == pytest.approx(headlines.map_x.astype(float).tolist(), abs=1e-3)


def test_map_and_report_html_fetch_nothing_from_the_network(example_run):
    for name in ("topic_map.html", "report.html"):
        path = example_run.folder / name
        assert remote_references(path) == [], name
    text = (example_run.folder / "topic_map.html").read_text(encoding="utf-8")
    assert "<script src" not in text.lower()
    assert "Plotly.newPlot" in text and "scattergl" in text


def test_formula_and_markup_headlines_are_text_in_the_map(crafted_run):
    path = crafted_run.folder / "topic_map.html"
    payload = map_payload(path)
    for headline in FORMULA_LIKE:
        assert headline in payload["h"], "stored as written, no apostrophe"
    raw = path.read_text(encoding="utf-8")
    data_block = raw[raw.index('id="map-data">') :]
    data_block = data_block[: data_block.index("</script>")]
    assert "<" not in data_block.split(">", 1)[1], "no raw markup inside the data block"


def test_map_png_is_a_drawn_picture(example_run):
    from PIL import Image

    with Image.open(example_run.folder / "topic_map.png") as image:
        assert image.format == "PNG" and image.size == (1800, 1350)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    coloured = pixels[(pixels.max(axis=1) - pixels.min(axis=1)) > 60]
    assert len(coloured) > 2000, "topic points drawn in colour"
    assert len(np.unique(coloured // 32, axis=0)) >= 8, "several topic colours"


# --- report.html -----------------------------------------------------------------------------


def test_report_shows_the_week(example_run):
    text = (example_run.folder / "report.html").read_text(encoding="utf-8")
    topics = read_output(example_run.folder / "topics.csv")
    manifest = json.loads((example_run.folder / "run.json").read_text())
    assert f"<dd>{manifest['counts']['accepted']:,}</dd>" in text
    assert f"<dd>{manifest['topics']}</dd>" in text
    assert f"({manifest['unclustered_share']:.1%})" in text
    assert '<a href="topic_map.html">' in text
    from html import escape

    for _, topic in topics[topics.topic_id != "-1"].head(20).iterrows():
        assert escape(topic.label) in text
        assert escape(topic.keywords) in text
        for column in ("representative_1", "representative_2", "representative_3"):
            assert escape(topic[column]) in text
    # a first run has no previous run: every topic is new
    assert "What changed since the previous run" in text


def _with_tracking(tables: RunTables) -> RunTables:
    """The real run's tables with crafted tracking columns (every status, a faded topic whose
    label looks like a formula and holds HTML), to check every status is shown and escaped."""
    topics = tables.topics.copy()
    statuses = ["new", "growing", "continuing", "shrinking"]
    topics["topic_key"] = [f"T{i + 1:04d}" for i in range(len(topics))]
    topics["status"] = [statuses[i % 4] for i in range(len(topics))]
    topics["previous_size"] = pd.array([None if s == "new" else 3 for s in topics["status"]], dtype="Int64")
    changes = pd.DataFrame(
        {
            "topic_key": ["T0900", topics.topic_key[0]],
            "status": ["faded", "new"],
            "label": ["=Old <b>story</b> & more", topics.label[0]],
            "size": pd.array([None, int(topics["size"][0])], dtype="Int64"),
            "previous_size": pd.array([41, None], dtype="Int64"),
        }
    )
    return RunTables(topics, tables.headlines, tables.manifest, changes=changes)


def test_tracking_columns_show_in_workbook_and_report(example_run, tmp_path):
    tables = _with_tracking(read_run(example_run.folder))
    for name, writer in review_file_writers(tables, ReviewConfig()).items():
        writer(tmp_path / name)
    book = load_workbook(tmp_path / "topics.xlsx")
    assert book.sheetnames == ["Topics", "Headlines", "Changes", "Run"]
    changes = sheet_rows(book["Changes"])
    assert changes[0] == ("topic_key", "status", "label", "size", "previous_size")
    assert changes[1][:3] == ("T0900", "faded", "=Old <b>story</b> & more") and changes[1][4] == 41
    assert book["Changes"].freeze_panes == "A2"
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "What changed since the previous run" in report
    new_topics = tables.topics[tables.topics.status == "new"]
    section = report[report.index("<h3>New topics</h3>") : report.index("<h3>Growing topics</h3>")]
    for label in new_topics.label:
        assert label.replace("&", "&amp;") in section
    faded = report[report.index("<h3>Faded since the previous run</h3>") :]
    assert "=Old &lt;b&gt;story&lt;/b&gt; &amp; more" in faded and "41 last run" in faded
    assert '<span class="status new">new</span>' in report


class GridItems(HTMLParser):
    """The grid items of `<div class="changes">` in report.html: for each, the tags directly
    inside it and its text."""

    VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.grid: int | None = None  # the depth of the grid element while inside it
        self.items: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        self.depth += 1
        if self.grid is None:
            if tag == "div" and "changes" in (dict(attrs).get("class") or "").split():
                self.grid = self.depth
        elif self.depth == self.grid + 1:
            self.items.append({"children": [], "text": ""})
        elif self.depth == self.grid + 2:
            self.items[-1]["children"].append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self.depth == self.grid:
            self.grid = None
        self.depth -= 1

    def handle_data(self, data):
        if self.grid is not None and self.depth > self.grid:
            self.items[-1]["text"] += data


def test_report_keeps_each_change_heading_with_its_list():
    """`.changes` is a grid: each status's heading and its list (or "None.") must be one grid
    item, else the lists land in the next column, under the wrong heading."""
    topics = pd.DataFrame(
        {
            "topic_id": pd.array([0, 1, 2, -1], dtype="Int64"),
            "label": ["Alpha story", "Beta story", "Gamma story", "unclustered"],
            "size": pd.array([5, 4, 3, 2], dtype="Int64"),
            "share": [5 / 14, 4 / 14, 3 / 14, 2 / 14],
            "keywords": ["alpha", "beta", "gamma", ""],
            "representative_1": ["Alpha one", "Beta one", "Gamma one", ""],
            "topic_key": ["T0001", "T0002", "T0003", ""],
            "status": ["new", "new", "continuing", ""],
            "previous_size": pd.array([None, None, 3, None], dtype="Int64"),
        }
    )
    changes = pd.DataFrame(
        {
            "topic_key": ["T0009"],
            "status": ["faded"],
            "label": ["Delta story"],
            "size": pd.array([None], dtype="Int64"),
            "previous_size": pd.array([7], dtype="Int64"),
        }
    )
    html = render_report(RunTables(topics, pd.DataFrame(), {"run_id": "grid"}, changes=changes))
    parser = GridItems()
    parser.feed(html)
    cells = [item["children"] for item in parser.items]
    assert cells == [["h3", "ul"], ["h3", "p"], ["h3", "ul"]], f"each heading and its list in one grid item: {cells}"
    new, growing, faded = (item["text"] for item in parser.items)
    assert new.startswith("New topics") and "Alpha story" in new and "Beta story" in new
    assert growing == "Growing topicsNone."
    assert faded.startswith("Faded since the previous run") and "Delta story" in faded and "7 last run" in faded


def test_report_escapes_every_text(example_run):
    tables = read_run(example_run.folder)
    topics = tables.topics.copy()
    topics.loc[0, "label"] = "<script>alert(1)</script>"
    topics.loc[0, "representative_1"] = '=HYPERLINK("http://evil.example","click")'
    topics.loc[0, "keywords"] = "a&b; <i>"
    html = render_report(RunTables(topics, tables.headlines, tables.manifest))
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "=HYPERLINK(&quot;http://evil.example&quot;,&quot;click&quot;)" in html
    assert "a&amp;b; &lt;i&gt;" in html


def test_cli_start_up_and_config_errors_import_no_heavy_library():
    """`cluster --help` and a config error must answer in about a second: none of the libraries
    that take seconds to import may load on those paths."""
    import subprocess
    import sys

    heavy = (
        "torch",
        "sentence_transformers",
        "umap",
        "numba",
        "sklearn",
        "scipy",
        "matplotlib",
        "plotly",
        "xlsxwriter",
    )
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cluster.cli import app\n"
        "runner = CliRunner()\n"
        "assert runner.invoke(app, ['--help']).exit_code == 0\n"
        "assert runner.invoke(app, ['run', '--help']).exit_code == 0\n"
        "assert runner.invoke(app, ['run', '--set', 'clustering.min_cluster_size=1']).exit_code == 2\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
