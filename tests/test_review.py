"""Review files (topics.xlsx, topic_map.png/.html, report.html) from the shared real runs, read
back the way a reviewer's tools read them."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import replace
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from cluster.config import OutputConfig, ReviewConfig
from cluster.record import RunRecord
from cluster.review.glyphs import GlyphWidths
from cluster.review.map_png import render_map_png
from cluster.review.placement import Box, LabelRequest, map_lines, place_labels, wrap_to_width
from cluster.review.report import render_report
from cluster.review.topic_map import HTML_VIEW, MapData, MapTopic, build_map_data, html_placements, map_limits
from cluster.review.workbook import input_dates, write_workbook
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


def test_workbook_headline_dates_are_dates(example_run):
    """The input's date column ("2014-03-24T00:03:45Z") is real Excel date-times, in UTC, like
    the Topics sheet's first_date and last_date; the CSV keeps the text as written."""
    book = load_workbook(example_run.folder / "topics.xlsx")
    rows = sheet_rows(book["Headlines"])
    header = list(rows[0])
    column = header.index("date")
    csv = read_output(example_run.folder / "headlines.csv").set_index("headline")
    for row in rows[1:20]:
        written = pd.Timestamp(csv.loc[row[header.index("headline")], "date"]).tz_convert("UTC").tz_localize(None)
        assert isinstance(row[column], dt.datetime) and row[column] == written.to_pydatetime()
    cell = book["Headlines"].cell(row=2, column=column + 1)
    assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm:ss"


def test_workbook_headline_dates_stay_text_unless_every_one_reads(example_run, tmp_path):
    tables = read_run(example_run.folder)
    days = tables.headlines.assign(date=tables.headlines["date"].str[:10])  # days alone: shown as days
    write_workbook(replace(tables, headlines=days), tmp_path / "days.xlsx")
    sheet = load_workbook(tmp_path / "days.xlsx")["Headlines"]
    cell = sheet.cell(row=2, column=[c.value for c in sheet[1]].index("date") + 1)
    assert cell.is_date and cell.number_format == "yyyy-mm-dd"
    unreadable = days.copy()
    unreadable.loc[unreadable.index[5], "date"] = "last Tuesday"  # one value that is no date: all stay text
    write_workbook(replace(tables, headlines=unreadable), tmp_path / "text.xlsx")
    rows = sheet_rows(load_workbook(tmp_path / "text.xlsx")["Headlines"])
    values = [row[rows[0].index("date")] for row in rows[1:]]
    assert all(isinstance(v, str) for v in values) and "last Tuesday" in values


@pytest.mark.parametrize(
    ("values", "expected", "spec"),
    [
        (["2014-03-24 12:34:56", "", None], [dt.datetime(2014, 3, 24, 12, 34, 56), None, None], "yyyy-mm-dd hh:mm:ss"),
        (
            ["2014-03-24T10:00:00+02:00", "2014-03-25T00:00:00Z"],
            [dt.datetime(2014, 3, 24, 8), dt.datetime(2014, 3, 25)],
            "yyyy-mm-dd hh:mm:ss",
        ),
        (["2014-03-24", "2014-03-25"], [dt.datetime(2014, 3, 24), dt.datetime(2014, 3, 25)], "yyyy-mm-dd"),
        (["2014-03-24", "soon"], None, None),
        (["1850-01-01"], None, None),  # before Excel's first date
        (["", None], None, None),
    ],
)
def test_input_dates_parse_every_value_or_none(values, expected, spec):
    result = input_dates(pd.Series(values, dtype=object))
    if expected is None:
        assert result is None
        return
    parsed, shown = result
    assert [None if pd.isna(v) else v.to_pydatetime() for v in parsed] == expected and shown == spec


def test_workbook_run_sheet_has_counts_and_settings(example_run):
    rows = dict(sheet_rows(load_workbook(example_run.folder / "topics.xlsx")["Run"])[1:])
    manifest = json.loads((example_run.folder / "run.json").read_text())
    assert rows["run_id"] == "first"
    assert rows["rows.accepted"] == manifest["counts"]["accepted"] and isinstance(rows["rows.accepted"], int)
    assert rows["topics"] == manifest["topics"]
    assert rows["clustering.min_cluster_size"] == "auto"
    assert rows["reduction.random_state"] == 42
    assert rows["resolved.min_cluster_size"] == manifest["resolved"]["min_cluster_size"]
    assert "resolved.device" not in rows, "null on a warm rerun: the sheet would differ from the cold run's"


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


