"""report.html: the week on one page. Plain HTML and inline CSS, no script, nothing fetched;
every piece of text from the data is HTML-escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cluster import __version__
from cluster.clustering import UNCLUSTERED
from cluster.review.pages import fill, read_template
from cluster.tables import RunTables, clustered_topics

if TYPE_CHECKING:
    from cluster.review.sample import Sample

# Tracking statuses shown as their own sections, in this order, with their headings.
CHANGE_SECTIONS = [("new", "New topics"), ("growing", "Growing topics"), ("faded", "Faded since the previous run")]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    return escape(str(value), quote=True)


def _number(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""


def _share(value: Any) -> str:
    return f"{float(value):.1%}"


def _facts(tables: RunTables) -> list[tuple[str, str]]:
    manifest = tables.manifest
    counts = manifest.get("counts", {})
    window = manifest.get("window") or {}
    facts = [
        ("Headlines", _number(counts.get("accepted", len(tables.headlines)))),
        ("Distinct headlines", _number(counts.get("unique"))),
        ("Topics", _number(manifest.get("topics", len(clustered_topics(tables.topics))))),
        ("Unassigned", f"{_number(manifest.get('unclustered_rows'))} ({_share(manifest.get('unclustered_share', 0))})"),
        ("Rejected rows", _number(counts.get("rejected"))),
    ]
    if window:
        facts.append(("Dates", f"{window.get('since') or '…'} to {window.get('until') or '…'}"))
    inputs = [Path(str(entry.get("path", ""))).name for entry in manifest.get("inputs", [])]
    if inputs:
        facts.append(("Input", ", ".join(inputs)))
    model = manifest.get("model", {})
    if model:
        facts.append(("Model", str(model.get("name", ""))))
    return [(label, escape(value) if label in {"Dates", "Input", "Model"} else value) for label, value in facts]


def _topic_card(row: pd.Series) -> str:
    reps = [row.get(f"representative_{i}") for i in (1, 2, 3)]
    reps_html = "".join(f"<li>{_text(r)}</li>" for r in reps if _text(r))
    status = _text(row.get("status")) if "status" in row else ""
    key = _text(row.get("topic_key")) if "topic_key" in row else ""
    badges = f'<span class="status {status}">{status}</span>' if status else ""
    ident = f"{key} · topic {_text(row['topic_id'])}" if key else f"topic {_text(row['topic_id'])}"
    dates = ""
    if _text(row.get("first_date")):
        dates = f" · {_text(row.get('first_date'))} to {_text(row.get('last_date'))}"
    sources = f" · {_number(row.get('n_sources'))} sources" if _number(row.get("n_sources")) else ""
    return (
        f'<section class="topic"><h3>{_text(row["label"])} {badges}</h3>'
        f'<p class="meta">{ident} · <b>{_number(row["size"])}</b> headlines ({_share(row["share"])})'
        f"{dates}{sources}</p>"
        f'<p class="keywords">{_text(row["keywords"])}</p>'
        f"<ul>{reps_html}</ul></section>"
    )


def _change_rows(tables: RunTables, status: str) -> pd.DataFrame:
    """Topics with a tracking status: new and growing ones from this run's topic table, faded
    ones (which exist only in the previous run) from the changes table."""
    if status in {"new", "growing"} and "status" in tables.topics.columns:
        source = tables.topics
    elif tables.changes is not None and "status" in tables.changes.columns:
        source = tables.changes
    else:
        return pd.DataFrame()
    return source[source["status"].astype(str) == status]


def _change_list(rows: pd.DataFrame) -> str:
    items = []
    for _, row in rows.iterrows():
        label = _text(row.get("label")) or _text(row.get("previous_label"))
        key = _text(row.get("topic_key"))
        now, before = _number(row.get("size")), _number(row.get("previous_size"))
        sizes = f"{before} → {now}" if now and before else now or (f"{before} last run" if before else "")
        items.append(f"<li><b>{label}</b>{f' ({key})' if key else ''}{f' · {sizes}' if sizes else ''}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else '<p class="none">None.</p>'


def _changes(tables: RunTables) -> str:
    """The tracking section: one grid cell per status, its heading and its list together."""
    parts = [
        f'<section class="change"><h3>{heading}</h3>{_change_list(_change_rows(tables, status))}</section>'
        for status, heading in CHANGE_SECTIONS
    ]
    return f'<h2>What changed since the previous run</h2><div class="changes">{"".join(parts)}</div>'


def _unclustered(tables: RunTables, examples: int = 5) -> str:
    """What joined no topic, said plainly after the topics: how many headlines, their share, why,
    where they are, and a few of them; nothing when every headline has a topic."""
    row = tables.topics[tables.topics["topic_id"].astype(int) == UNCLUSTERED]
    if row.empty or not int(row["size"].iloc[0]):
        return ""
    headlines = tables.headlines
    texts: list[str] = []
    if "topic_id" in headlines.columns and tables.text_column in headlines.columns:
        members = headlines.loc[headlines["topic_id"].astype(int) == UNCLUSTERED, tables.text_column]
        texts = list(dict.fromkeys(members.astype(str)))[:examples]
    items = "".join(f"<li>{_text(text)}</li>" for text in texts)
    return (
        f'<section class="unclustered"><h3>Unclustered · <b>{_number(row["size"].iloc[0])}</b> headlines '
        f"({_share(row['share'].iloc[0])})</h3>"
        '<p class="meta">These headlines joined no topic: none was close enough to a topic\'s own headlines. '
        "They are counted in no topic's size, and listed under topic -1 (Unclustered) in the workbook's "
        f"Headlines sheet and in headlines.csv.</p><ul>{items}</ul></section>"
    )


def render_report(
    tables: RunTables, n_topics: int = 20, map_link: str | None = None, map_sample: "Sample | None" = None
) -> str:
    """The report as one HTML string; `map_link` is the HTML map's file name (None: no map),
    whose points are `map_sample` on a large run."""
    title = f"Topics of the week · run {tables.run_id}"
    facts = "".join(f"<div><dt>{label}</dt><dd>{value}</dd></div>" for label, value in _facts(tables))
    topics = clustered_topics(tables.topics)
    largest = topics.head(n_topics)
    cards = "".join(_topic_card(row) for _, row in largest.iterrows())
    cards = cards or '<p class="none">No topic was found this run.</p>'
    smaller = len(topics) - len(largest)
    more = f"<p>{smaller:,} smaller topics are in topics.xlsx and topics.csv.</p>" if smaller > 0 else ""
    more += _unclustered(tables)
    changes = _changes(tables) if tables.has_tracking else ""
    sample = map_sample if map_link else None
    points = (
        f"{sample.shown:,} of {sample.total:,} headlines, sampled per topic"
        if sample is not None and sample.shown < sample.total
        else "every headline"
    )
    link = (
        f'<p class="maplink"><a href="{escape(map_link, quote=True)}">Open the interactive topic map</a> '
        f"({points}, searchable; a static copy is topic_map.png)</p>"
        if map_link
        else ""
    )
    warnings = "".join(f"<li>{_text(w)}</li>" for w in tables.manifest.get("warnings", []))
    warnings_html = f'<ul class="warnings">{warnings}</ul>' if warnings else ""
    return fill(
        read_template("report.html"),
        title=escape(title),
        facts=facts,
        warnings=warnings_html,
        link=link,
        n_largest=str(len(largest)),
        cards=cards,
        more=more,
        changes=changes,
        version=escape(__version__),
    )


def write_report(
    tables: RunTables, path: Path, n_topics: int = 20, map_link: str | None = None, map_sample: "Sample | None" = None
) -> None:
    """Write report.html."""
    path.write_text(render_report(tables, n_topics, map_link, map_sample), encoding="utf-8", newline="\n")
