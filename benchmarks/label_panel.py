"""Blind label panel (issue #19): readers choose between today's keyword label and the headline label.

    python benchmarks/labels.py              # first: the dev weeks' runs and both labels of each topic
    python benchmarks/label_panel.py make    # benchmarks/panel/sheet.md, key.csv and template.csv
    python benchmarks/label_panel.py tally   # reads benchmarks/panel/verdicts/*.csv

`make` draws a fixed (seeded) sample of topics with at least --min-size rows, the same number
from each dev week, and writes for each item eight of the topic's headlines (raw text, seeded
choice) and its two labels as "A" and "B" in seeded random order (the new label is "A" in
exactly half the items). Which of A and B is new is
only in key.csv: readers get sheet.md (and template.csv to fill in), never the key.

`tally` joins every verdicts/*.csv (columns item, choice in A/B/tie, reader) with the key and
prints, per reader and by majority over readers, the share of items where the new label is
preferred, and the count of ties. By majority, an item goes to the label that more of its
readers preferred, and is a tie when as many preferred each (or all answered tie).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = REPO / "benchmarks" / ".cache" / "label-runs"
PANEL = REPO / "benchmarks" / "panel"
DEV_WEEKS = ["2014-03-17", "2014-03-24", "2014-04-07", "2014-04-14"]
SEED = 19  # the number; changing it draws another sample
HEADLINES_SHOWN = 8

INSTRUCTIONS = """# Label panel: which label would an editor accept?

Each item below is one topic that the weekly job found in a week of news headlines: eight of its
headlines, then two labels for it, **A** and **B**. For each item, choose the label you would
accept as the topic's name in the weekly report: the one that says better what the headlines are
about (their story or subject), is accurate (says nothing the headlines do not) and reads well.
If neither is better, answer `tie`.

Write your answers in a copy of `template.csv` named after you, e.g. `verdicts/alex.csv`, with
the columns `item`, `choice` (`A`, `B` or `tie`) and `reader` (your name on every line).
Judge each item on its own. Do not open `key.csv`, and do not compare notes with other readers.
"""


def escape(text: str) -> str:
    """Text that markdown shows as it is (no emphasis, links, tables or html)."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", re.sub(r"\s+", " ", str(text)).strip())


def week_items(week: str, runs_dir: Path, n: int, min_size: int, rng: np.random.Generator) -> list[dict]:
    """n seeded items from one week: topic, both labels and eight of its headlines."""
    labels = pd.read_csv(runs_dir / f"labels-{week}.csv", keep_default_na=False)
    rows = read_rows(runs_dir / week)
    eligible = labels[(labels["topic_id"] != -1) & (labels["size"] >= min_size)].sort_values("topic_id")
    if len(eligible) < n:
        raise SystemExit(f"{week}: only {len(eligible)} topics with {min_size}+ rows, {n} wanted")
    picked = eligible.iloc[np.sort(rng.choice(len(eligible), size=n, replace=False))]
    items = []
    for topic in picked.itertuples():
        texts = rows.loc[rows["topic_id"] == topic.topic_id, "headline"].astype(str)
        distinct = sorted(set(texts))  # a fixed order, for the seeded choice
        shown = [
            distinct[i] for i in rng.choice(len(distinct), size=min(HEADLINES_SHOWN, len(distinct)), replace=False)
        ]
        items.append({"week": week, "topic_id": int(topic.topic_id), "size": int(topic.size),
                      "old_label": topic.old_label, "new_label": topic.new_label,
                      "headlines": shown})  # fmt: skip
    return items


def read_rows(folder: Path) -> pd.DataFrame:
    """headline and topic_id of every row of a run folder."""
    try:
        from cluster import read_run

        return read_run(folder).headlines[["headline", "topic_id"]]
    except (ImportError, AttributeError):
        frame = pd.read_csv(folder / "headlines.csv", encoding="utf-8-sig", keep_default_na=False)
        return frame[["headline", "topic_id"]]


def sheet(items: list[dict]) -> str:
    """The readers' markdown: instructions, then each item's headlines and its labels A and B."""
    parts = [INSTRUCTIONS]
    for item in items:
        first, second = (
            (item["new_label"], item["old_label"]) if item["new"] == "A" else (item["old_label"], item["new_label"])
        )
        lines = [f"## {item['item']}", "", "Headlines:", ""]
        lines += [f"{n}. {escape(text)}" for n, text in enumerate(item["headlines"], 1)]
        lines += ["", f"- **A:** {escape(first)}", f"- **B:** {escape(second)}", ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)


