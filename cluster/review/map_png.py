"""topic_map.png: the map (left two thirds) with labels that never overlap and are never cut,
and beside it the list of topics, largest first.

matplotlib's Agg canvas draws it (no GUI, no global pyplot state): deterministic, and 35k points
take about a second and a half. Labels are placed by `cluster.review.placement` with their boxes
measured by the renderer. The list takes the largest type and the fewest columns that hold every
topic (9 points in one column for a small week, down to 6 points); the panel holds about 100
topics at 6 points, so a week with more lists its largest (as many as fit) and ends with a line
saying how many more there are and where every topic is (topics.xlsx, the HTML map's list):
smaller type would not be readable at 1800×1350 px."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cluster.clustering import UNCLUSTERED
from cluster.review.glyphs import PNG_DPI, GlyphWidths
from cluster.review.placement import Box, LabelRequest, PointDensity, fill_columns, place_labels, wrap_to_width
from cluster.review.topic_map import NOTE_COLOUR, UNCLUSTERED_COLOUR, MapData, MapTopic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

PNG_INCHES = (12.0, 9.0)  # at PNG_DPI: 1800×1350 px
MAP_AXES = (0.01, 0.01, 0.63, 0.915)  # left, bottom, width, height, in figure fractions
LIST_AREA = (0.655, 0.01, 0.99, 0.925)  # left, bottom, right, top, in figure fractions
LABEL_POINTS = 7.5  # map labels
LABEL_PAD = 0.25  # the white box around a map label, in font sizes
# the side list's type size (points) and columns, tried in order until every topic fits; 6 pt
# (12.5 px) is the smallest that reads at 100%
LIST_STYLES = ((9.0, 1), (8.0, 1), (8.0, 2), (7.0, 2), (6.5, 2), (6.0, 2), (6.0, 3))
LIST_LINE = 1.25  # line height, in font sizes
LIST_HEADING = "Topics, largest first: topic_id, label (headlines)"
COLUMN_GAP = 14.0  # pixels between the list's columns


@dataclass
class RenderedMap:
    """The PNG's figure before it is saved, for the writer and for tests that measure it:
    `labels` are the map's label artists by topic_id, `listed` the topic_ids in the side list,
    `more` how many topics it had no room for, `columns` the list's columns (left and right edge,
    in pixels)."""

    figure: Figure
    canvas: FigureCanvasAgg
    labels: dict[int, Text]
    listed: list[int]
    more: int
    columns: list[tuple[float, float]]


def _marker_area(n_points: int) -> float:
    """Matplotlib marker area (pt²): large on a small week, small on a 35k week."""
    return float(np.clip(500 / np.sqrt(max(n_points, 1)), 1.0, 14.0))


def _draw_points(axes: Axes, data: MapData) -> None:
    """Unclustered points faint grey underneath, topic points in their colours on top."""
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
    x0, x1, y0, y1 = data.limits
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)


def render_map_png(data: MapData) -> RenderedMap:
    """The PNG's figure: title, the map with its labels, the side list. Deterministic: fixed
    size, fonts and placement rules, no randomness."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=PNG_INCHES, dpi=PNG_DPI)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_axes(MAP_AXES)
    axes.set_axis_off()
    _draw_points(axes, data)
    figure.text(0.01, 0.975, data.title, fontsize=14, weight="bold", va="top")
    figure.text(0.01, 0.945, data.subtitle, fontsize=10, color="#444444", va="top")
    if data.note:
        figure.text(0.99, 0.975, data.note, fontsize=10, color=NOTE_COLOUR, weight="bold", ha="right", va="top")
    renderer = canvas.get_renderer()
    labels = _draw_map_labels(axes, data, renderer)
    layout, columns = _draw_topic_list(figure, data)
    listed = [data.topics[k].topic_id for k, *_ in layout.entries]
    return RenderedMap(figure, canvas, labels, listed, layout.more, columns)


def write_map_png(data: MapData, path: Path) -> None:
    """A static 1800×1350 px PNG: the map with labels that never overlap, every topic in the list
    beside it (or, in a week of very many topics, the largest and a line saying where the rest
    are)."""
    rendered = render_map_png(data)
    # a large run's note is also the PNG's Description, for programs that read the file
    metadata = {"Description": data.note} if data.note else None  # None: matplotlib's default
    rendered.figure.savefig(path, format="png", facecolor="white", metadata=metadata)


