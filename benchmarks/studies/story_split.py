"""Does splitting the job's large topics bring them closer to the aggregator's stories?

The counterpart of the merge pass: inside every topic of at least --min-size distinct headlines,
group its headlines by average linkage on a blend of their embeddings and their words, with the
words' TF-IDF fitted inside the topic (words in more than 20% of the topic's headlines dropped,
so the subject the whole topic shares stops counting and the details that might tell its stories
apart remain). Cut at each --cuts similarity; parts smaller than --min-part headlines go back to
the part they are most similar to on average. Each result is scored against the story ids.

    python benchmarks/studies/story_split.py                  # 2014-03-24 and 2014-04-14
    python benchmarks/studies/story_split.py --weeks 2014-03-17 --cuts 0.2 0.3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/, for quality.py
from quality import (  # noqa: E402
    DEFAULT_DATA,
    REPO,
    STORY_HEADER,
    cached_vectors,
    run_headline_cluster,
    story_row,
    week_input,
)


def split_topics(
    labels: np.ndarray, texts: list[str], vectors: np.ndarray, cut: float, min_size: int, min_part: int
) -> np.ndarray:
    """Labels of distinct headlines with every large topic split at blended similarity `cut`."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    result, next_id = labels.copy(), labels.max() + 1
    for topic in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == topic)
        if len(members) < min_size:
            continue
        similarity = vectors[members] @ vectors[members].T
        try:
            words = TfidfVectorizer(stop_words="english", max_df=0.2, min_df=2, sublinear_tf=True).fit_transform(
                [texts[i] for i in members]
            )
            similarity = (similarity + (words @ words.T).toarray()) / 2.0
        except ValueError:  # no word left inside the topic: embeddings alone
            pass
        distance = np.clip(1.0 - similarity, 0.0, None)
        np.fill_diagonal(distance, 0.0)
        parts = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - cut
        ).fit_predict(distance)
        sizes = np.bincount(parts)
        kept = np.flatnonzero(sizes >= min_part)
        if len(kept) <= 1:
            continue
        for small in np.flatnonzero(sizes < min_part):
            inside = parts == small
            parts[inside] = kept[np.argmax([similarity[np.ix_(inside, parts == k)].mean() for k in kept])]
        for k in kept[1:]:
            result[members[parts == k]] = next_id
            next_id += 1
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=["2014-03-24", "2014-04-14"])
    parser.add_argument("--cuts", type=float, nargs="+", default=[0.15, 0.2, 0.3, 0.4])
    parser.add_argument("--min-size", type=int, default=40)
    parser.add_argument("--min-part", type=int, default=10)
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    header, rule = STORY_HEADER.split("\n")
    print(f"{header} topics (count) |\n{rule}---|")
    for week in args.weeks:
        cfg, prepared, labels = week_input(args.data, week, [])
        texts, rows = prepared.unique.texts, prepared.unique.row_to_unique
        vectors = cached_vectors(texts, cfg.embedding, args.cache_dir)
        row_topics = run_headline_cluster(cfg, prepared, vectors, texts, None)
        topics = np.full(len(texts), -1, dtype=np.int64)
        topics[rows] = row_topics  # every copy of a text has its text's topic
        variants = {"the job (default config)": topics}
        for cut in args.cuts:
            variants[f"split at {cut}"] = split_topics(topics, texts, vectors, cut, args.min_size, args.min_part)
        for name, variant in variants.items():
            count = len(set(variant.tolist()) - {-1})
            print(f"{story_row(week, name, labels['story'], variant[rows])} {count} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
