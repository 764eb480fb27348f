"""The output folder's timeline, drawn: the largest topics' sizes across runs as a PNG
(matplotlib's Agg canvas, like the map) and as an offline HTML page (plotly.js inline, like the
map), and the tables as a workbook (XlsxWriter, like topics.xlsx). The tables come from
`cluster.timeline`; nothing here reads a run folder.

Every file is deterministic: the same tables give the same bytes (fixed sizes, colours, order
and workbook creation time)."""

from __future__ import annotations

import html
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cluster.review.glyphs import PNG_DPI
from cluster.review.pages import fill, read_template
from cluster.review.topic_map import PALETTE, plotly_js
from cluster.review.workbook import FIXED_CREATED, SheetWriter

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PNG_TOPICS = 12  # topics drawn in the PNG: more lines than this no longer read at a glance
HTML_TOPICS = 40  # topics in the page: the PNG's shown, the rest a click away in the legend
PNG_INCHES = (12.0, 6.75)  # at PNG_DPI: 1800×1012 px, a slide
LEGEND_WIDTH = 34  # characters a legend line holds before it wraps


def top_topics(sizes: pd.DataFrame, n: int) -> pd.DataFrame:
    """The `n` first rows of the size table: the topics with the most headlines in one run."""
    return sizes.head(n)


def _legend_text(row: pd.Series) -> str:
    return textwrap.fill(f"{row['topic_key']} · {row['label']}", LEGEND_WIDTH)


def _title(run_ids: list[str]) -> tuple[str, str]:
    span = run_ids[0] if len(run_ids) == 1 else f"{run_ids[0]} to {run_ids[-1]}"
    return "Largest topics across runs", f"{len(run_ids)} runs, {span}"


def _draw_lines(axes: Axes, shown: pd.DataFrame, run_ids: list[str]) -> None:
    """One line per topic, a marker per run it is in, a gap where it is not."""
    x = np.arange(len(run_ids))
    for k, (_, row) in enumerate(shown.iterrows()):
        y = np.array([np.nan if pd.isna(row[r]) else float(row[r]) for r in run_ids])
        axes.plot(x, y, marker="o", markersize=4, linewidth=1.8, color=PALETTE[k % len(PALETTE)],
                  label=_legend_text(row))  # fmt: skip
    axes.set_xticks(x)
    axes.set_xticklabels(run_ids, rotation=45 if len(run_ids) > 8 else 0, ha="right" if len(run_ids) > 8 else "center")
    axes.set_xlim(-0.5, len(run_ids) - 0.5)
    axes.set_ylim(bottom=0)
    axes.set_ylabel("headlines in the topic")
    axes.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    axes.spines[["top", "right"]].set_visible(False)


def write_timeline_png(sizes: pd.DataFrame, run_ids: list[str], path: Path) -> None:
    """A static 1800×1012 px PNG: the sizes of the PNG_TOPICS largest topics across the runs,
    with a legend of their keys and labels beside the chart."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=PNG_INCHES, dpi=PNG_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.06, 0.14, 0.62, 0.74))
    shown = top_topics(sizes, PNG_TOPICS)
    _draw_lines(axes, shown, run_ids)
    title, subtitle = _title(run_ids)
    figure.text(0.01, 0.975, title, fontsize=14, weight="bold", va="top")
    note = f"{subtitle} · the {len(shown)} topics with the most headlines in one run; a gap: not in that run"
    figure.text(0.01, 0.935, note, fontsize=10, color="#444444", va="top")
    if len(shown):
        axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8, borderaxespad=0)
    figure.savefig(path, format="png", facecolor="white")


def _traces(table: pd.DataFrame, shown: pd.DataFrame, run_ids: list[str]) -> list[dict[str, Any]]:
    """plotly line traces, one per topic: its size per run (null where absent), with the run's
    label, share and status on hover; the first PNG_TOPICS visible, the rest in the legend."""
    by_key = {key: rows.set_index("run_id") for key, rows in table.groupby("topic_key", sort=False)}
    traces = []
    for k, (_, row) in enumerate(shown.iterrows()):
        rows = by_key[row["topic_key"]].reindex(run_ids)
        size = [None if pd.isna(v) else int(v) for v in rows["size"]]
        hover = [
            "" if pd.isna(s) else f"{html.escape(str(label))}<br>{int(s):,} headlines ({share:.1%}) · {status or '—'}"
            for s, label, share, status in zip(rows["size"], rows["label"], rows["share"].fillna(0.0), rows["status"])
        ]
        traces.append({
            "type": "scatter", "mode": "lines+markers", "x": run_ids, "y": size, "text": hover,
            "name": html.escape(f"{row['topic_key']} · {row['label']}"), "connectgaps": False,
            "line": {"color": PALETTE[k % len(PALETTE)], "width": 2}, "marker": {"size": 6},
            "hovertemplate": f"<b>{html.escape(str(row['topic_key']))}</b> · %{{x}}<br>%{{text}}<extra></extra>",
            "visible": True if k < PNG_TOPICS else "legendonly",
        })  # fmt: skip
    return traces


def _script_json(value: object) -> str:
    """JSON safe inside a script element."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).replace("<", "\\u003c")


def write_timeline_html(table: pd.DataFrame, sizes: pd.DataFrame, run_ids: list[str], path: Path) -> None:
    """A single self-contained HTML page (plotly.js inline, nothing fetched): the HTML_TOPICS
    largest topics' sizes across runs, the PNG's topics shown and the others a click away in
    the legend, and a table of them below that needs no script."""
    head, tail = read_template("timeline.html").split("{{scripts}}")
    title, subtitle = _title(run_ids)
    shown = top_topics(sizes, HTML_TOPICS)
    rows = "\n".join(
        f"<tr><td>{html.escape(str(r['topic_key']))}</td><td>{html.escape(str(r['label']))}</td>"
        f"<td>{int(r['runs'])}</td><td>{int(r['largest']):,}</td></tr>"
        for _, r in shown.iterrows()
    )
    values = {"title": html.escape(title), "subtitle": html.escape(subtitle), "rows": rows,
              "n_topics": str(len(shown)), "n_all": f"{len(sizes):,}"}  # fmt: skip
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(fill(head, **values))
        out.write("<script>")
        out.write(plotly_js())
        out.write('</script>\n<script type="application/json" id="timeline-data">')
        out.write(_script_json({"traces": _traces(table, shown, run_ids)}))
        out.write("</script>\n<script>\n")
        out.write(read_template("timeline.js"))
        out.write("</script>")
        out.write(fill(tail, **values))


def write_timeline_workbook(table: pd.DataFrame, sizes: pd.DataFrame, runs: pd.DataFrame, path: Path) -> None:
    """timeline.xlsx: Sizes (a row per topic key, a column per run: its size there), Timeline
    (timeline.csv's rows) and Runs (a row per run)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
         "nan_inf_to_errors": False},
    )  # fmt: skip
    workbook.set_properties({"title": "Topics across runs", "created": FIXED_CREATED})
    writer = SheetWriter(workbook)
    writer.write("Sizes", sizes, widths={"label": 36})
    writer.write("Timeline", table, widths={"label": 36})
    writer.write("Runs", runs)
    workbook.close()
