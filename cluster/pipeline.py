"""One function per stage boundary, and `run` that wires them: read → clean → embed → reduce →
cluster → label → write. Heavy libraries are imported by the stages that need them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

from cluster import __version__
from cluster.clean import (
    CLEAN_TEXT,
    Deduplicated,
    Window,
    clean_headlines,
    deduplicate,
    parse_dates,
    resolve_window,
    split_by_window,
)
from cluster.clustering import (
    BY_NONE,
    UNCLUSTERED,
    assign_outliers,
    merge_similar_topics,
    cluster_points,
    number_topics_by_size,
    resolve_min_cluster_size,
    topic_centroids,
)
from cluster.config import Config
from cluster.errors import InputError
from cluster.read import InputFile, read_headlines, require_column
from cluster.track import STATE_FILE, PreviousRun, TopicState, add_tracking_columns, topic_state, track_topics

if TYPE_CHECKING:
    from cluster.cache import EmbeddingCache

log = logging.getLogger(__name__)

ADDED_COLUMNS = ["topic_id", "topic_key", "topic_label", "topic_confidence", "assigned_by", "map_x", "map_y"]


@dataclass
class StageTimer:
    """Seconds spent per stage, for the manifest."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


@dataclass(frozen=True)
class PreparedInput:
    """The week's rows after reading, windowing and cleaning; everything the model stages need."""

    accepted: pd.DataFrame  # input columns plus CLEAN_TEXT, in input order
    rejected: pd.DataFrame  # input columns plus `reason`
    unique: Deduplicated
    files: list[InputFile]
    window: Window | None
    counts: dict[str, int]
    input_columns: list[str]
    seconds: float = 0.0  # time spent reading and cleaning


def prepare_input(cfg: Config, today: dt.date | None = None) -> PreparedInput:
    """Read, select the window and clean: fast, no model. Raises InputError on unusable input."""
    start = time.perf_counter()
    if not cfg.input.path:
        raise InputError("no input given: pass --input PATH or set input.path in the config")
    read = read_headlines(cfg.input.path, cfg.input.format, cfg.input.encoding)
    frame = read.frame
    require_column(frame, cfg.input.text_column)
    # `reason` is added to rejected rows and CLEAN_TEXT is a working column: neither may be overwritten
    clashes = [column for column in [*ADDED_COLUMNS, "reason", CLEAN_TEXT] if column in frame.columns]
    if clashes:
        raise InputError(f"input columns {clashes} clash with columns the job adds; rename them in the input")
    window = resolve_window(cfg.input, today)
    rejected_parts: list[pd.DataFrame] = []
    outside = 0
    if window is not None:
        require_column(frame, cfg.input.date_column, role="date")
        split = split_by_window(frame, cfg.input.date_column, window)
        outside = len(split.outside)
        if len(split.inside) == 0:
            raise InputError(
                f"all {len(frame)} rows fall outside the date window {window.describe()} "
                f"({len(split.undated)} without a readable date); widen the window or check input.date_column"
            )
        undated = frame.loc[split.undated].copy()
        undated["reason"] = f"missing or unreadable {cfg.input.date_column!r} while a date window is set"
        rejected_parts.append(undated)
        frame = frame.loc[split.inside]
    cleaned = clean_headlines(frame, cfg.input.text_column, cfg.cleaning)
    rejected_parts.append(cleaned.rejected)
    rejected = pd.concat(rejected_parts).sort_index()
    if cleaned.accepted.empty:
        raise InputError(
            f"no usable headlines: all {len(frame)} rows in the window were rejected "
            f"({rejected['reason'].value_counts().to_dict()}); check input.text_column"
        )
    unique = deduplicate(cleaned.accepted[CLEAN_TEXT])
    counts = {
        "read": len(read.frame),
        "outside_window": outside,
        "rejected": len(rejected),
        "accepted": len(cleaned.accepted),
        "unique": len(unique.texts),
    }
    if counts["read"] != counts["outside_window"] + counts["rejected"] + counts["accepted"]:
        raise RuntimeError(f"row accounting does not add up: {counts}")  # a bug, never the input
    return PreparedInput(
        accepted=cleaned.accepted,
        rejected=rejected,
        unique=unique,
        files=read.files,
        window=window,
        counts=counts,
        input_columns=list(read.frame.columns),
        seconds=round(time.perf_counter() - start, 3),
    )


