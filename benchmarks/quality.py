"""Quality benchmark: this project's defaults against BERTopic and two k-means oracles.

On each UCI dev week (Monday to Sunday) of ../shared/data, every system clusters the same
headlines and is scored against the aggregator's `story` ids (and the 4 categories):

- headline-cluster: the built-in default config, the real pipeline (`prepare_input` + `run`);
- BERTopic 0.17 with its default UMAP/HDBSCAN settings (UMAP seeded for reproducibility);
- MiniLM embeddings → k-means told the true number of stories (an oracle);
- TF-IDF → LSA(200) → k-means told the true number of stories (an oracle).

All embedding systems get the same MiniLM vectors of the same cleaned, deduplicated headlines,
cached in --cache-dir so the comparison is fair and a rerun is quick. The story and category
columns are withheld from the pipeline; dates are used only to select the week.

    pip install -e ".[bench]"
    python benchmarks/quality.py                     # all systems, the four dev weeks
    python benchmarks/quality.py --weeks 2014-03-24 --systems headline-cluster bertopic
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
DEV_WEEKS = ["2014-03-17", "2014-03-24", "2014-04-07", "2014-04-14"]
SYSTEMS = ["headline-cluster", "bertopic", "minilm-kmeans-oracle", "tfidf-lsa-kmeans-oracle"]
SEED = 42


def week_input(data: Path, monday: str, overrides: list[str]):
    """The week's rows through the project's own read/window/clean/dedupe, labels withheld."""
    from cluster.evaluate import withhold_labels
    from cluster.pipeline import prepare_input
    from cluster.plan import plan_week

    start = dt.date.fromisoformat(monday)
    window = [f"input.since={start}", f"input.until={start + dt.timedelta(days=6)}"]
    # no cache: every system is timed doing its whole job on the shared vectors
    plan = plan_week(None, input=data, previous="none", overrides=[*overrides, *window, "cache.enabled=false"])
    prepared = prepare_input(plan.config, plan.window)
    prepared, labels = withhold_labels(prepared, ["story", "label"], plan.config.input.text_column)
    return plan.config, prepared, labels


def majority_labels(labels: pd.Series | pd.DataFrame, row_to_unique: np.ndarray) -> pd.DataFrame:
    """One row per distinct text (in the order of the unique texts): the label each column has
    on most of the text's rows. `labels` holds one row per accepted row."""
    frame = pd.DataFrame(labels).reset_index(drop=True)
    majority = frame.groupby(np.asarray(row_to_unique)).agg(lambda values: values.value_counts().index[0])
    return majority.sort_index().reset_index(drop=True)


STORY_HEADER = "| week | labelling | NMI | ARI | hom. | compl. |\n|---|---|---|---|---|---|"


def story_row(week: str, name: str, stories: pd.Series, topics: np.ndarray) -> str:
    """One row under STORY_HEADER: per-row `topics` scored against the story ids."""
    from cluster.evaluate import score

    scores = score(stories, topics)
    return (
        f"| {week} | {name} | {scores['nmi']:.3f} | {scores['ari']:.3f} | "
        f"{scores['homogeneity']:.3f} | {scores['completeness']:.3f} |"
    )


def cached_vectors(texts: list[str], embedding, cache_dir: Path) -> np.ndarray:
    """The configured model's vectors of the unique texts (by the configured backend), computed
    once and kept as .npy keyed by the texts, the model and the backend."""
    from cluster.embed import embed_texts, pick_backend, resolve_model, route_for

    backend = pick_backend(embedding.backend, embedding.device, resolve_model(embedding.model))
    tag = [embedding.model] if backend == "torch" else [embedding.model, backend]  # torch: the old files
    key = hashlib.sha256(("\n".join([*tag, *texts])).encode("utf-8")).hexdigest()[:24]
    path = cache_dir / f"vectors-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = embed_texts(texts, route_for(embedding), batch_size=embedding.batch_size, progress=False)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npy")
    np.save(temporary, vectors)
    temporary.replace(path)
    return vectors


def run_headline_cluster(cfg, prepared, vectors, texts, k):
    from cluster.pipeline import run

    tables, _ = run(cfg, prepared, "benchmark", progress=False, vectors=vectors)
    return tables.headlines["topic_id"].to_numpy()


