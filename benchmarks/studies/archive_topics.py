"""Why a run over many weeks scores lower against `story` than a week does: what its topics hold.

    python benchmarks/studies/archive_topics.py benchmarks/.cache/scale/runs/RUN   # a run of benchmarks/scale.py

For a run on (part of) the dev file: homogeneity and completeness against `story`; the largest
topics with how many stories and how many calendar weeks each spans; and, for comparison only,
the scores the same topics would get if each were cut by calendar week. Cutting by week uses the
date, which the job does not use as a clustering feature: the figure says how much of the gap is
stories that recur under one subject week after week, not a change to make.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn import metrics

REPO = Path(__file__).resolve().parents[2]
DEV_FILE = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a run folder whose input rows come from the dev file")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    from cluster import read_run

    headlines = read_run(args.run).headlines
    source = pd.read_csv(DEV_FILE, dtype=str, keep_default_na=False).set_index("id")
    ids = headlines["id"].astype(str)
    story = source.loc[ids, "story"].to_numpy()
    dates = pd.to_datetime(source.loc[ids, "date"], utc=True).dt.tz_localize(None)
    week = dates.dt.to_period("W-SUN").astype(str).to_numpy()
    topic = headlines["topic_id"].to_numpy()
    print(f"{len(topic)} headlines, {pd.Series(story).nunique()} stories, {len(set(topic)) - (-1 in topic)} topics")
    print(f"homogeneity {metrics.homogeneity_score(story, topic):.3f}  "
          f"completeness {metrics.completeness_score(story, topic):.3f}")  # fmt: skip
    frame = pd.DataFrame({"topic": topic, "story": story, "week": week, "label": headlines["topic_label"]})
    largest = (
        frame.groupby("topic")
        .agg(
            headlines=("story", "size"),
            stories=("story", "nunique"),
            weeks=("week", "nunique"),
            label=("label", "first"),
        )
        .sort_values("headlines", ascending=False)
        .head(args.top)
    )
    print(largest.to_string())
    by_week = pd.Series(topic).astype(str) + "|" + week
    for name, grouping in (("as they are", topic), ("cut by calendar week (comparison only)", by_week)):
        nmi = metrics.normalized_mutual_info_score(story, grouping)
        print(f"topics {name}: NMI {nmi:.3f}  ARI {metrics.adjusted_rand_score(story, grouping):.3f}")


if __name__ == "__main__":
    main()