def withhold_columns(
    prepared: PreparedInput, columns: list[str], text_column: str = "headline"
) -> tuple[PreparedInput, pd.DataFrame]:
    """Take columns (e.g. evaluation labels) out of the accepted rows; returns them aside."""
    from dataclasses import replace

    if len(set(columns)) != len(columns):
        raise InputError("--label-column and --category-column name the same column; give two different ones")
    for column in columns:
        require_column(prepared.accepted, column, role="label", setting="--label-column / --category-column")
        if column == text_column:
            raise InputError(f"{column!r} is the headline column; the labels must be in another column")
    held_out = prepared.accepted[columns].reset_index(drop=True)
    return replace(prepared, accepted=prepared.accepted.drop(columns=columns)), held_out


def window_record(window: Window | None) -> dict[str, str] | None:
    """The date window as run.json records it."""
    if window is None:
        return None
    return {"since": str(window.since or ""), "until": str(window.until or "")}


def fingerprint(cfg: Config, prepared: PreparedInput) -> str:
    """Identifies runs that repeat the same computation (see `cluster.track.run_fingerprint`)."""
    from cluster.track import run_fingerprint

    return run_fingerprint(cfg.model_dump(mode="json"), [vars(f) for f in prepared.files], window_record(prepared.window))


@dataclass(frozen=True)
class RunResult:
    """Everything a run writes."""

    topics: pd.DataFrame
    headlines: pd.DataFrame
    rejected: pd.DataFrame
    manifest: dict[str, Any]
    vectors: np.ndarray = field(repr=False)  # unique-headline embeddings, for later stages
    changes: pd.DataFrame | None = None  # new and faded topics since the previous run
    topic_state: TopicState | None = field(default=None, repr=False)  # what the next run matches against


def _library_versions() -> dict[str, str]:
    names = ["sentence-transformers", "transformers", "torch", "umap-learn", "scikit-learn", "numpy", "pandas"]
    versions = {"python": platform.python_version(), "headline-cluster": __version__}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _fallback_map(vectors: np.ndarray) -> np.ndarray:
    """2-D coordinates when there are too few headlines for UMAP: the first two principal axes."""
    if len(vectors) < 3:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return (centred @ axes[:2].T).astype(np.float32)


def build_topic_table(
    prepared: PreparedInput,
    row_topics: np.ndarray,
    descriptions: dict[int, Any],
    cohesion: dict[int, float],
    cfg: Config,
) -> pd.DataFrame:
    """One row per topic, largest first, the unclustered row (-1) last."""
    total = len(row_topics)
    accepted = prepared.accepted
    has_dates = cfg.input.date_column in accepted.columns
    has_sources = cfg.input.source_column in accepted.columns
    dates = parse_dates(accepted[cfg.input.date_column]) if has_dates else None
    rows = []
    topic_ids = sorted(int(t) for t in np.unique(row_topics) if t != UNCLUSTERED)
    if (row_topics == UNCLUSTERED).any():
        topic_ids.append(UNCLUSTERED)
    for topic in topic_ids:
        members = row_topics == topic
        description = descriptions[topic]
        representatives = description.representatives + [""] * (3 - len(description.representatives))
        row: dict[str, Any] = {
            "topic_id": topic,
            "label": description.label,
            "size": int(members.sum()),
            "share": members.sum() / total,
            "keywords": "; ".join(description.keywords),
            "representative_1": representatives[0],
            "representative_2": representatives[1],
            "representative_3": representatives[2],
            "cohesion": cohesion.get(topic, np.nan),
        }
        if dates is not None:
            topic_dates = dates[members].dropna()
            row["first_date"] = topic_dates.min().date().isoformat() if len(topic_dates) else ""
            row["last_date"] = topic_dates.max().date().isoformat() if len(topic_dates) else ""
        if has_sources:
            sources = accepted.loc[members, cfg.input.source_column].astype(str).str.strip()
            row["n_sources"] = int(sources[sources != ""].nunique())
        rows.append(row)
    return pd.DataFrame(rows)


def run(
    cfg: Config,
    prepared: PreparedInput,
    run_id: str,
    progress: bool | None = None,
    previous: PreviousRun | None = None,
    vectors: np.ndarray | None = None,
) -> RunResult:
    """Embed, reduce, cluster, label and track a prepared week; returns the tables and the manifest.

    `previous` is the run to match topics against (see `cluster.track.find_previous_run`).
    `vectors` may hold the unique headlines' embeddings already (from `cfg.embedding.model`),
    e.g. when a benchmark compares several systems on the same embeddings.
    """
    from cluster.cache import open_cache

    cache = open_cache(cfg.cache)
    try:
        return _run_stages(cfg, prepared, run_id, progress, previous, vectors, cache)
    except BaseException:
        # finish_cache closes it after a good run; after a failure close it here, so that a
        # library caller who carries on does not keep the SQLite file open
        if cache is not None:
            cache.close()
        raise


