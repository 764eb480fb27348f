"""The topic map: every headline a point on the 2-D UMAP layout, coloured by topic, labels at
topic centres, unclustered headlines faint.

- topic_map.png: matplotlib (Agg canvas, no GUI, no global pyplot state): a static picture for
  mail and slides, fast at 35k points.
- topic_map.html: plotly.js, inlined (no CDN), drawn with WebGL (`scattergl`) so that 35k points
  pan, zoom and hover smoothly; a search box and a topic picker highlight matching headlines.
  The page's own script builds the plot from compact arrays, which keeps the file small.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cluster.review.tables import UNCLUSTERED, ReviewTables, clustered_topics

# Distinct colours, cycled by topic id; grey is kept for unclustered headlines.
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#d6616b", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#ce6dbd",
]
UNCLUSTERED_COLOUR = "#9a9a9a"


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
    """What both maps draw. Points are the headline rows, in input order."""

    x: np.ndarray
    y: np.ndarray
    topic_index: np.ndarray  # index into `topics`; -1 for unclustered
    text: list[str]
    topics: list[MapTopic]
    title: str
    subtitle: str
    n_labels: int


def build_map_data(tables: ReviewTables, n_labels: int = 40) -> MapData:
    """Points, colours and label positions from the headline and topic tables."""
    headlines = tables.headlines
    x = headlines["map_x"].to_numpy(dtype=float)
    y = headlines["map_y"].to_numpy(dtype=float)
    point_topic = headlines["topic_id"].astype(int).to_numpy()
    topics: list[MapTopic] = []
    index_of: dict[int, int] = {}
    for rank, row in enumerate(clustered_topics(tables.topics).itertuples(index=False)):
        topic_id = int(row.topic_id)
        members = point_topic == topic_id
        centre_x = float(np.median(x[members])) if members.any() else 0.0
        centre_y = float(np.median(y[members])) if members.any() else 0.0
        index_of[topic_id] = len(topics)
        topics.append(
            MapTopic(
                topic_id=topic_id,
                label=str(row.label),
                size=int(row.size),
                colour=PALETTE[topic_id % len(PALETTE)],
                x=round(centre_x, 4),
                y=round(centre_y, 4),
                labelled=rank < n_labels,
            )
        )
    topic_index = np.array([index_of.get(int(t), UNCLUSTERED) for t in point_topic], dtype=np.int64)
    n_unclustered = int((topic_index == UNCLUSTERED).sum())
    manifest = tables.manifest
    window = manifest.get("window") or {}
    when = f"{window.get('since') or '…'} to {window.get('until') or '…'}" if window else ""
    subtitle = (
        f"{len(headlines):,} headlines, {len(topics):,} topics"
        f"{f', {n_unclustered:,} unclustered (grey)' if n_unclustered else ''}"
        f"{f' · {when}' if when else ''}"
    )
    return MapData(
        x=x,
        y=y,
        topic_index=topic_index,
        text=[str(t) for t in headlines[tables.text_column].tolist()],
        topics=topics,
        title=f"Topic map · run {tables.run_id}",
        subtitle=subtitle,
        n_labels=n_labels,
    )


def _marker_area(n_points: int) -> float:
    """Matplotlib marker area (pt²): large on a small week, small on a 35k week."""
    return float(np.clip(500 / np.sqrt(max(n_points, 1)), 1.0, 14.0))


def write_map_png(data: MapData, path: Path) -> None:
    """A static 1800×1350 px PNG; overlapping labels are dropped, larger topics win."""
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 9), dpi=150)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.92))
    axes.set_axis_off()
    area = _marker_area(len(data.x))
    outside = data.topic_index == UNCLUSTERED
    axes.scatter(data.x[outside], data.y[outside], s=area, c=UNCLUSTERED_COLOUR, alpha=0.25, linewidths=0, rasterized=True)
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
    renderer = canvas.get_renderer()
    placed = []
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for topic in data.topics:
        if not topic.labelled:
            continue
        label = axes.text(topic.x, topic.y, _shorten(topic.label, 40), fontsize=8, ha="center", va="center",
                          color="#111111", weight="bold", path_effects=halo)
        box = label.get_window_extent(renderer).expanded(1.05, 1.15)
        if any(box.overlaps(other) for other in placed):
            label.remove()
        else:
            placed.append(box)
    figure.savefig(path, format="png", facecolor="white")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, no `<!--`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def map_payload(data: MapData) -> dict:
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

    return get_plotlyjs().replace("</script", "<\\/script")


def write_map_html(data: MapData, path: Path) -> None:
    """A single self-contained HTML file: plotly.js, the data and the page script inline."""
    page = (
        _PAGE.replace("{{title}}", html.escape(data.title))
        .replace("{{subtitle}}", html.escape(data.subtitle))
        .replace("{{n}}", f"{len(data.x):,}")
    )
    head, tail = page.split("{{scripts}}")
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(head)
        out.write("<script>")
        out.write(plotly_js())
        out.write("</script>\n<script type=\"application/json\" id=\"map-data\">")
        out.write(_script_json(map_payload(data)))
        out.write("</script>\n<script>")
        out.write(_PAGE_SCRIPT)
        out.write("</script>")
        out.write(tail)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<style>
  html, body { margin: 0; height: 100%; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
  body { display: flex; flex-direction: column; }
  header { padding: 8px 14px; border-bottom: 1px solid #ddd; display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; }
  header h1 { font-size: 17px; margin: 0; }
  header .sub { color: #555; font-size: 13px; }
  header label { font-size: 13px; }
  header input[type=search] { width: 22em; padding: 3px 6px; font-size: 13px; }
  header select { max-width: 26em; font-size: 13px; }
  #count { font-size: 13px; color: #a33; }
  #map { flex: 1; min-height: 300px; }
  #notice { display: none; padding: 4px 14px; background: #fff4d6; font-size: 13px; }
</style>
</head>
<body>
<header>
  <h1>{{title}}</h1>
  <span class="sub">{{subtitle}}</span>
  <label>Search <input id="search" type="search" placeholder="words in a headline or topic label" autocomplete="off"></label>
  <label>Topic <select id="topic"><option value="">all topics</option></select></label>
  <span id="count"></span>
</header>
<div id="notice"></div>
<div id="map" role="img" aria-label="Map of {{n}} headlines coloured by topic"></div>
<noscript>This map needs JavaScript; topic_map.png in the same folder is a static copy.</noscript>
{{scripts}}
</body>
</html>
"""