def _label_artist(axes: Axes, text: str, colour: str) -> Text:
    """A map label in display pixels: dark bold text on a white, slightly see-through box edged in
    the topic's colour. Measure it while visible (a hidden text measures as an empty box)."""
    from matplotlib.transforms import IdentityTransform

    box = {
        "boxstyle": f"square,pad={LABEL_PAD}",
        "facecolor": "white",
        "alpha": 0.8,
        "edgecolor": colour,
        "linewidth": 0.8,
    }
    return axes.text(
        0, 0, text, transform=IdentityTransform(), fontsize=LABEL_POINTS, weight="bold", color="#111111",
        ha="center", va="center", linespacing=1.15, bbox=box, zorder=4, clip_on=False,
    )  # fmt: skip


def _box_size(artist: Text, renderer: RendererBase) -> tuple[float, float]:
    """The label's size with its white box, measured by the renderer (plus a pixel of air)."""
    extent = artist.get_window_extent(renderer)
    pad = LABEL_PAD * LABEL_POINTS * PNG_DPI / 72
    return extent.width + 2 * pad + 1, extent.height + 2 * pad + 1


def _draw_map_labels(axes: Axes, data: MapData, renderer: RendererBase) -> dict[int, Text]:
    """Label the largest `n_labels` topics where `place_labels` finds room: the full label, or
    its number; a label moved away from its topic gets a thin leader line back to the centre."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import IdentityTransform

    _, height = renderer.get_canvas_width_height()
    frame = axes.get_window_extent(renderer)
    bounds = Box(frame.x0, height - frame.y1, frame.x1, height - frame.y0)  # y downwards from here
    points = axes.transData.transform(np.column_stack([data.x, data.y]).reshape(-1, 2))
    density = PointDensity(points[:, 0], height - points[:, 1], bounds)
    forms: dict[int, dict[str, Text]] = {}
    requests: list[LabelRequest] = []
    for topic in (t for t in data.topics if t.labelled):
        x, y = axes.transData.transform((topic.x, topic.y))
        text = _label_artist(axes, "\n".join(topic.lines), topic.colour)
        number = _label_artist(axes, str(topic.topic_id), topic.colour)
        forms[topic.topic_id] = {"text": text, "number": number}
        sizes = _box_size(text, renderer), _box_size(number, renderer)
        requests.append(LabelRequest(topic.topic_id, x, height - y, *sizes))
    centres = {r.key: (r.x, r.y) for r in requests}
    colours = {t.topic_id: t.colour for t in data.topics}
    shown: dict[int, Text] = {}
    for placement in place_labels(requests, bounds, density, gap=2.0, reach=24.0):
        artist = forms[placement.key][placement.form]
        x, y = placement.centre
        artist.set_position((x, height - y))
        shown[placement.key] = artist
        if placement.leader:
            (cx, cy), (ex, ey) = centres[placement.key], placement.box.nearest(*centres[placement.key])
            line = Line2D([cx, ex], [height - cy, height - ey], transform=IdentityTransform())
            line.set_color(colours[placement.key])
            line.set(linewidth=0.9, zorder=3, clip_on=False)
            axes.add_artist(line)
    for key, pair in forms.items():
        for artist in pair.values():
            if shown.get(key) is not artist:
                artist.remove()
    return shown


# --- the side list -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListLayout:
    """The side list in one type size: `entries` are (topic index, column, first row, lines) of
    the topics shown, `more` how many did not fit."""

    points: float
    columns: int
    column_width: float
    indent: float  # from a column's left edge to its labels: colour swatch and topic_id
    entries: list[tuple[int, int, int, list[str]]]
    more: int


def list_entry(topic: MapTopic) -> str:
    """A topic's text in the list: its whole label and its size."""
    return f"{topic.label} ({topic.size:,})"


