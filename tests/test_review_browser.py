"""The map and the report in a real headless Chromium, network cut off: drawn, labelled, no
console errors, nothing fetched. Without Chromium these tests fail in CI (where `CI` is set) and
skip, saying why, elsewhere."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cluster.review.topic_map import PALETTE

from browser import MAP_PROBE, MAP_READY, REPORT_PROBE, REPORT_READY, Chromium, find_chromium
from conftest import read_output

SEARCH_PROBE = """(async () => {
  const box = document.getElementById('search');
  box.value = %s;
  box.dispatchEvent(new Event('input'));
  await new Promise(resolve => setTimeout(resolve, 1200));
  const gd = document.getElementById('map');
  return {count: document.getElementById('count').textContent,
          selected: gd._fullData.map(t => (t.selectedpoints || []).length)};
})()"""


# The map's labels as drawn: each annotation's box (its background) and its text, lines joined
# by a space; the plot area; the side list; whose placement the page showed first.
LABEL_PROBE = """(() => {
  const labels = Array.from(document.querySelectorAll('#map g.annotation')).map(g => {
    const r = g.querySelector('rect.bg').getBoundingClientRect();
    const lines = Array.from(g.querySelectorAll('text.annotation-text tspan.line'));
    const text = lines.length ? lines.map(l => l.textContent).join(' ')
                              : g.querySelector('text.annotation-text').textContent;
    return {text: text, box: [r.left, r.top, r.right, r.bottom]};
  });
  const plot = document.querySelector('#map .nsewdrag').getBoundingClientRect();
  return {labels: labels, plot: [plot.left, plot.top, plot.right, plot.bottom], from: document.body.dataset.labels,
          list: Array.from(document.querySelectorAll('#topics li')).map(li => ({
            id: li.querySelector('.id').textContent, label: li.querySelector('.label').textContent,
            hidden: li.hidden, active: li.classList.contains('active')}))};
})()"""
ZOOM_PROBE = """(async () => {
  const gd = document.getElementById('map');
  const [x0, x1] = gd._fullLayout.xaxis.range, [y0, y1] = gd._fullLayout.yaxis.range;
  await Plotly.relayout(gd, {'xaxis.range': [x0, x0 + (x1 - x0) / 2], 'yaxis.range': [y0 + (y1 - y0) / 2, y1]});
  await new Promise(resolve => setTimeout(resolve, 500));
  return %s;
})()""".replace("%s", LABEL_PROBE)
CLICK_PROBE = """(async () => {
  document.querySelector('#topics li[data-k="3"] button').click();
  await new Promise(resolve => setTimeout(resolve, 800));
  const gd = document.getElementById('map');
  return {count: document.getElementById('count').textContent, picked: document.getElementById('topic').value,
          selected: gd._fullData.map(t => (t.selectedpoints || []).length), labels: %s};
})()""".replace("%s", LABEL_PROBE)


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    """Pairs of drawn labels whose boxes share more than half a pixel each way."""

    def share(a: list[float], b: list[float]) -> bool:
        return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5

    return [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1 :] if share(a["box"], b["box"])]


def check_labels(probe: dict, topics) -> None:
    """Every drawn label is a topic's whole label or its topic_id, inside the plot, on no other."""
    clustered = topics[topics.topic_id != "-1"]
    allowed = set(clustered.label) | set(clustered.topic_id)
    assert probe["labels"] and {label["text"] for label in probe["labels"]} <= allowed
    assert overlapping(probe["labels"]) == []
    left, top, right, bottom = probe["plot"]
    for label in probe["labels"]:
        x0, y0, x1, y1 = label["box"]
        assert left - 1 <= x0 and x1 <= right + 1 and top - 1 <= y0 and y1 <= bottom + 1, label


def in_ci() -> bool:
    """CI services set CI (to `true`, `1`, …); `false`, `0` or empty mean a local run."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@pytest.fixture(scope="module")
def chromium_binary() -> str:
    """The Chromium to drive. Missing: a failure in CI, where these checks must run; a skip, with
    the reason, on a developer's machine."""
    binary = find_chromium()
    if binary is None:
        explicit = os.environ.get("CHROMIUM")
        where = f"CHROMIUM={explicit} does not exist" if explicit else "Chromium is not installed"
        how = "Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome"
        if in_ci():
            ci = os.environ["CI"]
            pytest.fail(f"{where} ({how}); in CI (CI={ci}) the browser tests must run, not skip", pytrace=False)
        pytest.skip(f"{where} ({how})")
    return binary


@pytest.fixture(scope="module")
def browser(chromium_binary: str) -> Iterator[Chromium]:
    with Chromium(chromium_binary) as chromium:
        yield chromium


def colour_pixels(png_path: Path, hex_colour: str, tolerance: int = 40) -> int:
    from PIL import Image

    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    with Image.open(png_path) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(pixels - target).max(axis=2) <= tolerance).sum())


def test_topic_map_draws_every_point_with_labels(browser, example_run, tmp_path):
    shot = tmp_path / "map.png"
    check = browser.check(example_run.folder / "topic_map.html", MAP_READY, MAP_PROBE, shot, timeout=60)
    assert check.problems == []
    assert check.seconds_to_ready is not None and check.seconds_to_ready < 10
    headlines = read_output(example_run.folder / "headlines.csv")
    probe = check.probe
    assert probe["rendered"] == len(headlines) == probe["points"]
    assert probe["traceTypes"] == ["scattergl", "scattergl"] and probe["canvases"] >= 1
    assert len(probe["labels"]) >= 5
    # the screenshot shows points in the largest topics' colours, not a blank page
    assert shot.stat().st_size > 20_000
    assert colour_pixels(shot, PALETTE[0]) > 30 and colour_pixels(shot, PALETTE[1]) > 30


