"""Do topic keys follow a subject from one week to the next? (issue #20)

Runs the weekly job (`cluster.run_week`, what `cluster run --week W` calls) on each ISO week of
the UCI News Aggregator dev file in order, into one output folder, then scores:

- **subject pairs**: two aggregator stories of consecutive weeks are the same subject when a
  headline text (case-folded) appears under both, counting only texts that occur under at most
  three stories of the whole input (boilerplate such as "(click the phrases to see a list)" links
  dozens of unrelated stories and does not count);
- each story's **topic** in a week is the topic holding most of its rows in that week's run
  (ties: the smaller topic_id; a story mostly unclustered has no key);
- **subject continuity** is the share of subject pairs whose two topics share a `topic_key`;
- **keys continuing**: how many keys of week W are still there in week W+1, summed over weeks.

Story ids are never shown to the job; the input's columns are carried through to
headlines.csv, and `story` is read back from there for scoring only. Review files are off in
these runs (`review.*=false`): they do not change topics, and they cost minutes.

    python benchmarks/subject_continuity.py --out /tmp/subj           # run the 8 weeks, then score
    python benchmarks/subject_continuity.py --score /tmp/subj         # score finished runs again
    python benchmarks/subject_continuity.py --rescore /tmp/subj       # replay tracking offline, a grid
    python benchmarks/subject_continuity.py --sample /tmp/subj -n 20  # topic pairs newly sharing a key

--rescore and --sample replay the tracker (`cluster.track.track_topics`) week by week over the
runs' saved topics (topic_centroids.npz) and headlines.csv, without clustering again: each week
is matched with the replayed state of the week before, as the real runs would have been under
those settings. Both can replay the rule before issue #20 (`--rule similarity`: each pair gains
min(sizes) · similarity) beside this code's (`margin`: min(sizes) · (similarity − threshold)).

The score also gives two ceilings for the same topics: the most subject pairs any tracker that
gives each topic one key could keep (the best one-to-one pairing of each week's topics with the
next week's, counting the subject pairs each topic pair carries, whatever the topics are), and
the same counting only topic pairs whose similarity reaches `tracking.match_threshold`.

Needs ../shared/data (see its README). Uses the user's embedding cache (a cold week takes
minutes; a rerun seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
WEEKS = [f"2014-W{w}" for w in range(11, 19)]  # Mondays 2014-03-10 ... 2014-04-28 (first and last partial)
MAX_STORIES_PER_TEXT = 3
NO_REVIEW = ["review.workbook=false", "review.map=false", "review.report=false"]


# -- running ---------------------------------------------------------------------------------


def run_weeks(data: Path, out: Path, weeks: list[str], extra: list[str]) -> list[float]:
    """`run_week` per week, in order, into `out`; returns the seconds of each."""
    from cluster import run_week

    seconds = []
    for week in weeks:
        overrides = [*NO_REVIEW, *extra]
        print(f"run_week(input={data}, week={week!r}, output_dir={out}, overrides={overrides})", flush=True)
        start = time.perf_counter()
        run_week(None, input=data, week=week, output_dir=out, overrides=overrides, progress=False)
        seconds.append(round(time.perf_counter() - start, 1))
        print(f"  {week}: {seconds[-1]} s", flush=True)
    return seconds


# -- the measure -----------------------------------------------------------------------------


def subject_pairs(data: Path, weeks: list[str]) -> pd.DataFrame:
    """(week, story, next week, next story) of every pair of stories of consecutive weeks that
    share a headline text found under at most MAX_STORIES_PER_TEXT stories of the input."""
    frame = pd.read_csv(data, dtype=str, keep_default_na=False, usecols=["headline", "story", "date"])
    frame["text"] = frame.headline.str.strip().str.casefold()
    iso = pd.to_datetime(frame.date, utc=True).dt.isocalendar()
    frame["week"] = [f"{y}-W{w:02d}" for y, w in zip(iso.year, iso.week)]
    spread = frame.groupby("text")["story"].nunique()
    rare = frame[frame.week.isin(weeks) & (frame.text.map(spread) <= MAX_STORIES_PER_TEXT)]
    where = rare[["text", "week", "story"]].drop_duplicates()
    rows = []
    for week, following in zip(weeks, weeks[1:]):
        a = where[where.week == week][["text", "story"]]
        b = where[where.week == following][["text", "story"]]
        joined = a.merge(b, on="text", suffixes=("", "_next"))
        for (story, story_next), texts in joined.groupby(["story", "story_next"])["text"]:
            rows.append((week, story, following, story_next, len(texts), texts.iloc[0]))
    return pd.DataFrame(rows, columns=["week", "story", "week_next", "story_next", "shared_texts", "example"])


def story_topics(headlines: pd.DataFrame) -> pd.Series:
    """Per story: the topic id holding most of its rows (ties: the smaller topic_id)."""
    counts = headlines.groupby(["story", "topic_id"]).size().reset_index(name="rows")
    counts["tid"] = counts.topic_id.astype(int)
    counts = counts.sort_values(["story", "rows", "tid"], ascending=[True, False, True])
    return counts.drop_duplicates("story").set_index("story")["tid"]


@dataclasses.dataclass
class Week:
    """One finished run, as the measure and the replay need it."""

    name: str
    state: Any  # cluster.track.TopicState as saved (the keys the run wrote)
    story_topic: pd.Series  # story -> topic id holding most of its rows
    labels: dict[int, str]
    headlines: dict[int, list[str]]  # topic id -> its most frequent headlines

    def index(self, topic_id: int) -> int | None:
        """Position of a topic in the state (None: unclustered)."""
        found = np.flatnonzero(self.state.topic_id == topic_id)
        return int(found[0]) if len(found) else None


def load_weeks(out: Path, weeks: list[str]) -> list[Week]:
    from cluster.runs import STATE_FILE
    from cluster.track import TopicState

    loaded = []
    for week in weeks:
        folder = out / week
        headlines = pd.read_csv(folder / "headlines.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        top = {int(t): g["headline"].value_counts().index[:3].tolist() for t, g in headlines.groupby("topic_id")}
        topics = pd.read_csv(folder / "topics.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        labels = dict(zip(topics.topic_id.astype(int), topics.label))
        state = TopicState.load(folder / STATE_FILE)
        loaded.append(Week(week, state, story_topics(headlines), labels, top))
    return loaded


def topic_pairs(loaded: list[Week], pairs: pd.DataFrame) -> list[tuple[int, int, int] | None]:
    """For each subject pair: (week number w ≥ 1, topic index in week w−1, topic index in week w)
    of the two stories' topics, or None when either story is mostly unclustered."""
    by_name = {week.name: w for w, week in enumerate(loaded)}
    result: list[tuple[int, int, int] | None] = []
    for row in pairs.itertuples():
        w = by_name[row.week_next]
        a, b = loaded[w - 1], loaded[w]
        i = a.index(int(a.story_topic.get(row.story, -1)))
        j = b.index(int(b.story_topic.get(row.story_next, -1)))
        result.append(None if i is None or j is None else (w, i, j))
    return result