# The page script: builds two traces (topics, unclustered), labels that do not overlap at the
# current zoom, and the search/topic filter (matching points stay bright, the rest fade).
_PAGE_SCRIPT = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("map-data").textContent);
  const gd = document.getElementById("map");
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const hasWebGL = (function () {
    try { const c = document.createElement("canvas"); return !!(c.getContext("webgl") || c.getContext("experimental-webgl")); }
    catch (e) { return false; }
  })();
  if (!hasWebGL) {
    const note = document.getElementById("notice");
    note.textContent = "This browser has no WebGL: the map is drawn without it and may be slow to pan and zoom.";
    note.style.display = "block";
  }
  const n = D.x.length;
  const groups = [{ rows: [] }, { rows: [] }];  // 0: in a topic, 1: unclustered
  for (let i = 0; i < n; i++) groups[D.t[i] < 0 ? 1 : 0].rows.push(i);
  const lowerHeadline = D.h.map((h) => h.toLowerCase());
  const lowerLabel = D.topics.map((t) => t.label.toLowerCase());
  const size = Math.max(3, Math.min(8, Math.round(60 / Math.sqrt(Math.sqrt(Math.max(n, 1))))));
  function trace(rows, inTopic) {
    return {
      type: hasWebGL ? "scattergl" : "scatter",
      mode: "markers",
      name: inTopic ? "topics" : "unclustered",
      x: rows.map((i) => D.x[i]),
      y: rows.map((i) => D.y[i]),
      text: rows.map((i) => esc(D.h[i])),
      customdata: rows.map((i) => (inTopic ? esc(D.topics[D.t[i]].label) + " (topic " + D.topics[D.t[i]].id + ")" : "unclustered")),
      hovertemplate: "%{text}<br><b>%{customdata}</b><extra></extra>",
      marker: {
        size: size,
        color: inTopic ? rows.map((i) => D.topics[D.t[i]].colour) : D.unclusteredColour,
        opacity: inTopic ? 0.75 : 0.25,
      },
      selected: { marker: { opacity: 0.95 } },
      unselected: { marker: { opacity: 0.04 } },
    };
  }
  const traces = [trace(groups[0].rows, true), trace(groups[1].rows, false)];
  const layout = {
    margin: { l: 10, r: 10, t: 10, b: 10 },
    xaxis: { visible: false },
    yaxis: { visible: false },
    hovermode: "closest",
    showlegend: false,
    dragmode: "pan",
    plot_bgcolor: "#ffffff",
    annotations: [],
  };
  const config = { responsive: true, scrollZoom: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] };

  let candidates = D.topics.map((t, k) => k);  // topics whose labels may show, largest first
  function placeLabels() {
    const full = gd._fullLayout;
    if (!full || !full.xaxis || !full.yaxis) return;
    const xa = full.xaxis, ya = full.yaxis;
    const placed = [], annotations = [];
    for (const k of candidates) {
      if (annotations.length >= D.nLabels) break;
      const t = D.topics[k];
      const px = xa.l2p(t.x), py = ya.l2p(t.y);
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) continue;
      const w = 7 * t.label.length + 10, h = 18;
      const box = [px - w / 2, py - h / 2, px + w / 2, py + h / 2];
      if (placed.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
      placed.push(box);
      annotations.push({
        x: t.x, y: t.y, text: esc(t.label), showarrow: false, captureevents: false,
        font: { size: 12, color: "#111" }, bgcolor: "rgba(255,255,255,0.75)", borderpad: 1,
      });
    }
    Plotly.relayout(gd, { annotations: annotations });
  }

  const picker = document.getElementById("topic");
  D.topics.forEach((t, k) => {
    const option = document.createElement("option");
    option.value = String(k);
    option.textContent = t.id + ": " + t.label + " (" + t.size + ")";
    picker.appendChild(option);
  });
  const search = document.getElementById("search");
  const count = document.getElementById("count");
  function applyFilter() {
    const q = search.value.trim().toLowerCase();
    const topic = picker.value === "" ? null : Number(picker.value);
    if (!q && topic === null) {
      candidates = D.topics.map((t, k) => k);
      count.textContent = "";
      Plotly.restyle(gd, { selectedpoints: [null, null] }, [0, 1]).then(placeLabels);
      return;
    }
    const matchedTopics = new Set();
    let total = 0;
    const selections = groups.map((group) => {
      const chosen = [];
      group.rows.forEach((i, position) => {
        const k = D.t[i];
        if (topic !== null && k !== topic) return;
        if (q && !lowerHeadline[i].includes(q) && !(k >= 0 && lowerLabel[k].includes(q))) return;
        chosen.push(position);
        if (k >= 0) matchedTopics.add(k);
      });
      total += chosen.length;
      return chosen;
    });
    candidates = D.topics.map((t, k) => k).filter((k) => matchedTopics.has(k));
    count.textContent = total.toLocaleString() + " of " + n.toLocaleString() + " headlines match";
    Plotly.restyle(gd, { selectedpoints: selections }, [0, 1]).then(placeLabels);
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(applyFilter, 200); });
  picker.addEventListener("change", applyFilter);

  Plotly.newPlot(gd, traces, layout, config).then(() => {
    placeLabels();
    gd.on("plotly_relayout", (change) => {
      if (change && Object.keys(change).some((key) => !key.startsWith("annotations"))) placeLabels();
    });
    // two frames later the WebGL points are on screen; the browser check waits for this mark
    requestAnimationFrame(() => requestAnimationFrame(() => {
      document.body.dataset.rendered = String(n);
      window.mapRenderedAt = performance.now();
    }));
  });
})();
"""