def layout_list(topics: list[MapTopic], width: float, height: float) -> ListLayout:
    """The first of LIST_STYLES that holds every topic; when none does, the one that holds the
    most (the larger type on a tie), its last line kept for saying how many more there are."""
    regular, bold = GlyphWidths(), GlyphWidths("bold")
    cut: list[ListLayout] = []
    for points, columns in LIST_STYLES:
        whole = _layout_in(topics, width, height, points, columns, regular, bold, reserve=0)
        if whole.more == 0:
            return whole
        cut.append(_layout_in(topics, width, height, points, columns, regular, bold, reserve=1))
    return max(cut, key=lambda layout: len(layout.entries))  # max keeps the first of equals


def _layout_in(
    topics: list[MapTopic], width: float, height: float, points: float, columns: int,
    regular: GlyphWidths, bold: GlyphWidths, reserve: int,
) -> ListLayout:  # fmt: skip
    """The list in one type size and number of columns, `reserve` lines kept free at the bottom.
    Only the topics that could fit (one line each at best) are wrapped."""
    line = points * PNG_DPI / 72 * LIST_LINE
    rows = int(height // line) - reserve
    column_width = (width - (columns - 1) * COLUMN_GAP) / columns
    if reserve == 0 and len(topics) > rows * columns:  # cannot hold them all: skip the wrapping
        return ListLayout(points, columns, column_width, 0.0, [], len(topics))
    candidates = topics[: max(rows, 0) * columns]
    widest_id = max((bold(str(t.topic_id), points) for t in candidates), default=0.0)
    indent = line + widest_id + line * 0.4  # swatch one line wide, the id, a gap
    lines = [wrap_to_width(list_entry(t), column_width - indent, lambda s: regular(s, points)) for t in candidates]
    spots = fill_columns([len(x) for x in lines], rows, columns)
    entries = [(k, column, row, lines[k]) for k, (column, row) in enumerate(spots)]
    return ListLayout(points, columns, column_width, indent, entries, len(topics) - len(entries))


def _draw_topic_list(figure: Figure, data: MapData) -> tuple[ListLayout, list[tuple[float, float]]]:
    """The list beside the map: per topic a colour swatch, its topic_id (the number a label that
    did not fit shows on the map) and its label with its size, wrapped, never cut. Returns the
    layout and the columns' edges."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import IdentityTransform

    width, height = figure.bbox.width, figure.bbox.height
    left, bottom, right, top = LIST_AREA
    figure.text(left, top, LIST_HEADING, fontsize=9, weight="bold", va="top")
    area = Box(left * width, (1 - top) * height + 9 * PNG_DPI / 72 * 1.8, right * width, (1 - bottom) * height)
    layout = layout_list(data.topics, area.x1 - area.x0, area.y1 - area.y0)
    line = layout.points * PNG_DPI / 72 * LIST_LINE
    pixels = IdentityTransform()
    for k, column, row, lines in layout.entries:
        topic = data.topics[k]
        x = area.x0 + column * (layout.column_width + COLUMN_GAP)
        top_y = height - area.y0 - row * line  # y upwards again for matplotlib
        swatch = line * 0.6
        figure.add_artist(
            Rectangle((x, top_y - line / 2 - swatch / 2), swatch, swatch, transform=pixels, color=topic.colour)
        )
        baseline = line * 0.75
        figure.text(
            x + layout.indent - line * 0.4, top_y - baseline, str(topic.topic_id), transform=pixels,
            fontsize=layout.points, weight="bold", ha="right", va="baseline",
        )  # fmt: skip
        for i, text in enumerate(lines):
            figure.text(
                x + layout.indent, top_y - i * line - baseline, text, transform=pixels,
                fontsize=layout.points, color="#222222", va="baseline",
            )  # fmt: skip
    if layout.more:
        note = f"+ {layout.more:,} more: every topic is in topics.xlsx and topic_map.html"
        figure.text(area.x0, height - area.y1 + line * 0.25, note, transform=pixels, fontsize=layout.points,
                    color=NOTE_COLOUR, weight="bold", va="baseline")  # fmt: skip
    starts = [area.x0 + c * (layout.column_width + COLUMN_GAP) for c in range(layout.columns)]
    return layout, [(start, start + layout.column_width) for start in starts]
