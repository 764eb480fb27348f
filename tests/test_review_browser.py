"""The map and the report in a real headless Chromium, network cut off: drawn, labelled, no
console errors, nothing fetched. Without Chromium these tests fail in CI (where `CI` is set) and
skip, saying why, elsewhere."""

from __future__ import annotations

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
    topics = read_output(example_run.folder / "topics.csv")
    probe = check.probe
    assert probe["rendered"] == len(headlines) == probe["points"]
    assert probe["traceTypes"] == ["scattergl", "scattergl"] and probe["canvases"] >= 1
    labels = set(topics.label[topics.topic_id != "-1"])
    assert len(probe["labels"]) >= 5 and set(probe["labels"]) <= labels
    assert topics.label[0] in probe["labels"], "the largest topic is labelled"
    # the screenshot shows points in the largest topics' colours, not a blank page
    assert shot.stat().st_size > 20_000
    assert colour_pixels(shot, PALETTE[0]) > 30 and colour_pixels(shot, PALETTE[1]) > 30


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
