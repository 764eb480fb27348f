"""Review files: what a person opens after a run.

`topics.xlsx` (a workbook), `topic_map.png` and `topic_map.html` (the map), `report.html` (the
week on one page). Each is built by a function from the run's tables; `review_writers` turns the
enabled ones into writers for the atomic run-folder publisher. The plotting and spreadsheet
libraries are imported inside the writers, so importing this package (and starting the CLI) stays
fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from cluster.config import ReviewConfig
from cluster.review.tables import ReviewTables, read_run

if TYPE_CHECKING:
    from cluster.review.topic_map import MapData

MAP_HTML = "topic_map.html"
MAP_PNG = "topic_map.png"
WORKBOOK = "topics.xlsx"
REPORT = "report.html"


def review_files(settings: ReviewConfig) -> list[str]:
    """The names of the review files the settings turn on, in the order they are written."""
    names = []
    if settings.workbook:
        names.append(WORKBOOK)
    if settings.map:
        names += [MAP_PNG, MAP_HTML]
    if settings.report:
        names.append(REPORT)
    return names


def review_writers(tables: ReviewTables, settings: ReviewConfig) -> dict[str, Callable[[Path], None]]:
    """One writer per enabled review file, each a callable taking the destination path."""
    from cluster.review.report import write_report
    from cluster.review.topic_map import build_map_data, write_map_html, write_map_png
    from cluster.review.workbook import write_workbook

    writers: dict[str, Callable[[Path], None]] = {}
    if settings.workbook:
        writers[WORKBOOK] = lambda path: write_workbook(tables, path)
    if settings.map:
        # the map data is shared by the PNG and the HTML; build it once, on first use
        cache: dict[str, MapData] = {}

        def data() -> MapData:
            if "map" not in cache:
                cache["map"] = build_map_data(tables, n_labels=settings.map_labels)
            return cache["map"]

        writers[MAP_PNG] = lambda path: write_map_png(data(), path)
        writers[MAP_HTML] = lambda path: write_map_html(data(), path)
    if settings.report:
        map_link = MAP_HTML if settings.map else None
        writers[REPORT] = lambda path: write_report(tables, path, n_topics=settings.report_topics, map_link=map_link)
    return writers


__all__ = ["ReviewTables", "read_run", "review_files", "review_writers", "MAP_HTML", "MAP_PNG", "WORKBOOK", "REPORT"]
