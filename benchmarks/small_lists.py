"""Short lists: how well the job groups lists of 20-300 headlines drawn from a few real stories.

A list like the "related stories" block of an article (examples/related_stories.txt) is far below
the size UMAP and HDBSCAN need; below `clustering.small_input_below` distinct headlines the job
groups them directly (`cluster.clustering.group_headlines`). This benchmark draws many such lists
with fixed seeds from the UCI dev weeks of ../shared/data: each list takes 5-15 of a week's
aggregator stories (at least two distinct headlines from each) and 20-300 distinct headlines in
all, the rest drawn at random from the chosen stories, so large stories weigh more, as they do in
the news. Each list runs through the real job (read, clean, embed with the configured model, fit,
label) and is scored against the story ids, which the job never sees.

    python benchmarks/small_lists.py                                      # 20 lists per dev week
    python benchmarks/small_lists.py --set clustering.small_input_below=0 # the same lists through UMAP + HDBSCAN
    python benchmarks/small_lists.py --weeks 2014-03-31 2014-04-21        # the weeks kept out of tuning

It prints one line per list, then the mean NMI, ARI and unassigned share, overall and by list
size, and the groups the job makes of examples/related_stories.txt.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DEFAULT_DATA, DEV_WEEKS, REPO, majority_labels, week_input  # noqa: E402

SIZES = {"below 50": 49, "50-149": 149, "150-300": 300, "301-1000": 1000, "above 1000": np.inf}


def week_stories(data: Path, monday: str) -> pd.DataFrame:
    """The week's distinct cleaned headlines with the story (and category) most of their rows carry."""
    _, prepared, labels = week_input(data, monday, [])
    return majority_labels(labels[["story", "label"]], prepared.unique.row_to_unique).assign(
        headline=prepared.unique.texts
    )


def draw_list(
    stories: pd.DataFrame,
    rng: np.random.Generator,
    sizes_range: tuple[int, int] = (20, 300),
    stories_range: tuple[int, int] = (5, 15),
) -> pd.DataFrame:
    """5-15 stories with two or more headlines each; 20-300 distinct headlines in all (or as
    many as the stories have). Other ranges show where the direct path stops paying."""
    sizes = stories.story.value_counts()
    eligible = sorted(sizes[sizes >= 2].index)
    k = int(rng.integers(stories_range[0], stories_range[1] + 1))
    n = int(rng.integers(max(sizes_range[0], 2 * k), sizes_range[1] + 1))
    chosen = rng.choice(eligible, size=k, replace=False)
    pool = stories[stories.story.isin(chosen)]
    first = np.concatenate([rng.choice(pool.index[pool.story == story], size=2, replace=False) for story in chosen])
    rest = pool.index.difference(first)
    extra = rng.choice(rest, size=min(len(rest), n - len(first)), replace=False)
    picked = rng.permutation(np.concatenate([first, extra]))
    return stories.loc[picked].reset_index(drop=True)


def run_list(headlines: pd.DataFrame, overrides: list[str], folder: Path) -> tuple[np.ndarray, str]:
    """The job's topic of every headline of the list, and the fit mode run.json reports."""
    from cluster.pipeline import prepare_input, run
    from cluster.plan import plan_week

    path = folder / "list.csv"
    headlines[["headline"]].assign(id=np.arange(len(headlines))).to_csv(path, index=False)
    plan = plan_week(None, input=path, previous="none", overrides=["cache.enabled=false", *overrides])
    tables, record = run(plan.config, prepare_input(plan.config, plan.window), "small", progress=False)
    topics = tables.headlines.set_index(tables.headlines["id"].astype(int))["topic_id"]
    assert record.fit is not None
    return topics.reindex(np.arange(len(headlines)), fill_value=-1).to_numpy(), record.fit.mode


def seed_groups(overrides: list[str]) -> str:
    """The groups the job makes of the seed article's related-stories list."""
    from cluster import run_week

    with tempfile.TemporaryDirectory() as scratch:
        run_week(None, input=REPO / "examples" / "related_stories.txt", output_dir=Path(scratch), run_id="seed",
                 overrides=["cache.enabled=false", "review.workbook=false", "review.map=false", "review.report=false",
                            *overrides], progress=False)  # fmt: skip
        headlines = pd.read_csv(Path(scratch) / "seed" / "headlines.csv", dtype=str, keep_default_na=False,
                                encoding="utf-8-sig")  # fmt: skip
    lines = []
    for topic, rows in sorted(headlines.groupby("topic_id"), key=lambda item: int(item[0]) if item[0] != "-1" else 1e9):
        lines.append(f"topic {topic} ({len(rows)}):")
        lines.extend(f"    {text}" for text in rows.headline)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS, help="Mondays (YYYY-MM-DD) to draw stories from")
    parser.add_argument("--lists", type=int, default=20, help="lists per week")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sizes", type=int, nargs=2, default=(20, 300), metavar=("MIN", "MAX"), help="headlines a list"
    )
    parser.add_argument("--stories", type=int, nargs=2, default=(5, 15), metavar=("MIN", "MAX"), help="stories a list")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="config override")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    from cluster.evaluate import evaluate_topics

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for w, week in enumerate(args.weeks):
            stories = week_stories(args.data, week)
            rng = np.random.default_rng([args.seed, w])
            for i in range(args.lists):
                headlines = draw_list(stories, rng, tuple(args.sizes), tuple(args.stories))
                start = time.perf_counter()
                topics, mode = run_list(headlines, args.overrides, Path(scratch))
                scores = evaluate_topics(topics, headlines.story, headlines.label, "story", "label")
                row = {
                    "week": week,
                    "list": i,
                    "headlines": len(headlines),
                    "stories": headlines.story.nunique(),
                    "mode": mode,
                    "nmi": scores.unassigned_as_one_cluster["nmi"],
                    "ari": scores.unassigned_as_one_cluster["ari"],
                    "unassigned": scores.unassigned_share,
                    "topics": scores.n_topics,
                    "seconds": time.perf_counter() - start,
                }
                rows.append(row)
                print(
                    f"{week} #{i:2d}: {row['headlines']:3d} headlines, {row['stories']:2d} stories, {mode}: "
                    f"{row['topics']:2d} topics, NMI {row['nmi']:.3f}, ARI {row['ari']:.3f}, "
                    f"unassigned {row['unassigned']:.0%} ({row['seconds']:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    table = pd.DataFrame(rows)
    table["size"] = pd.cut(table.headlines, [0, *SIZES.values()], labels=list(SIZES))
    summary = table.groupby("size", observed=True)[["nmi", "ari", "unassigned"]].mean()
    summary.loc["all"] = table[["nmi", "ari", "unassigned"]].mean()
    summary["lists"] = [*table.groupby("size", observed=True).size(), len(table)]
    print(f"settings: {args.overrides or 'defaults'}; weeks {', '.join(args.weeks)}; seed {args.seed}")
    print("| list size | lists | mean NMI | mean ARI | mean unassigned |\n|---|---|---|---|---|")
    for size, line in summary.iterrows():
        print(f"| {size} | {int(line.lists)} | {line.nmi:.3f} | {line.ari:.3f} | {line.unassigned:.1%} |")
    print(f"lowest NMI {table.nmi.min():.3f}, highest unassigned {table.unassigned.max():.0%}")
    print(f"lists by fit mode: {table['mode'].value_counts().to_dict()}")
    print("\nexamples/related_stories.txt:")
    print(seed_groups(args.overrides))
    return 0


if __name__ == "__main__":
    sys.exit(main())
