"""Strays: do one-off headlines stay unclustered, or are they pulled into a week's topics?

A week's news has headlines that belong to no story of the week. The job should leave them
unclustered rather than put them, without a word, into the topic they happen to sit nearest to.
This benchmark adds such headlines on purpose: to each UCI dev week of ../shared/data it adds
AG News titles (another decade's news, so no story of the week can claim them), a seeded random
10% of the week's row count, dated at random inside the week. The real job runs on the mixture
(`cluster.run_week`, built-in defaults); the story ids and the origin of each row are carried
through and used only for scoring. Per week it reports:

- strays in week topics: the share of the added rows that end in a topic whose rows are mostly
  the week's own (a topic of strays alone is harmless: it is plainly not a story of the week);
- own unassigned: the share of the week's own rows left unclustered;
- own NMI: the week's own rows against the story ids (unassigned as one cluster), with the
  strays in the run, so that the figure compares the rule that keeps strays out with the old one.

Then the shipped example (configs/example.yaml): how many of its one-off headlines (stories with
one row) stay unclustered, and which of its multi-headline stories stay whole (every row in one
topic).

    python benchmarks/strays.py                                  # the four dev weeks and the example
    python benchmarks/strays.py --weeks 2014-03-31 2014-04-21    # the weeks kept out of tuning
    python benchmarks/strays.py --set clustering.outlier_threshold=0.5 --set clustering.member_threshold=0.5

The job's embedding and UMAP cache (~/.cache/headline-cluster, or --cache-dir) makes a rerun quick.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DEFAULT_DATA, DEV_WEEKS, REPO  # noqa: E402

STRAYS = DEFAULT_DATA.with_name("ag_news_test.csv.gz")
STRAY, OWN = "stray", "week"
QUIET = ["review.workbook=false", "review.map=false", "review.report=false"]


def week_with_strays(data: Path, strays: Path, monday: str, share: float, seed: int) -> pd.DataFrame:
    """The week's UCI rows, plus AG News titles (`share` of the week's row count, drawn with
    `seed`) dated at random inside the week; `origin` says which is which, and each stray is a
    story of its own."""
    start = pd.Timestamp(monday, tz="UTC")
    week = pd.read_csv(data, keep_default_na=False, dtype=str)
    dates = pd.to_datetime(week.date, utc=True)
    week = week[(dates >= start) & (dates < start + pd.Timedelta(days=7))]
    rng = np.random.default_rng([seed, int(start.strftime("%Y%m%d"))])
    titles = pd.read_csv(strays, keep_default_na=False, dtype=str)["headline"]
    picked = rng.choice(len(titles), size=round(share * len(week)), replace=False)
    seconds = rng.integers(0, 7 * 86400, size=len(picked))
    added = pd.DataFrame(
        {
            "id": [f"stray-{i}" for i in picked],
            "headline": titles.to_numpy()[picked],
            "date": (start + pd.to_timedelta(seconds, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "publisher": "AG News",
            "story": [f"stray-{i}" for i in picked],
        }
    )
    mixed = pd.concat([week[["id", "headline", "date", "publisher", "story"]].assign(origin=OWN),
                       added.assign(origin=STRAY)], ignore_index=True)  # fmt: skip
    return mixed


def run_job(path: Path, folder: Path, run_id: str, overrides: list[str], config: Path | None = None) -> pd.DataFrame:
    """headlines.csv of the real job on `path` (or on `config`'s input when path is None)."""
    from cluster import run_week

    choices = {"input": path} if path is not None else {}
    run_week(config, output_dir=folder, run_id=run_id, previous="none", progress=False,
             overrides=[*QUIET, *overrides], **choices)  # fmt: skip
    return pd.read_csv(folder / run_id / "headlines.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def stray_scores(headlines: pd.DataFrame) -> dict[str, float]:
    """The three per-week figures of the module's doc, from a run's headlines.csv rows."""
    from cluster.evaluate import score

    in_topic = headlines[headlines.topic_id != "-1"]
    own_share = (in_topic.origin == OWN).groupby(in_topic.topic_id).mean()
    week_topics = set(own_share.index[own_share > 0.5])
    strays, own = headlines[headlines.origin == STRAY], headlines[headlines.origin == OWN]
    return {
        "rows": len(own),
        "strays": len(strays),
        "strays_in_week_topics": float(strays.topic_id.isin(week_topics).mean()),
        "strays_by_hdbscan": float((strays.topic_id.isin(week_topics) & (strays.assigned_by == "hdbscan")).mean()),
        "own_unassigned": float((own.topic_id == "-1").mean()),
        "own_nmi": score(own.story, own.topic_id.astype(int).to_numpy())["nmi"],
        "topics": int(in_topic.topic_id.nunique()),
    }


def example_scores(headlines: pd.DataFrame) -> tuple[dict[str, int], list[str]]:
    """One-off headlines of the shipped example left unclustered; the multi-headline stories
    whose rows all sit in one topic, and those whose rows in a topic all sit in one (some rows
    left unclustered); with a line for each story that is not whole. The aggregator's story ids
    are noisy: one holds unrelated news-in-brief items, which no topic should hold together."""
    sizes = headlines.story.value_counts()
    one_off = headlines[headlines.story.isin(sizes.index[sizes == 1])]
    lines, whole, one_topic = [], 0, 0
    for story, rows in headlines[headlines.story.isin(sizes.index[sizes > 1])].groupby("story"):
        topics = rows.topic_id.value_counts()
        one_topic += int((topics.index != "-1").sum() == 1)
        if len(topics) == 1 and topics.index[0] != "-1":
            whole += 1
            continue
        main = rows[rows.topic_id == topics.index[0]].headline.iloc[0]
        lines.append(f"  not whole: {story[:8]} ({main[:50]}…): rows by topic {topics.to_dict()}")
    scores = {
        "one_off": len(one_off),
        "one_off_unclustered": int((one_off.topic_id == "-1").sum()),
        "stories": int((sizes > 1).sum()),
        "stories_whole": whole,
        "stories_in_one_topic": one_topic,
        "unclustered_rows": int((headlines.topic_id == "-1").sum()),
    }
    return scores, lines


HEADER = (
    "| week | rows | strays | strays in week topics | …by HDBSCAN | own unassigned | own NMI | topics |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--strays", type=Path, default=STRAYS, help="file whose `headline` column supplies strays")
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS, help="Mondays (YYYY-MM-DD)")
    parser.add_argument("--share", type=float, default=0.1, help="strays added, as a share of the week's rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override")
    parser.add_argument("--cache-dir", type=Path, help="the job's cache (default: the user's)")
    parser.add_argument("--no-example", action="store_true", help="skip the shipped example")
    args = parser.parse_args(argv)
    for path in (args.data, args.strays):
        if not path.exists():
            parser.error(f"{path} not found (../shared/data)")
    overrides = [*args.overrides, *([f"cache.dir={args.cache_dir}"] if args.cache_dir else [])]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for week in args.weeks:
            mixed = week_with_strays(args.data, args.strays, week, args.share, args.seed)
            path = Path(scratch) / f"{week}.csv"
            mixed.to_csv(path, index=False)
            monday = dt.date.fromisoformat(week)
            window = [f"input.since={monday}", f"input.until={monday + dt.timedelta(days=6)}",
                      "input.source_column=publisher"]  # fmt: skip
            headlines = run_job(path, Path(scratch), week, [*window, *overrides])
            rows.append({"week": week, **stray_scores(headlines)})
            r = rows[-1]
            line = (
                f"| {week} | {r['rows']} | {r['strays']} | {r['strays_in_week_topics']:.1%} | "
                f"{r['strays_by_hdbscan']:.1%} | {r['own_unassigned']:.1%} | {r['own_nmi']:.4f} | {r['topics']} |"
            )
            print(line, file=sys.stderr, flush=True)
            r["line"] = line
        print(f"settings: {args.overrides or 'defaults'}; strays {args.share:.0%} of each week, seed {args.seed}")
        print(HEADER)
        print("\n".join(r["line"] for r in rows))
        if not args.no_example:
            headlines = run_job(None, Path(scratch), "example", overrides, REPO / "configs" / "example.yaml")
            scores, lines = example_scores(headlines)
            print(
                f"\nexample: {scores['one_off_unclustered']} of {scores['one_off']} one-off headlines unclustered; "
                f"{scores['stories_whole']} of {scores['stories']} stories whole "
                f"({scores['stories_in_one_topic']} with every clustered row in one topic); "
                f"{scores['unclustered_rows']} of {len(headlines)} rows unclustered"
            )
            print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
