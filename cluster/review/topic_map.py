"""The topic map: every headline a point on the 2-D UMAP layout, coloured by topic, labels at
topic centres, unclustered headlines faint.

- topic_map.png: matplotlib (Agg canvas, no GUI, no global pyplot state): a static picture for
  mail and slides, fast at 35k points.
- topic_map.html: plotly.js, inlined (no CDN), drawn with WebGL (`scattergl`) so that 35k points
  pan, zoom and hover smoothly; a search box and a topic picker highlight matching headlines.
  The page's own script builds the plot from compact arrays, which keeps the file small.

A large run's maps draw a per-topic sample of the points (`cluster.review.sample`, at most
50,000) and say so under the title; topic sizes and label positions still come from every row.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.review.pages import fill, read_template
from cluster.tables import RunTables, clustered_topics

if TYPE_CHECKING:
    from cluster.review.sample import Sample

# Distinct colours, cycled by topic id; grey is kept for unclustered headlines.
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#d6616b",
    "#6baed6",
    "#fd8d3c",
    "#74c476",
    "#9e9ac8",
    "#ce6dbd",
]
UNCLUSTERED_COLOUR = "#9a9a9a"
NOTE_COLOUR = "#7a4b00"  # a large run's "showing … of … headlines"


@dataclass(frozen=True)
class MapTopic:
    topic_id: int
    label: str
    size: int
    colour: str
    x: float  # label position: the median of the topic's points
    y: float
    labelled: bool  # among the largest `n_labels` topics


@dataclass(frozen=True)
class MapData:
    """What both maps draw. Points are the headline rows (a large run's: its map sample), in
    input order."""

    x: np.ndarray
    y: np.ndarray
    topic_index: np.ndarray  # index into `topics`; -1 for unclustered
    text: list[str]
    topics: list[MapTopic]
    title: str
    subtitle: str
    n_labels: int
    note: str = ""  # a large run's: how many of the headlines the points are


def _medians(groups: np.ndarray, values: np.ndarray) -> dict[int, float]:
    """The median of `values` in each group, as `np.median` gives it, in one sort (a loop over
    topics with a mask each costs topics × rows)."""
    order = np.lexsort((values, groups))
    keys, ordered = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[starts, len(keys)])
    middle = (ordered[starts + (counts - 1) // 2] + ordered[starts + counts // 2]) / 2
    return dict(zip(keys[starts].tolist(), middle.tolist()))


def build_map_data(tables: RunTables, n_labels: int = 40, sample: "Sample | None" = None) -> MapData:
    """Points, colours and label positions from the headline and topic tables; a large run
    draws the points of `sample` only."""
    headlines = tables.headlines
    x = headlines["map_x"].to_numpy(dtype=float)
    y = headlines["map_y"].to_numpy(dtype=float)
    point_topic = headlines["topic_id"].astype(int).to_numpy()
    median_x, median_y = _medians(point_topic, x), _medians(point_topic, y)
    topics: list[MapTopic] = []
    index_of: dict[int, int] = {}
    clustered = clustered_topics(tables.topics)
    rows = zip(clustered["topic_id"].astype(int).tolist(), clustered["label"].tolist(), clustered["size"].tolist())
    for rank, (topic_id, label, size) in enumerate(rows):
        centre_x = float(median_x.get(topic_id, 0.0))
        centre_y = float(median_y.get(topic_id, 0.0))
        index_of[topic_id] = len(topics)
        topics.append(
            MapTopic(
                topic_id=topic_id,
                label=str(label),
                size=int(size),
                colour=PALETTE[topic_id % len(PALETTE)],
                x=round(centre_x, 4),
                y=round(centre_y, 4),
                labelled=rank < n_labels,
            )
        )
    lookup = pd.Series(list(index_of.values()), index=list(index_of), dtype=np.int64)
    topic_index = lookup.reindex(point_topic, fill_value=UNCLUSTERED).to_numpy(dtype=np.int64)
    n_unclustered = int((topic_index == UNCLUSTERED).sum())
    manifest = tables.manifest
    window = manifest.get("window") or {}
    when = f"{window.get('since') or '…'} to {window.get('until') or '…'}" if window else ""
    subtitle = (
        f"{len(headlines):,} headlines, {len(topics):,} topics"
        f"{f', {n_unclustered:,} unclustered (grey)' if n_unclustered else ''}"
        f"{f' · {when}' if when else ''}"
    )
    text = headlines[tables.text_column]
    note = ""
    if sample is not None and sample.shown < sample.total:  # a large run: draw the sample's points only
        x, y, topic_index, text = x[sample.rows], y[sample.rows], topic_index[sample.rows], text.iloc[sample.rows]
        note = map_sample_note(sample.shown, sample.total)
    return MapData(
        x=x,
        y=y,
        topic_index=topic_index,
        text=[str(t) for t in text.tolist()],
        topics=topics,
        title=f"Topic map · run {tables.run_id}",
        subtitle=subtitle,
        n_labels=n_labels,
        note=note,
    )


def map_sample_note(shown: int, total: int) -> str:
    """What a large run's maps say about their points."""
    return f"showing {shown:,} of {total:,} headlines, sampled per topic"


def _marker_area(n_points: int) -> float:
    """Matplotlib marker area (pt²): large on a small week, small on a 35k week."""
    return float(np.clip(500 / np.sqrt(max(n_points, 1)), 1.0, 14.0))


def write_map_png(data: MapData, path: Path) -> None:
    """A static 1800×1350 px PNG; overlapping labels are dropped, larger topics win."""
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    figure = Figure(figsize=(12, 9), dpi=150)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.92))
    axes.set_axis_off()
    area = _marker_area(len(data.x))
    outside = data.topic_index == UNCLUSTERED
    axes.scatter(
        data.x[outside], data.y[outside], s=area, c=UNCLUSTERED_COLOUR, alpha=0.25, linewidths=0, rasterized=True
    )
    inside = ~outside
    colours = np.array([t.colour for t in data.topics] or ["#000000"])
    axes.scatter(
        data.x[inside],
        data.y[inside],
        s=area,
        c=colours[data.topic_index[inside]] if inside.any() else None,
        alpha=0.75,
        linewidths=0,
        rasterized=True,
    )
    figure.text(0.01, 0.975, data.title, fontsize=14, weight="bold", va="top")
    figure.text(0.01, 0.945, data.subtitle, fontsize=10, color="#444444", va="top")
    if data.note:
        figure.text(0.99, 0.975, data.note, fontsize=10, color=NOTE_COLOUR, weight="bold", ha="right", va="top")
    renderer = canvas.get_renderer()
    placed: list[Bbox] = []
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for topic in data.topics:
        if not topic.labelled:
            continue
        label = axes.text(
            topic.x,
            topic.y,
            _shorten(topic.label, 40),
            fontsize=8,
            ha="center",
            va="center",
            color="#111111",
            weight="bold",
            path_effects=halo,
        )
        box = label.get_window_extent(renderer).expanded(1.05, 1.15)
        if any(box.overlaps(other) for other in placed):
            label.remove()
        else:
            placed.append(box)
    # a large run's note is also the PNG's Description, for programs that read the file
    metadata = {"Description": data.note} if data.note else None  # None: matplotlib's default
    figure.savefig(path, format="png", facecolor="white", metadata=metadata)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, no `<!--`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in ("&", "<", ">", "\u2028", "\u2029"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def map_payload(data: MapData) -> dict[str, Any]:
    """The compact arrays the page's script draws from (coordinates rounded to 3 decimals)."""
    return {
        "title": data.title,
        "x": [round(float(v), 3) for v in data.x],
        "y": [round(float(v), 3) for v in data.y],
        "t": [int(v) for v in data.topic_index],
        "h": data.text,
        "topics": [
            {"id": t.topic_id, "label": t.label, "size": t.size, "colour": t.colour, "x": t.x, "y": t.y}
            for t in data.topics
        ],
        "nLabels": data.n_labels,
        "unclusteredColour": UNCLUSTERED_COLOUR,
    }


def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package, safe to inline."""
    from plotly.offline import get_plotlyjs

    bundle: str = get_plotlyjs()
    return bundle.replace("</script", "<\\/script")


def write_map_html(data: MapData, path: Path) -> None:
    """A single self-contained HTML file: plotly.js, the data and the page script inline.

    The page is templates/topic_map.html; its `{{scripts}}` slot gets three script elements:
    plotly.js, the data (JSON) and the page script (templates/topic_map.js), which builds two
    traces (topics, unclustered), labels that do not overlap at the current zoom, and the
    search/topic filter (matching points stay bright, the rest fade).
    """
    head, tail = read_template("topic_map.html").split("{{scripts}}")
    subtitle = f"{data.subtitle} · {data.note}" if data.note else data.subtitle
    values = {"title": html.escape(data.title), "subtitle": html.escape(subtitle), "n": f"{len(data.x):,}"}
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(fill(head, **values))
        out.write("<script>")
        out.write(plotly_js())
        out.write('</script>\n<script type="application/json" id="map-data">')
        out.write(_script_json(map_payload(data)))
        out.write("</script>\n<script>\n")
        out.write(read_template("topic_map.js"))
        out.write("</script>")
        out.write(fill(tail, **values))