# --- map labels and topic lists ----------------------------------------------------------------

# Headline-style topic labels of 60-90 characters, as labels will soon be.
LONG_LABELS = [
    "Muppets Most Wanted opens to mixed reviews as Ricky Gervais leads the sequel",
    "India declared polio-free after three years without a single new case",
    "Architect wins the Pritzker Prize for disaster-relief shelters made of paper tubes",
    "Ebola outbreak in Guinea spreads to the capital, health officials warn",
    "Wu-Tang Clan will sell only one copy of its secret new album",
    "Fukushima plant worker dies in accident as clean-up continues",
    "Apple expected to unveil a larger iPhone in September, suppliers say",
]


def with_long_labels(tables: RunTables) -> RunTables:
    """The run's tables with every topic labelled by a long phrase (unique: a number on the end)."""
    topics = tables.topics.copy()
    clustered = topics["topic_id"].astype(int) >= 0
    topics.loc[clustered, "label"] = [f"{LONG_LABELS[i % len(LONG_LABELS)]} {i}" for i in range(int(clustered.sum()))]
    return replace(tables, topics=topics)


def overlapping_pairs(boxes: dict[int, Box], slack: float = 0.5) -> list[tuple[int, int]]:
    """Pairs of boxes that share more than `slack` pixels each way (anti-aliasing aside)."""

    def share(a: Box, b: Box) -> bool:
        return a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack

    return [(a, b) for a in boxes for b in boxes if a < b and share(boxes[a], boxes[b])]


def png_label_boxes(data: MapData) -> tuple[dict[int, Box], dict[int, str], object]:
    """Draw the PNG's figure and measure, through matplotlib's renderer, each map label's white
    box (display pixels) and its text, by topic_id."""
    rendered = render_map_png(data)
    rendered.canvas.draw()
    renderer = rendered.canvas.get_renderer()
    boxes, texts = {}, {}
    for topic_id, artist in rendered.labels.items():
        extent = artist.get_bbox_patch().get_window_extent(renderer)
        boxes[topic_id] = Box(extent.x0, extent.y0, extent.x1, extent.y1)
        texts[topic_id] = artist.get_text()
    frame = rendered.figure.axes[0].get_window_extent(renderer)
    inside = Box(frame.x0 - 1, frame.y0 - 1, frame.x1 + 1, frame.y1 + 1)
    for topic_id, box in boxes.items():
        assert box.within(inside), f"topic {topic_id} leaves the map"
    return boxes, texts, rendered


@pytest.mark.parametrize("labels", ["keywords", "phrases"])
def test_png_map_labels_never_overlap_nor_are_cut_and_every_topic_is_listed(example_run, labels):
    """The issue's picture: labels on top of each other, "Colore…" cut. Measured after drawing,
    no two label boxes share area, each shows its topic's whole label (on one or two lines) or
    its topic_id, and the side list holds every topic."""
    tables = read_run(example_run.folder)
    data = build_map_data(tables if labels == "keywords" else with_long_labels(tables), 40)
    boxes, texts, rendered = png_label_boxes(data)
    assert overlapping_pairs(boxes) == []
    by_id = {t.topic_id: t for t in data.topics}
    for topic_id, text in texts.items():
        assert text.replace("\n", " ") in (by_id[topic_id].label, str(topic_id)), text
        assert text.count("\n") <= 1
    assert set(texts) == set(by_id), "a small week: every topic is on the map"
    full = sum(text.replace("\n", " ") == by_id[k].label for k, text in texts.items())
    assert full >= len(by_id) - (0 if labels == "keywords" else 4), "most show their whole label"
    assert rendered.listed == [t.topic_id for t in data.topics] and rendered.more == 0
    assert texts_cut_off(rendered) == []