def test_topic_map_labels_never_overlap_and_the_list_holds_every_topic(browser, example_run):
    """As the browser draws them: whole labels (two-line ones too) or topic_ids, none on another,
    none outside the plot, the largest topic labelled; the side list has every topic."""
    check = browser.check(example_run.folder / "topic_map.html", MAP_READY, LABEL_PROBE, timeout=60)
    assert check.problems == []
    topics = read_output(example_run.folder / "topics.csv")
    check_labels(check.probe, topics)
    assert check.probe["from"] in {"python", "page"}
    assert topics.label[0] in {label["text"] for label in check.probe["labels"]}, "the largest topic is labelled"
    clustered = topics[topics.topic_id != "-1"]
    listed = [(item["id"], item["label"]) for item in check.probe["list"]]
    assert listed == list(zip(clustered.topic_id, clustered.label))


def test_topic_map_labels_are_placed_again_after_a_zoom(browser, example_run):
    check = browser.check(example_run.folder / "topic_map.html", MAP_READY, ZOOM_PROBE, timeout=60)
    assert check.problems == []
    assert check.probe["from"] == "page"
    check_labels(check.probe, read_output(example_run.folder / "topics.csv"))


def test_clicking_a_topic_in_the_list_highlights_it(browser, example_run):
    check = browser.check(example_run.folder / "topic_map.html", MAP_READY, CLICK_PROBE, timeout=60)
    assert check.problems == []
    topics = read_output(example_run.folder / "topics.csv")
    probe = check.probe
    size = int(topics["size"][3])
    assert probe["picked"] == "3" and probe["count"].startswith(f"{size} of ")
    assert sum(probe["selected"]) == size
    assert [item["active"] for item in probe["labels"]["list"]].index(True) == 3
    assert [label["text"] for label in probe["labels"]["labels"]] == [topics.label[3]]


def test_topic_map_search_highlights_matching_headlines(browser, example_run):
    headlines = read_output(example_run.folder / "headlines.csv")
    word = "fukushima"
    expected = headlines.headline.str.lower().str.contains(word) | headlines.topic_label.str.lower().str.contains(word)
    assert expected.sum() > 0
    check = browser.check(example_run.folder / "topic_map.html", MAP_READY, SEARCH_PROBE % f"'{word}'", timeout=60)
    assert check.problems == []
    assert check.probe["count"] == f"{expected.sum()} of {len(headlines)} headlines match"
    assert sum(check.probe["selected"]) == expected.sum()


def test_report_renders_topics_and_links_to_the_map(browser, example_run, tmp_path):
    shot = tmp_path / "report.png"
    check = browser.check(example_run.folder / "report.html", REPORT_READY, REPORT_PROBE, shot, timeout=30)
    assert check.problems == []
    topics = read_output(example_run.folder / "topics.csv")
    clustered = topics[topics.topic_id != "-1"]
    # each heading is the label followed by its tracking badge (a first run: every topic is new)
    expected = [f"{label} {status}" for label, status in zip(clustered.label.head(20), clustered.status.head(20))]
    assert check.probe["topics"] == expected
    assert "topic_map.html" in check.probe["links"]
    assert check.probe["facts"]["Headlines"] == f"{len(read_output(example_run.folder / 'headlines.csv')):,}"
    from PIL import Image

    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"))
    assert (pixels < 128).mean() > 0.01, "text on the page, not a blank screenshot"


def test_crafted_headlines_render_as_text_in_the_map(browser, crafted_run):
    """`=HYPERLINK(…)` and friends are plain hover text; nothing executes, nothing is fetched."""
    check = browser.check(crafted_run.folder / "topic_map.html", MAP_READY, SEARCH_PROBE % "'=HYPERLINK'", timeout=60)
    assert check.problems == []
    assert check.probe["count"].startswith("1 of ")


TIMELINE_READY = "(() => { const gd = document.getElementById('chart'); return !!(gd && gd._fullData); })()"
TIMELINE_PROBE = """(() => {
  const gd = document.getElementById('chart');
  return {names: gd._fullData.map(t => t.name), visible: gd._fullData.map(t => t.visible),
          rows: document.querySelectorAll('tbody tr').length};
})()"""


def test_the_timeline_page_draws_its_topics_offline(browser, example_run, tmp_path):
    """timeline.html beside the run folder: drawn from its inline plotly.js with the network cut
    off, the PNG's topics shown and the rest in the legend."""
    check = browser.check(
        example_run.output_dir / "timeline.html", TIMELINE_READY, TIMELINE_PROBE, tmp_path / "timeline.png", timeout=30
    )
    assert check.problems == []
    topics = read_output(example_run.folder / "topics.csv")
    clustered = topics[topics.topic_id != "-1"]
    shown = min(len(clustered), 40)
    assert check.probe["rows"] == shown and len(check.probe["names"]) == shown
    assert check.probe["visible"] == [True] * min(shown, 12) + ["legendonly"] * (shown - min(shown, 12))
    # the legend's names are HTML-escaped (plotly reads them as HTML)
    assert check.probe["names"][0] == html.escape(f"{clustered.topic_key.iloc[0]} · {clustered.label.iloc[0]}")
