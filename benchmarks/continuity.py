"""Week-to-week continuity of topic keys on the UCI News Aggregator dev data.

Runs the weekly job (`cluster.run_week`, what `cluster run` calls) twice into one output folder on
overlapping windows (days 1-7, then days 4-10), then scores: for every aggregator story present
in both windows, the share of its window-2 headlines whose topic_key is the key most of its
window-1 headlines carried. The story ids are
never shown to the job; they are joined back on `id` only for scoring.

    python benchmarks/continuity.py                      # 2014-03-17..23, then 2014-03-20..26
    python benchmarks/continuity.py --start 2014-04-07 --out /tmp/continuity
    python benchmarks/continuity.py --rescore /tmp/continuity   # matching settings swept offline

--rescore re-matches the two finished runs' saved topics (topic_centroids.npz) under a grid of
tracking settings, without rerunning the pipeline, to show how sensitive the figure is to them.

Needs ../shared/data (see its README). Uses a fresh temporary embedding cache unless --cache-dir
is given, so it never reads or fills the user's cache.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"


def run_window(
    data: Path, out: Path, since: dt.date, until: dt.date, run_id: str, cache: Path, extra: list[str]
) -> float:
    """One run of the weekly job on the window, in this process; returns its seconds."""
    from cluster import run_week

    overrides = [
        f"input.since={since}",
        f"input.until={until}",
        "input.source_column=publisher",
        f"cache.dir={cache}",
        *extra,
    ]
    print(f"run_week(input={data}, output_dir={out}, run_id={run_id!r}, overrides={overrides})", flush=True)
    start = time.perf_counter()
    run_week(None, input=data, output_dir=out, run_id=run_id, overrides=overrides, progress=False)
    return time.perf_counter() - start


def read_headlines(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "headlines.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def score(first: pd.DataFrame, second: pd.DataFrame, data: Path) -> dict:
    """Share of shared stories' window-2 rows carrying the story's majority window-1 key."""
    stories = pd.read_csv(data, dtype=str, keep_default_na=False, usecols=["id", "story"])
    first = first[["id", "topic_key"]].merge(stories, on="id")
    second = second[["id", "topic_key"]].merge(stories, on="id")
    shared = sorted(set(first.story) & set(second.story))
    majority = (
        first[first.story.isin(shared)].groupby("story")["topic_key"].agg(lambda keys: keys.value_counts().index[0])
    )
    rows = second[second.story.isin(shared)].copy()
    rows["expected"] = rows.story.map(majority)
    rows["kept"] = (rows.topic_key == rows.expected) & (rows.expected != "")
    in_first = rows.id.isin(set(first.id))
    per_story = rows.groupby("story")["kept"].mean()
    # The best any matching could do: every window-2 row that was also in window 1 keeps exactly
    # the key it had there. Below 1 because window 1 itself splits some stories across topics.
    oracle = rows.id.map(dict(zip(first.id, first.topic_key))).fillna("")
    ceiling = (oracle == rows.expected) & (rows.expected != "")
    same_rows = first[["id", "topic_key"]].merge(second[["id", "topic_key"]], on="id", suffixes=("_1", "_2"))
    return {
        "shared_stories": len(shared),
        "window2_rows_of_shared_stories": len(rows),
        "continuity": round(float(rows.kept.mean()), 4),
        "continuity_rows_in_both_windows": round(float(rows.kept[in_first].mean()), 4) if in_first.any() else None,
        "continuity_rows_only_in_window2": round(float(rows.kept[~in_first].mean()), 4) if (~in_first).any() else None,
        "stories_fully_kept": round(float((per_story == 1).mean()), 4),
        "ceiling_if_every_repeated_row_kept_its_key": round(float(ceiling.mean()), 4),
        "rows_in_both_windows_with_the_same_key": round(
            float((same_rows.topic_key_1 == same_rows.topic_key_2).mean()), 4
        ),
        "stories_majority_unclustered_in_window1": int((majority == "").sum()),
    }


def centroid_scale(old, new) -> dict:
    """How alike centroids are for topic pairs that share headlines and for pairs that share none,
    the scale behind tracking.match_threshold (quoted in the README)."""
    import numpy as np

    from cluster.track import headline_overlap

    cosine = old.centroid.astype(np.float64) @ new.centroid.astype(np.float64).T
    overlap = headline_overlap(old, new)
    sharing = overlap >= 0.5
    unrelated = np.where(overlap == 0, cosine, -np.inf).max(axis=0)
    unrelated = unrelated[np.isfinite(unrelated)]
    return {
        "pairs_sharing_at_least_half_of_the_current_topic": int(sharing.sum()),
        "their_share_with_centroid_cosine_at_least_0.95": round(float((cosine[sharing] >= 0.95).mean()), 3),
        "closest_window1_topic_sharing_no_headline_cosine_median": round(float(np.median(unrelated)), 3),
        "closest_window1_topic_sharing_no_headline_cosine_p90": round(float(np.quantile(unrelated, 0.9)), 3),
    }


def rescore(out: Path, data: Path) -> None:
    """Continuity of the two runs in `out` under other tracking settings (same clustering)."""
    from cluster.config import TrackingConfig
    from cluster.runs import STATE_FILE
    from cluster.track import PreviousRun, TopicState, track_topics

    first = read_headlines(out / "window1")
    second = read_headlines(out / "window2")
    old = TopicState.load(out / "window1" / STATE_FILE)
    new = TopicState.load(out / "window2" / STATE_FILE)
    print(json.dumps(score(first, second, data), indent=2))
    print(json.dumps(centroid_scale(old, new), indent=2))
    print("threshold keyword_weight overlap_weight matched continuity")
    for threshold in (0.4, 0.5, 0.6, 0.7, 0.8):
        for keyword_weight in (0.0, 0.2):
            for overlap_weight in (0.0, 0.5, 1.0):
                cfg = TrackingConfig(
                    match_threshold=threshold, keyword_weight=keyword_weight, overlap_weight=overlap_weight
                )
                tracking = track_topics(new, PreviousRun("window1", old, 10**6), cfg)
                key_of = dict(zip(new.topic_id.astype(str), tracking.keys))
                relabelled = second.assign(topic_key=second.topic_id.map(key_of).fillna(""))
                result = score(first, relabelled, data)
                matched, continuity = tracking.report["matched"], result["continuity"]
                print(f"{threshold:9} {keyword_weight:14} {overlap_weight:14} {matched:7} {continuity:10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2014, 3, 17), help="day 1 of window 1")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary one)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: a fresh temporary one)")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="extra --set passed to both runs")
    parser.add_argument(
        "--rescore", type=Path, default=None, help="sweep tracking settings over finished runs in this folder"
    )
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"data not found: {args.data} (see ../shared/data/README.md)")
    if args.rescore:
        rescore(args.rescore, args.data)
        return
    scratch = Path(tempfile.mkdtemp(prefix="continuity-"))
    out = args.out or scratch / "out"
    cache = args.cache_dir or scratch / "cache"
    windows = [
        (args.start, args.start + dt.timedelta(days=6)),
        (args.start + dt.timedelta(days=3), args.start + dt.timedelta(days=9)),
    ]
    seconds = [
        run_window(args.data, out, since, until, f"window{i + 1}", cache, args.sets)
        for i, (since, until) in enumerate(windows)
    ]
    first, second = read_headlines(out / "window1"), read_headlines(out / "window2")
    result = {
        "windows": [f"{since}..{until}" for since, until in windows],
        "rows": [len(first), len(second)],
        "seconds": [round(s, 1) for s in seconds],
        **score(first, second, args.data),
        "tracking": json.loads((out / "window2" / "run.json").read_text())["tracking"],
        "output": str(out),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