def texts_cut_off(rendered) -> list[str]:
    """The figure's texts (title, list lines, the "+ K more" line) that reach past the picture's
    edge, and the list's lines that reach past their column into the next."""
    renderer = rendered.canvas.get_renderer()
    width, height = rendered.figure.bbox.width, rendered.figure.bbox.height
    cut = []
    for text in rendered.figure.texts:
        box = text.get_window_extent(renderer)
        if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
            cut.append(text.get_text())
        elif box.x0 >= rendered.columns[0][0] + 1 and not text.get_text().startswith(("+ ", "Topics, ")):
            if not any(left - 0.5 <= box.x0 and box.x1 <= right + 0.5 for left, right in rendered.columns):
                cut.append(text.get_text())
    return cut


def synthetic_week(n_topics: int, points_per_topic: int = 12) -> MapData:
    """A crowded map: `n_topics` topics of long labels, largest first, centres packed together."""
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 4, (n_topics, 2))
    x = np.repeat(centres[:, 0], points_per_topic) + rng.normal(0, 0.3, n_topics * points_per_topic)
    y = np.repeat(centres[:, 1], points_per_topic) + rng.normal(0, 0.3, n_topics * points_per_topic)
    topics = []
    for k in range(n_topics):
        label = f"{LONG_LABELS[k % len(LONG_LABELS)]} {k}"
        rows = slice(k * points_per_topic, (k + 1) * points_per_topic)
        centre = float(np.median(x[rows])), float(np.median(y[rows]))
        topics.append(MapTopic(k, label, 1000 - k, "#1f77b4", *centre, labelled=k < 40, lines=map_lines(label)))
    index = np.repeat(np.arange(n_topics), points_per_topic)
    return MapData(x, y, index, [""] * len(x), topics, "Synthetic", "", 40, limits=map_limits(x, y))


def test_png_of_a_crowded_week_lists_the_largest_topics_and_says_where_the_rest_are():
    data = synthetic_week(500)
    boxes, texts, rendered = png_label_boxes(data)
    assert overlapping_pairs(boxes) == []
    assert all(text.replace("\n", " ") in (data.topics[k].label, str(k)) for k, text in texts.items())
    assert 40 <= len(rendered.listed) < 500 and rendered.more == 500 - len(rendered.listed)
    assert rendered.listed == list(range(len(rendered.listed))), "the largest topics, in order"
    notes = [t.get_text() for t in rendered.figure.texts if t.get_text().startswith("+ ")]
    assert notes == [f"+ {rendered.more:,} more: every topic is in topics.xlsx and topic_map.html"]
    assert texts_cut_off(rendered) == []


def test_glyph_widths_err_on_the_wide_side():
    """The side list wraps with GlyphWidths (summed advances, no layout); a line it says fits
    must fit when the renderer draws it."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer, measure = RendererAgg(100, 100, 150), GlyphWidths()
    for text in ["Muppets Most Wanted / Review / Movie (42)", "WWWW iiii llll", LONG_LABELS[2], "0123456789 (1,234)"]:
        for points in (6.0, 7.0, 8.0, 9.0):
            real = renderer.get_text_width_height_descent(text, FontProperties(size=points), ismath=False)[0]
            assert real <= measure(text, points) <= real * 1.15 + 3, (text, points)


def test_html_map_labels_never_overlap_and_the_list_holds_every_topic(example_run):
    """The page's first labels (placed in Python, checked again by the page in the browser) and
    its side list, for the run as it is and with long labels."""
    tables = read_run(example_run.folder)
    payload = map_payload(example_run.folder / "topic_map.html")
    for variant in (tables, with_long_labels(tables)):
        data = build_map_data(variant, 40)
        placements = html_placements(data)
        assert overlapping_pairs({k: p.box for k, p in placements.items()}, slack=0) == []
        assert all(p.box.within(Box(0, 0, *HTML_VIEW)) for p in placements.values())
        assert set(placements) == set(range(len(data.topics))), "a small week: every topic labelled"
        assert all(" ".join(t.lines) == t.label and len(t.lines) <= 2 for t in data.topics)
    for k, topic in enumerate(payload["topics"]):
        assert " ".join(topic["lines"]) == topic["label"] and "place" in topic, k
    text = (example_run.folder / "topic_map.html").read_text(encoding="utf-8")
    items = re.findall(
        r'<li data-k="(\d+)"><button type="button"><span class="sw" style="background:#[0-9a-f]{6}"></span>'
        r'<span class="id">(\d+)</span> <span class="label">(.*?)</span> <span class="size">([\d,]+)</span>',
        text,
    )
    topics = read_output(example_run.folder / "topics.csv")
    clustered = topics[topics.topic_id != "-1"]
    assert [(k, i, html.unescape(label), size) for k, i, label, size in items] == [
        (str(k), t.topic_id, t.label, f"{int(t['size']):,}") for k, (_, t) in enumerate(clustered.iterrows())
    ]


def test_place_labels_moves_a_label_off_a_neighbour():
    """Two topics 10 px apart: the larger's label cannot sit on the smaller's centre, so it goes
    above its own; the smaller's goes below, clear of it. No leader lines needed."""
    bounds = Box(0, 0, 400, 300)
    requests = [LabelRequest(0, 100, 100, (80, 20), (20, 16)), LabelRequest(1, 110, 100, (80, 20), (20, 16))]
    first, second = place_labels(requests, bounds)
    assert (first.form, first.box, first.leader) == ("text", Box(60, 78, 140, 98), False)
    assert (second.form, second.box, second.leader) == ("text", Box(70, 102, 150, 122), False)