def score(loaded: list[Week], pairs: pd.DataFrame, keys: list[np.ndarray]) -> dict[str, Any]:
    """Subject continuity and keys continuing when week w's topics carry keys[w] (state order)."""
    kept = [
        where is not None and keys[where[0] - 1][where[1]] == keys[where[0]][where[2]]
        for where in topic_pairs(loaded, pairs)
    ]
    continuing = [len(set(keys[w - 1]) & set(keys[w])) for w in range(1, len(keys))]
    return {
        "subject_pairs": len(pairs),
        "subject_pairs_kept": int(sum(kept)),
        "subject_continuity": round(float(np.mean(kept)), 4) if kept else None,
        "keys_continuing_total": int(sum(continuing)),
        "keys_continuing_per_week": continuing,
    }


def written_keys(loaded: list[Week]) -> list[np.ndarray]:
    return [week.state.topic_key.astype(str) for week in loaded]


def ceilings(loaded: list[Week], pairs: pd.DataFrame, cfg: Any) -> dict[str, Any]:
    """The most subject pairs a tracker giving each topic one key could keep on these topics,
    over all topic pairs and over those at or above the match threshold; and why pairs are out
    of reach: a story mostly unclustered, or two topics whose centroids are unalike (< 0.3)."""
    from scipy.optimize import linear_sum_assignment

    from cluster.track import similarity_matrix

    where = topic_pairs(loaded, pairs)
    carried = Counter(w for w in where if w is not None)
    best = {"any": 0, "at_threshold": 0}
    unalike = 0
    for w in range(1, len(loaded)):
        a, b = loaded[w - 1], loaded[w]
        counts = np.zeros((len(a.state.topic_id), len(b.state.topic_id)))
        for (v, i, j), n in carried.items():
            if v == w:
                counts[i, j] += n
        if not counts.any():
            continue
        similarity = similarity_matrix(a.state, b.state, cfg)
        cosine = a.state.centroid.astype(np.float64) @ b.state.centroid.astype(np.float64).T
        unalike += int(counts[cosine < 0.3].sum())
        for name, allowed in (
            ("any", counts),
            ("at_threshold", np.where(similarity >= cfg.match_threshold, counts, 0)),
        ):
            rows, cols = linear_sum_assignment(allowed, maximize=True)
            best[name] += int(allowed[rows, cols].sum())
    return {
        "ceiling_one_key_per_topic": round(best["any"] / len(pairs), 4),
        "ceiling_pairs_at_or_above_match_threshold": round(best["at_threshold"] / len(pairs), 4),
        "pairs_with_a_story_mostly_unclustered": sum(w is None for w in where),
        "pairs_whose_topics_have_centroid_cosine_below_0.3": unalike,
    }