def run_bertopic(cfg, prepared, vectors, texts, k):
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    # BERTopic 0.17's defaults, spelled out; only random_state is added so runs reproduce.
    umap_model = UMAP(
        n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False, random_state=SEED
    )
    hdbscan_model = HDBSCAN(
        min_cluster_size=10, metric="euclidean", cluster_selection_method="eom", prediction_data=True
    )
    rows = prepared.unique.row_to_unique
    topics, _ = BERTopic(umap_model=umap_model, hdbscan_model=hdbscan_model).fit_transform(
        [texts[i] for i in rows], embeddings=vectors[rows]
    )
    return np.asarray(topics)


def run_minilm_kmeans(cfg, prepared, vectors, texts, k):
    from sklearn.cluster import KMeans

    rows = prepared.unique.row_to_unique
    return KMeans(n_clusters=k, n_init=1, random_state=SEED).fit_predict(vectors[rows])


def run_tfidf_kmeans(cfg, prepared, vectors, texts, k):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    rows = prepared.unique.row_to_unique
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform([texts[i] for i in rows])
    lsa = normalize(TruncatedSVD(n_components=200, random_state=SEED).fit_transform(tfidf))
    return KMeans(n_clusters=k, n_init=1, random_state=SEED).fit_predict(lsa)


RUNNERS = {
    "headline-cluster": run_headline_cluster,
    "bertopic": run_bertopic,
    "minilm-kmeans-oracle": run_minilm_kmeans,
    "tfidf-lsa-kmeans-oracle": run_tfidf_kmeans,
}


def markdown_table(rows: list[dict]) -> str:
    columns = [
        ("week", "week", "{}"),
        ("system", "system", "{}"),
        ("rows", "headlines", "{}"),
        ("nmi", "NMI", "{:.3f}"),
        ("ari", "ARI", "{:.3f}"),
        ("v_measure", "V", "{:.3f}"),
        ("homogeneity", "hom.", "{:.3f}"),
        ("completeness", "compl.", "{:.3f}"),
        ("nmi_singletons", "NMI (singl.)", "{:.3f}"),
        ("ari_singletons", "ARI (singl.)", "{:.3f}"),
        ("n_topics", "topics", "{}"),
        ("unassigned_share", "unassigned", "{:.1%}"),
        ("category_homogeneity", "category hom.", "{:.3f}"),
        ("seconds", "seconds", "{:.0f}"),
    ]
    lines = ["| " + " | ".join(title for _, title, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(row[key]) for key, _, fmt in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS, help="Mondays (YYYY-MM-DD)")
    parser.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    parser.add_argument(
        "--set", action="append", default=[], dest="overrides", help="config override for headline-cluster"
    )
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")

    from cluster.evaluate import evaluate_topics

    rows: list[dict] = []
    for week in args.weeks:
        cfg, prepared, labels = week_input(args.data, week, args.overrides)
        texts = prepared.unique.texts
        start = time.perf_counter()
        vectors = cached_vectors(texts, cfg.embedding, args.cache_dir)
        print(
            f"# {week}: {len(prepared.accepted)} headlines, {len(texts)} distinct, "
            f"{labels['story'].nunique()} stories; vectors in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
        )
        k = int(labels["story"].nunique())
        for system in args.systems:
            start = time.perf_counter()
            topics = RUNNERS[system](cfg, prepared, vectors, texts, k)
            seconds = time.perf_counter() - start
            evaluation = evaluate_topics(topics, labels["story"], labels["label"], "story", "label")
            row = {
                "week": week,
                "system": system,
                "rows": evaluation.rows,
                "seconds": seconds,
                **evaluation.unassigned_as_one_cluster,
                "nmi_singletons": evaluation.unassigned_as_singletons["nmi"],
                "ari_singletons": evaluation.unassigned_as_singletons["ari"],
                "n_topics": evaluation.n_topics,
                "unassigned_share": evaluation.unassigned_share,
                "category_homogeneity": evaluation.category_homogeneity["unassigned_as_one_cluster"],
            }
            rows.append(row)
            print(markdown_table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    print(markdown_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