def test_place_labels_on_a_crowded_map_is_deterministic_and_keeps_boxes_apart():
    rng = np.random.default_rng(3)
    xs, ys, widths = rng.uniform(50, 550, 80), rng.uniform(50, 450, 80), rng.uniform(40, 260, 80)
    requests = [LabelRequest(k, x, y, (w, 32.0), (22.0, 18.0)) for k, (x, y, w) in enumerate(zip(xs, ys, widths))]
    bounds = Box(0, 0, 600, 500)
    placed = place_labels(requests, bounds)
    assert placed == place_labels(requests, bounds), "the same input, the same places"
    assert len(placed) >= 40 and [p.key for p in placed] == sorted(p.key for p in placed)
    assert overlapping_pairs({p.key: p.box for p in placed}, slack=0) == []
    for p in placed:
        assert p.box.within(bounds)
        assert not any(p.box.contains(r.x, r.y) for r in requests if r.key != p.key), "no other centre covered"
        assert not p.leader or p.form == "text"


@pytest.mark.parametrize(
    "label",
    [
        "Pritzker / Ban / Prize",
        "colon cancer / Awareness Month / Colorectal",
        LONG_LABELS[2],
        "Supercalifragilisticexpialidocious-and-then-some-more-words-without-spaces",
        "A " + "b" * 80,
    ],
)
def test_map_lines_wrap_a_long_label_but_never_cut_it(label):
    lines = map_lines(label)
    assert 1 <= len(lines) <= 2 and " ".join(lines) == label
    if len(label) > 28 and " " in label:
        assert len(lines) == 2
    if label.startswith("colon cancer"):  # the cut label: split after a separator
        assert lines == ("colon cancer /", "Awareness Month / Colorectal")


def test_wrap_to_width_keeps_every_word_and_character():
    def measure(text: str) -> float:
        return 7.0 * len(text)

    text = LONG_LABELS[0] + " (42) Pneumonoultramicroscopicsilicovolcanoconiosis"
    lines = wrap_to_width(text, 140, measure)
    assert all(measure(line) <= 140 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


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
        assert escape(label, quote=True) in section
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
    assert "Unclustered · <b>2</b> headlines (14.3%)" in html, "what joined no topic is said plainly"


def test_report_says_how_many_headlines_joined_no_topic_and_shows_some(example_run):
    tables = read_run(example_run.folder)
    unclustered = tables.headlines[tables.headlines["topic_id"] == -1]
    html = render_report(tables)
    if unclustered.empty:
        assert "Unclustered ·" not in html
        return
    share = len(unclustered) / len(tables.headlines)
    assert f"Unclustered · <b>{len(unclustered):,}</b> headlines ({share:.1%})" in html
    assert escape(str(unclustered["headline"].iloc[0])) in html


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