def _run_stages(
    cfg: Config,
    prepared: PreparedInput,
    run_id: str,
    progress: bool | None,
    previous: PreviousRun | None,
    vectors: np.ndarray | None,
    cache: EmbeddingCache | None,
) -> RunResult:
    """The body of `run`, with the embedding cache already open."""
    from cluster.cache import CacheStats, Embedded, embed_with_cache, finish_cache, reduce_with_cache
    from cluster.embed import resolve_model
    from cluster.label import describe_topics
    from cluster.reduce import too_few_to_reduce, word_vectors

    timer = StageTimer(seconds={"read_clean": prepared.seconds})
    started = dt.datetime.now(dt.timezone.utc)
    unique = prepared.unique
    weights = unique.counts.astype(float)
    n_unique = len(unique.texts)

    if vectors is None:
        log.info("%d unique headlines (%d rows) to embed", n_unique, prepared.counts["accepted"])
        embedded = embed_with_cache(unique.texts, cfg, cache, timer, progress)
    elif vectors.shape[0] != n_unique:
        raise ValueError(f"{vectors.shape[0]} vectors given for {n_unique} unique headlines")
    else:
        embedded = Embedded(vectors, resolve_model(cfg.embedding.model), None, CacheStats(enabled=False))
    vectors, source, device = embedded.vectors, embedded.source, embedded.device

    min_cluster_size = resolve_min_cluster_size(cfg.clustering.min_cluster_size, n_unique)
    warnings_: list[str] = []
    if too_few_to_reduce(n_unique, cfg.reduction) or n_unique < min_cluster_size:
        message = (
            f"only {n_unique} distinct headlines, fewer than a topic needs "
            f"(min_cluster_size {min_cluster_size}); every headline is left unclustered"
        )
        log.warning(message)
        warnings_.append(message)
        map_xy = _fallback_map(vectors)
        labels = np.full(n_unique, UNCLUSTERED, dtype=np.int64)
    else:
        with timer.stage("reduce"):
            log.info("reducing with UMAP to %d dimensions and a 2-D map", cfg.reduction.n_components)
            # the word vectors feed both the neighbour graph (on a cache miss) and the merge
            needs_words = cfg.reduction.lexical_weight > 0 or cfg.clustering.merge_lexical_weight > 0
            words = word_vectors(unique.texts) if needs_words else None
            reduction = reduce_with_cache(vectors, unique.texts, cfg.reduction, cache, words)
            map_xy = reduction.map_xy
        with timer.stage("cluster"):
            log.info("clustering with HDBSCAN (min_cluster_size %d)", min_cluster_size)
            labels = cluster_points(reduction.points, cfg.clustering.model_copy(update={"min_cluster_size": min_cluster_size}))
            labels = merge_similar_topics(
                vectors, labels, weights, cfg.clustering.merge_threshold, words, cfg.clustering.merge_lexical_weight
            )
        if (labels == UNCLUSTERED).all():
            message = "HDBSCAN found no topic; every headline is left unclustered"
            log.warning(message)
            warnings_.append(message)

    with timer.stage("label"):
        assignment = assign_outliers(vectors, labels, weights, cfg.clustering)
        topics_unique = number_topics_by_size(assignment.labels, weights)
        centroids = topic_centroids(vectors, topics_unique, weights)
        similarity = np.full(n_unique, np.nan)
        for topic, centroid in centroids.items():
            members = topics_unique == topic
            similarity[members] = vectors[members] @ centroid
        cohesion = {
            topic: float(np.average(similarity[topics_unique == topic], weights=weights[topics_unique == topic]))
            for topic in centroids
        }
        descriptions = describe_topics(
            unique.texts,
            vectors,
            topics_unique,
            weights,
            centroids,
            n_keywords=cfg.labeling.n_keywords,
            n_representatives=cfg.labeling.n_representatives,
            label_terms=cfg.labeling.label_terms,
            ngram_range=cfg.labeling.ngram_range,
            stop_words=cfg.labeling.stop_words,
        )

    with timer.stage("tables"):
        rows = unique.row_to_unique
        row_topics = topics_unique[rows]
        headlines = prepared.accepted.drop(columns=[CLEAN_TEXT]).copy()
        headlines["topic_id"] = row_topics
        headlines["topic_label"] = [descriptions[int(t)].label for t in row_topics]
        headlines["topic_confidence"] = np.round(similarity[rows], 4)
        headlines["assigned_by"] = assignment.assigned_by[rows]
        headlines["map_x"] = np.round(map_xy[rows, 0].astype(float), 4)
        headlines["map_y"] = np.round(map_xy[rows, 1].astype(float), 4)
        headlines = headlines.reset_index(drop=True)
        topics = build_topic_table(prepared, row_topics, descriptions, cohesion, cfg)
        rejected = prepared.rejected.reset_index(drop=True)

    with timer.stage("track"):
        model = f"{source.name}/{vectors.shape[1]}"
        state = topic_state(topics, centroids, unique.texts, topics_unique, unique.counts, model)
        tracking = track_topics(state, previous or PreviousRun(None, None, 1), cfg.tracking)
        state = dataclasses.replace(state, topic_key=tracking.keys.astype(str))
        topics, headlines = add_tracking_columns(topics, headlines, state, tracking)

    with timer.stage("cache"):
        cache_report = finish_cache(cache, cfg.cache)
    n_topics = int(len(centroids))
    unclustered_rows = int((row_topics == UNCLUSTERED).sum())
    assigned_counts = pd.Series(assignment.assigned_by[rows]).value_counts().to_dict()
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "tool": {"name": "headline-cluster", "version": __version__},
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": cfg.model_dump(mode="json"),
        "resolved": {"min_cluster_size": min_cluster_size, "device": device},
        "inputs": [vars(f) for f in prepared.files],
        "window": window_record(prepared.window),
        "counts": prepared.counts,
        "topics": n_topics,
        "unclustered_rows": unclustered_rows,
        "unclustered_share": round(unclustered_rows / len(row_topics), 4),
        "assigned_by": {key: int(assigned_counts.get(key, 0)) for key in ("hdbscan", "nearest", BY_NONE)},
        "model": {"name": source.name, "kind": source.kind, "location": source.location, "dimension": int(vectors.shape[1])},
        "cache": cache_report,
        "versions": _library_versions(),
        "seed": cfg.reduction.random_state,
        "seconds": timer.seconds,
        "warnings": warnings_,
        "tracking": {**tracking.report, "match_threshold": cfg.tracking.match_threshold},
    }
    return RunResult(
        topics=topics,
        headlines=headlines,
        rejected=rejected,
        manifest=manifest,
        vectors=vectors,
        changes=tracking.changes,
        topic_state=state,
    )