# -- offline replay of the tracker -----------------------------------------------------------


def similarity_rule(
    similarity: np.ndarray, threshold: float, weight: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """The pairing before issue #20: each pair at or above the threshold gains weight · similarity."""
    from scipy.optimize import linear_sum_assignment

    if similarity.size == 0:
        return []
    gain = np.where(similarity >= threshold, similarity * (1.0 if weight is None else weight), 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if similarity[r, c] >= threshold]


@contextlib.contextmanager
def rule(name: str) -> Iterator[None]:
    """Replay with this code's pairing ("margin") or the one before issue #20 ("similarity")."""
    from cluster import track

    original = track.match_topics
    if name == "similarity":
        track.match_topics = similarity_rule
    try:
        yield
    finally:
        track.match_topics = original


def replay(loaded: list[Week], cfg: Any, rule_name: str = "margin") -> list[np.ndarray]:
    """Keys per week (state order) when the tracker runs week by week under `cfg`."""
    from cluster.track import PreviousRun, track_topics

    keys, previous = [], PreviousRun(None, None, 1)
    with rule(rule_name):
        for week in loaded:
            current = dataclasses.replace(week.state, topic_key=np.array([""] * len(week.state.topic_id)))
            tracking = track_topics(current, previous, cfg)
            keys.append(tracking.keys.astype(str))
            saved = dataclasses.replace(current, topic_key=tracking.keys.astype(str))  # as track_run saves it
            previous = PreviousRun(week.name, saved, int(tracking.report["next_key"]))
    return keys


def tracking_config(sets: list[str]) -> Any:
    from cluster.config import TrackingConfig

    values = {}
    for item in sets:
        name, _, value = item.partition("=")
        values[name.removeprefix("tracking.")] = json.loads(value)
    return TrackingConfig(**values)


GRID: list[list[str]] = [
    [],
    ["match_threshold=0.5"],
    ["match_threshold=0.55"],
    ["match_threshold=0.65"],
    ["match_threshold=0.7"],
    ["keyword_weight=0.1"],
    ["keyword_weight=0.2"],
    ["keyword_weight=0.2", "match_threshold=0.5"],
    ["overlap_weight=0"],
    ["overlap_weight=1.0"],
]


def rescore(out: Path, data: Path, weeks: list[str]) -> None:
    pairs = subject_pairs(data, weeks)
    loaded = load_weeks(out, weeks)
    print("as written:", json.dumps(score(loaded, pairs, written_keys(loaded))))
    print(f"{'settings':45} {'rule':>10} {'subject':>8} {'kept':>5} {'keys continuing':>16}")
    for sets in GRID:
        for rule_name in ("similarity", "margin"):
            result = score(loaded, pairs, replay(loaded, tracking_config(sets), rule_name))
            name = " ".join(sets) or "(defaults)"
            print(
                f"{name:45} {rule_name:>10} {result['subject_continuity']:8} {result['subject_pairs_kept']:5} "
                f"{result['keys_continuing_total']:16}",
                flush=True,
            )


# -- reading what changed ----------------------------------------------------------------------


def shared_keys(keys: list[np.ndarray]) -> set[tuple[int, int, int]]:
    """(week number w ≥ 1, topic index in week w−1, topic index in week w) of every topic pair of
    consecutive weeks that shares a key."""
    shared = set()
    for w in range(1, len(keys)):
        previous = {k: i for i, k in enumerate(keys[w - 1])}
        shared |= {(w, previous[k], j) for j, k in enumerate(keys[w]) if k in previous}
    return shared


def describe(week: Week, j: int, key: str) -> str:
    tid = int(week.state.topic_id[j])
    lines = [f"{week.name} topic {tid} `{key}` ({int(week.state.size[j])} rows): **{week.labels.get(tid, '')}**"]
    lines += [f"    - {h}" for h in week.headlines.get(tid, [])]
    return "\n".join(lines)


def sample(out: Path, data: Path, weeks: list[str], before: list[str], after: list[str], n: int, seed: int) -> None:
    """Topic pairs of consecutive weeks that share a key with this code's rule under `after`
    but not with the rule before issue #20 under `before`, and the reverse; a random sample of
    each, with the pair's similarity and the subject pairs (story pairs) it carries."""
    from cluster.track import similarity_matrix

    pairs = subject_pairs(data, weeks)
    loaded = load_weeks(out, weeks)
    cfg = tracking_config(after)
    keys_before = replay(loaded, tracking_config(before), "similarity")
    keys_after = replay(loaded, cfg, "margin")
    was, now = shared_keys(keys_before), shared_keys(keys_after)
    carried = Counter(w for w in topic_pairs(loaded, pairs) if w is not None)
    print(
        f"before (similarity rule, {' '.join(before) or 'defaults'}): {json.dumps(score(loaded, pairs, keys_before))}"
    )
    print(f"after (margin rule, {' '.join(after) or 'defaults'}): {json.dumps(score(loaded, pairs, keys_after))}")
    rng = np.random.default_rng(seed)
    similarity: dict[int, np.ndarray] = {}
    for title, chosen, keys in (
        ("newly share a key", sorted(now - was), keys_after),
        ("no longer share a key", sorted(was - now), keys_before),
    ):
        print(f"\n## {len(chosen)} topic pairs {title}; a random sample of {min(n, len(chosen))}\n")
        picked = sorted(rng.choice(len(chosen), size=min(n, len(chosen)), replace=False)) if chosen else []
        for number, index in enumerate(picked, 1):
            w, i, j = chosen[index]
            a, b = loaded[w - 1], loaded[w]
            if w not in similarity:
                similarity[w] = similarity_matrix(a.state, b.state, cfg)
            print(f"{number}. similarity {similarity[w][i, j]:.3f}; subject pairs it carries: {carried[(w, i, j)]}")
            print(describe(a, i, str(keys[w - 1][i])))
            print(describe(b, j, str(keys[w][j])))
            print()


def code_version() -> str | None:
    """The commit this checkout is at, and whether it has changes (scoring only reads files)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, help="run the weeks into this folder, then score")
    parser.add_argument("--score", type=Path, help="score the finished runs in this folder")
    parser.add_argument("--rescore", type=Path, help="replay tracking under a grid of settings, both rules")
    parser.add_argument("--sample", type=Path, help="print topic pairs that newly share a key, and the reverse")
    parser.add_argument("--weeks", nargs="*", default=WEEKS)
    parser.add_argument("--run-set", dest="run_sets", action="append", default=[], help="a --set for the runs")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="--sample: tracking setting, after")
    parser.add_argument("--before", action="append", default=[], help="--sample: tracking setting, before")
    parser.add_argument("-n", type=int, default=20, help="--sample: pairs shown of each kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"data not found: {args.data} (see ../shared/data/README.md)")
    if args.rescore:
        rescore(args.rescore, args.data, args.weeks)
        return
    if args.sample:
        sample(args.sample, args.data, args.weeks, args.before, args.sets, args.n, args.seed)
        return
    if not (args.out or args.score):
        parser.error("give --out, --score, --rescore or --sample")
    seconds = run_weeks(args.data, args.out, args.weeks, args.run_sets) if args.out else None
    folder = args.out or args.score
    pairs = subject_pairs(args.data, args.weeks)
    loaded = load_weeks(folder, args.weeks)
    manifests = [json.loads((folder / week / "run.json").read_text()) for week in args.weeks]
    cfg = tracking_config([f"{k}={json.dumps(v)}" for k, v in manifests[-1]["config"]["tracking"].items()])
    result = {
        "weeks": args.weeks,
        "topics": [len(week.state.topic_id) for week in loaded],
        **score(loaded, pairs, written_keys(loaded)),
        **ceilings(loaded, pairs, cfg),
        "matched": [m["tracking"]["matched"] for m in manifests],
        "code": code_version(),
        "seconds": seconds,
        "output": str(folder),
        "measured": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