def make(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(SEED)
    per_week = -(-args.items // len(args.weeks))
    items = [item for week in args.weeks for item in week_items(week, args.runs_dir, per_week, args.min_size, rng)]
    order = rng.permutation(len(items))  # weeks mixed, so that neighbouring items are unrelated
    items = [items[i] for i in order]
    sides = rng.permutation(np.resize(["A", "B"], len(items)))  # the new label first in half the items
    for number, (item, side) in enumerate(zip(items, sides), 1):
        item["item"], item["new"] = f"P{number:03d}", str(side)
    args.panel.mkdir(parents=True, exist_ok=True)
    (args.panel / "verdicts").mkdir(exist_ok=True)
    (args.panel / "sheet.md").write_text(sheet(items), encoding="utf-8")
    key = pd.DataFrame(items)[["item", "week", "topic_id", "size", "new", "old_label", "new_label"]]
    key.to_csv(args.panel / "key.csv", index=False)
    pd.DataFrame({"item": key["item"], "choice": "", "reader": ""}).to_csv(args.panel / "template.csv", index=False)
    print(f"{len(items)} items from {len(args.weeks)} weeks: {args.panel / 'sheet.md'}, key.csv, template.csv")
    return 0


def read_verdicts(folder: Path) -> pd.DataFrame:
    """Every reader's answers, one row per reader and item; A/B/tie spelt as given in any case."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no verdicts in {folder}")
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False).assign(file=f.name) for f in files]
    verdicts = pd.concat(frames, ignore_index=True)
    verdicts["reader"] = verdicts["reader"].str.strip().where(verdicts["reader"].str.strip() != "", verdicts["file"])
    verdicts["choice"] = verdicts["choice"].str.strip().str.upper().replace({"TIE": "tie"})
    bad = verdicts[~verdicts["choice"].isin(["A", "B", "tie"])]
    if len(bad):
        print(f"# {len(bad)} answers not A, B or tie are left out (e.g. {bad.iloc[0].to_dict()})", file=sys.stderr)
    return verdicts[verdicts["choice"].isin(["A", "B", "tie"])].drop_duplicates(["reader", "item"], keep="last")


def tally(args: argparse.Namespace) -> int:
    key = pd.read_csv(args.panel / "key.csv", keep_default_na=False)
    verdicts = read_verdicts(args.panel / "verdicts").merge(key[["item", "new"]], on="item", how="inner")
    verdicts["vote"] = np.where(verdicts["choice"] == "tie", 0, np.where(verdicts["choice"] == verdicts["new"], 1, -1))
    print("| reader | items | new preferred | old preferred | ties |\n|---|---|---|---|---|")
    for reader, votes in verdicts.groupby("reader", sort=True):
        print(share_row(str(reader), votes["vote"].to_numpy()))
    majority = np.sign(verdicts.groupby("item")["vote"].sum().to_numpy())
    print(share_row(f"majority ({verdicts['reader'].nunique()} readers)", majority))
    print(f"\n{len(key) - verdicts['item'].nunique()} of {len(key)} items have no verdict")
    return 0


def share_row(name: str, votes: np.ndarray) -> str:
    """A table row: how many items, the shares where the new and the old label won, the ties."""
    n = len(votes)
    new, old, ties = int((votes > 0).sum()), int((votes < 0).sum()), int((votes == 0).sum())
    return f"| {name} | {n} | {new / max(n, 1):.1%} ({new}) | {old / max(n, 1):.1%} ({old}) | {ties} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["make", "tally"])
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS, help="where benchmarks/labels.py left its runs")
    parser.add_argument("--panel", type=Path, default=PANEL)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS)
    parser.add_argument("--items", type=int, default=120, help="spread evenly over the weeks")
    parser.add_argument("--min-size", type=int, default=3, help="rows a topic needs to be drawn")
    args = parser.parse_args(argv)
    return make(args) if args.command == "make" else tally(args)


if __name__ == "__main__":
    sys.exit(main())
