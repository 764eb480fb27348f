"""The topic map: every headline a point on the 2-D UMAP layout, coloured by topic, labels at
topic centres, every topic in a side list, unclustered headlines faint.

- topic_map.png: matplotlib (Agg canvas, no GUI, no global pyplot state): a static picture for
  mail and slides, fast at 35k points. The map takes the left two thirds; the right third lists
  the topics, largest first, in as large a type and as few columns as hold them all.
- topic_map.html: plotly.js, inlined (no CDN), drawn with WebGL (`scattergl`) so that 35k points
  pan, zoom and hover smoothly; a search box, a topic picker and a side list of every topic
  highlight matching headlines. The page's own script builds the plot from compact arrays,
  which keeps the file small.

Labels on both maps are placed by `cluster.review.placement` (never on top of one another, never
cut; a label that does not fit shows the topic's number, which the side list explains). A large
run's maps draw a per-topic sample of the points (`cluster.review.sample`, at most 50,000) and say
so under the title; topic sizes and label positions still come from every row.
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
from cluster.review.placement import Box, LabelRequest, Placement, PointDensity, map_lines, place_labels
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
    x: float  # the topic's centre: the median of its points
    y: float
    labelled: bool  # among the largest `n_labels` topics: may be labelled on the map
    lines: tuple[str, ...] = ()  # the label on the map: one or two lines, nothing cut


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
    limits: tuple[float, float, float, float] = (-1.0, 1.0, -1.0, 1.0)  # x0, x1, y0, y1 drawn


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
                lines=map_lines(str(label)),
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
        limits=map_limits(np.r_[x, [t.x for t in topics]], np.r_[y, [t.y for t in topics]]),
    )


def map_limits(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """The drawn area (x0, x1, y0, y1): the points and topic centres plus 4% on each side. Both
    maps use it, so the page's first view is the one its labels were placed for."""

    def span(values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return -1.0, 1.0
        low, high = float(np.min(values)), float(np.max(values))
        pad = (high - low) * 0.04 or 1.0
        return round(low - pad, 4), round(high + pad, 4)

    return (*span(x), *span(y))


def map_sample_note(shown: int, total: int) -> str:
    """What a large run's maps say about their points."""
    return f"showing {shown:,} of {total:,} headlines, sampled per topic"


# --- topic_map.html --------------------------------------------------------------------------

HTML_VIEW = (1000.0, 700.0)  # the plot area (pixels) the page's first labels are placed for
HTML_FONT = 12.0  # label text, pixels (plotly's default size)
HTML_LINE = 1.3  # plotly's line height, in font sizes
HTML_BOX = 6.0  # plotly's border (1 px) and padding (2 px) on both sides of a label


def html_placements(data: MapData) -> dict[int, Placement]:
    """The labels of the page's first view, by topic index: the PNG's rules in a plot area of
    HTML_VIEW pixels, boxes measured in the PNG's font (wider than the browser's usual fonts).
    The page checks them against the browser's own measures and its real plot size, and places
    the labels again by the same rules when one does not fit there, or after a zoom or search."""
    from cluster.review.glyphs import GlyphWidths

    width, height = HTML_VIEW
    bounds = Box(0.0, 0.0, width, height)
    x0, x1, y0, y1 = data.limits

    def pixels(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        across = (np.asarray(x, dtype=float) - x0) / (x1 - x0) * width
        down = (y1 - np.asarray(y, dtype=float)) / (y1 - y0) * height  # y grows downwards on screen
        return across, down

    measure, line = GlyphWidths(dpi=72), HTML_FONT * HTML_LINE
    requests = []
    for k, topic in enumerate(data.topics):
        if topic.labelled:
            px, py = pixels(topic.x, topic.y)
            text = (max(measure(s, HTML_FONT) for s in topic.lines) + HTML_BOX, len(topic.lines) * line + HTML_BOX)
            number = (measure(str(topic.topic_id), HTML_FONT) + HTML_BOX, line + HTML_BOX)
            requests.append(LabelRequest(k, float(px), float(py), text, number))
    density = PointDensity(*pixels(data.x, data.y), bounds)
    return {p.key: p for p in place_labels(requests, bounds, density, gap=2.0, reach=24.0)}


def _payload_topic(topic: MapTopic, placement: Placement | None) -> dict[str, Any]:
    """A topic for the page: `lines` is its map label, `place` where its label goes in the first
    view: [0 for the label or 1 for the number, the box centre's offset from the topic centre in
    pixels (x, y downwards), 1 when it needs a leader line]."""
    entry: dict[str, Any] = {
        "id": topic.topic_id, "label": topic.label, "size": topic.size, "colour": topic.colour,
        "x": topic.x, "y": topic.y, "lines": list(topic.lines),
    }  # fmt: skip
    if placement is not None:
        (cx, cy), (ax, ay) = placement.centre, placement.anchor
        entry["place"] = [int(placement.form == "number"), round(cx - ax, 1), round(cy - ay, 1), int(placement.leader)]
    return entry


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, no `<!--`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char in ("&", "<", ">", "\u2028", "\u2029"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def map_payload(data: MapData) -> dict[str, Any]:
    """The compact arrays the page's script draws from (coordinates rounded to 3 decimals), the
    axis ranges of its first view and where that view's labels go."""
    placements = html_placements(data)
    x0, x1, y0, y1 = data.limits
    return {
        "title": data.title,
        "x": [round(float(v), 3) for v in data.x],
        "y": [round(float(v), 3) for v in data.y],
        "t": [int(v) for v in data.topic_index],
        "h": data.text,
        "topics": [_payload_topic(t, placements.get(k)) for k, t in enumerate(data.topics)],
        "nLabels": data.n_labels,
        "unclusteredColour": UNCLUSTERED_COLOUR,
        "xRange": [x0, x1],
        "yRange": [y0, y1],
    }


def topic_list_html(data: MapData) -> str:
    """The page's side list, one item per topic, largest first: a button with the topic's colour,
    topic_id, whole label and size (every text escaped). It is part of the page itself, so it
    shows even where the script does not run."""
    items = [
        f'<li data-k="{k}"><button type="button"><span class="sw" style="background:{t.colour}"></span>'
        f'<span class="id">{t.topic_id}</span> <span class="label">{html.escape(t.label)}</span> '
        f'<span class="size">{t.size:,}</span></button></li>'
        for k, t in enumerate(data.topics)
    ]
    return "\n".join(items)


def plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package, safe to inline."""
    from plotly.offline import get_plotlyjs

    bundle: str = get_plotlyjs()
    return bundle.replace("</script", "<\\/script")


def write_map_html(data: MapData, path: Path) -> None:
    """A single self-contained HTML file: plotly.js, the data and the page script inline.

    The page is templates/topic_map.html: a header with the search box and topic picker, the
    map, and the list of every topic (`{{topics}}`). Its `{{scripts}}` slot gets three script
    elements: plotly.js, the data (JSON) and the page script (templates/topic_map.js), which
    builds two traces (topics, unclustered), labels that do not overlap at the current zoom
    (`cluster.review.placement`'s rules), and the search/topic filter (matching points stay
    bright, the rest fade; the list keeps the matching topics).
    """
    head, tail = read_template("topic_map.html").split("{{scripts}}")
    subtitle = f"{data.subtitle} · {data.note}" if data.note else data.subtitle
    values = {
        "title": html.escape(data.title),
        "subtitle": html.escape(subtitle),
        "n": f"{len(data.x):,}",
        "n_topics": f"{len(data.topics):,}",
        "topics": topic_list_html(data),
    }
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
