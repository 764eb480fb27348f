"""Review files: what a person opens after a run.

A workbook, the topic map (a PNG and an offline HTML page) and a one-page report. Each is built
by a function from the run's tables; `review_writers` turns the enabled ones into writers, which
`cluster.runs` names and publishes with the run folder. The plotting and spreadsheet libraries
are imported inside the writers, so importing this package (and starting the CLI) stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from cluster.config import ReviewConfig
from cluster.tables import RunTables

if TYPE_CHECKING:
    from cluster.review.sample import ReviewSamples
    from cluster.review.topic_map import MapData


def review_writers(
    tables: RunTables, settings: ReviewConfig, map_link: str, samples: "ReviewSamples | None" = None
) -> dict[str, Callable[[Path], None]]:
    """One writer per enabled review file, by kind ("workbook", "map_png", "map_html",
    "report"), each a callable taking the destination path. `map_link` is the HTML map's file
    name, which the report links to; a large run's files show `samples`."""
    from cluster.review.map_png import write_map_png
    from cluster.review.report import write_report
    from cluster.review.topic_map import build_map_data, write_map_html
    from cluster.review.workbook import write_workbook

    map_sample = samples.map if samples is not None else None
    writers: dict[str, Callable[[Path], None]] = {}
    if settings.workbook:
        sheet_sample = samples.workbook if samples is not None else None
        writers["workbook"] = lambda path: write_workbook(tables, path, sheet_sample)
    if settings.map:
        # the map data is shared by the PNG and the HTML; build it once, on first use
        cache: dict[str, MapData] = {}

        def data() -> MapData:
            if "map" not in cache:
                cache["map"] = build_map_data(tables, settings.map_labels, map_sample)
            return cache["map"]

        writers["map_png"] = lambda path: write_map_png(data(), path)
        writers["map_html"] = lambda path: write_map_html(data(), path)
    if settings.report:
        link = map_link if settings.map else None
        writers["report"] = lambda path: write_report(tables, path, settings.report_topics, link, map_sample)
    return writers


__all__ = ["review_writers"]