def default_run_id(now: dt.datetime | None = None) -> str:
    """ISO week plus a UTC timestamp, e.g. `2026-W48_20261128T143000Z`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}_{now.strftime('%Y%m%dT%H%M%SZ')}"


def write_result(
    result: RunResult,
    output_dir: Path,
    run_id: str,
    total_seconds: float | None = None,
    extra_writers: dict[str, Any] | None = None,
) -> Path:
    """Publish the run folder atomically, review files included; returns its path."""
    from cluster.config import ReviewConfig
    from cluster.review import ReviewTables, review_writers
    from cluster.write import publish_run, write_csv, write_json

    manifest = dict(result.manifest)
    writers = {
        "topics.csv": lambda path: write_csv(result.topics, path),
        "headlines.csv": lambda path: write_csv(result.headlines, path),
        "rejected.csv": lambda path: write_csv(result.rejected, path),
    }
    if result.changes is not None:
        writers["changes.csv"] = lambda path: write_csv(result.changes, path)
    if result.topic_state is not None:
        writers[STATE_FILE] = result.topic_state.save
    # review files (workbook, map, report), as the run's own config asks; timed separately so
    # run.json shows what they cost
    review_settings = ReviewConfig.model_validate(manifest.get("config", {}).get("review", {}))
    tables = ReviewTables(
        topics=result.topics, headlines=result.headlines, manifest=manifest, changes=getattr(result, "changes", None)
    )
    review_seconds: dict[str, float] = {}

    def timed(name: str, writer):
        def write(path: Path) -> None:
            log.info("writing %s", name)
            start = time.perf_counter()
            writer(path)
            review_seconds[name] = round(time.perf_counter() - start, 3)

        return write

    for name, writer in review_writers(tables, review_settings).items():
        writers[name] = timed(name, writer)
    start = time.perf_counter()

    # the manifest is written last, so it can record how long the other files took
    def _write_manifest(path: Path) -> None:
        manifest["seconds"] = {**manifest["seconds"], "write": round(time.perf_counter() - start, 3)}
        if review_seconds:
            manifest["seconds"]["review"] = round(sum(review_seconds.values()), 3)
            manifest["review_seconds"] = review_seconds
        if total_seconds is not None:
            manifest["seconds"]["total"] = round(total_seconds + time.perf_counter() - start, 3)
        write_json(manifest, path)

    writers.update(extra_writers or {})
    writers["run.json"] = _write_manifest
    return publish_run(output_dir, run_id, writers)
