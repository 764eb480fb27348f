"""Topic tracking across runs: stable topic keys (T0001, T0002, …) and what changed.

Each run saves what the next one needs in `topic_centroids.npz`: per topic its key, size, label,
keywords and centroid, and per distinct headline a hash of its text and its topic. The next run
scores every (previous topic, current topic) pair

    similarity = (1 - keyword_weight) · cosine(centroids) + keyword_weight · Jaccard(keywords)
                 + overlap_weight · overlap

where overlap is the share of the current topic's rows whose headline text (after cleaning,
ignoring case) was in the previous topic. Topics are then paired one-to-one so that the summed
similarity, each pair weighted by the smaller topic's size, is as large as possible (Hungarian
algorithm), counting only pairs at or above `match_threshold`. A paired topic inherits the
previous key; any other topic gets a new key from a counter that only goes up, so keys are never
reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.config import TrackingConfig
from cluster.errors import ConfigError
from cluster.schedule import RunInfo, list_runs

log = logging.getLogger(__name__)

STATE_FILE = "topic_centroids.npz"
NEW, CONTINUING, GROWING, SHRINKING, FADED = "new", "continuing", "growing", "shrinking", "faded"
CHANGE_COLUMNS = [
    "status", "topic_key", "topic_id", "label", "size", "previous_topic_id", "previous_label", "previous_size", "keywords",
]


def format_key(number: int) -> str:
    return f"T{number:04d}"


def text_hashes(texts: list[str]) -> np.ndarray:
    """64-bit hashes of case-folded headline texts, to recognise the same headline in two runs."""
    return np.array(
        [int.from_bytes(hashlib.sha256(t.casefold().encode("utf-8")).digest()[:8], "little") for t in texts],
        dtype=np.uint64,
    )


@dataclass(frozen=True)
class TopicState:
    """What matching needs about one run's topics (unclustered headlines have topic -1)."""

    topic_id: np.ndarray  # int64, one per topic
    topic_key: np.ndarray  # str
    size: np.ndarray  # int64, input rows
    label: np.ndarray  # str
    keywords: np.ndarray  # str, "; "-joined
    centroid: np.ndarray  # float32 (topics, dimension), unit length
    text_hash: np.ndarray  # uint64, one per distinct headline
    text_topic: np.ndarray  # int64, topic of each distinct headline
    text_rows: np.ndarray  # int64, input rows per distinct headline
    model: str  # model name and dimension: centroids of different models are not comparable

    def save(self, path: Path) -> None:
        arrays = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "model"}
        arrays["topic_key"] = arrays["topic_key"].astype(str)
        arrays["label"] = arrays["label"].astype(str)
        arrays["keywords"] = arrays["keywords"].astype(str)
        with open(path, "wb") as stream:
            np.savez_compressed(stream, model=np.array(self.model), **arrays)

    @classmethod
    def load(cls, path: Path) -> "TopicState":
        with np.load(path, allow_pickle=False) as data:
            values = {name: data[name] for name in data.files}
        values["model"] = str(values["model"])
        return cls(**values)


@dataclass(frozen=True)
class PreviousRun:
    """The run this one is compared with, and the first key number still free."""

    run_id: str | None
    state: TopicState | None
    next_key: int


def _stored_next_key(run: RunInfo) -> int:
    tracking = run.manifest.get("tracking") or {}
    try:
        return int(tracking.get("next_key", 1))
    except (TypeError, ValueError):
        return 1


def run_fingerprint(config: dict, inputs: list[dict], window: dict | None) -> str:
    """What makes two runs the same computation: the input files' contents, the date window and
    every setting that shapes the tables (not where they are written, nor the review files)."""
    shaping = {key: value for key, value in config.items() if key not in {"output", "review", "cache", "tracking", "input"}}
    shaping["input"] = {key: value for key, value in (config.get("input") or {}).items() if key != "path"}
    tracking = {key: value for key, value in (config.get("tracking") or {}).items() if key != "previous"}
    payload = {
        "config": shaping,
        "tracking": tracking,
        "inputs": sorted(str(item.get("sha256")) for item in inputs),
        "window": window,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _fingerprint_of(run: RunInfo) -> str:
    manifest = run.manifest
    config = json.loads(json.dumps(manifest.get("config") or {}))
    return run_fingerprint(config, manifest.get("inputs") or [], manifest.get("window"))


def find_previous_run(
    output_dir: Path, run_id: str, previous: str | None, window_until: str = "", fingerprint: str | None = None
) -> PreviousRun:
    """The run to compare with: `previous` if named ("none" for no comparison), else the newest
    complete run in `output_dir` other than `run_id` (which this run replaces). With a date
    window, runs whose window ends after this one's are skipped, so rerunning an old week is
    compared with the week before it. The key counter continues from every run kept there.

    A run with the same `fingerprint` (same input files, window and settings) under another id is
    a rerun of this one: it is neither compared with nor counted, so a rerun gives the same files.
    """
    others = [r for r in list_runs(output_dir) if r.run_id != run_id]
    if fingerprint is not None:
        others = [r for r in others if _fingerprint_of(r) != fingerprint]
    next_key = max([1, *(_stored_next_key(r) for r in others)])
    if previous == "none":
        return PreviousRun(None, None, next_key)
    if previous is not None:
        named = [r for r in others if r.run_id == previous]
        if not named:
            choices = ", ".join(r.run_id for r in others[-5:]) or "none"
            raise ConfigError(f"--previous {previous!r}: no complete run of that name in {output_dir} (recent runs: {choices})")
        chosen = named[0]
    else:
        candidates = [r for r in others if not window_until or not r.window_until or r.window_until <= window_until]
        if not candidates:
            return PreviousRun(None, None, next_key)
        chosen = max(candidates, key=lambda r: (r.window_until, r.finished_at, r.run_id))
    path = chosen.path / STATE_FILE
    try:
        state = TopicState.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if previous is not None:
            raise ConfigError(f"--previous {previous!r}: cannot read {path} ({exc}); pick another run") from None
        log.warning("previous run %s has no readable %s (%s); every topic gets a new key", chosen.run_id, STATE_FILE, exc)
        return PreviousRun(None, None, next_key)
    return PreviousRun(chosen.run_id, state, next_key)


def keyword_jaccard(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Jaccard overlap of the keyword sets of every pair of topics."""
    prev_sets = [set(filter(None, str(k).split("; "))) for k in previous]
    cur_sets = [set(filter(None, str(k).split("; "))) for k in current]
    result = np.zeros((len(prev_sets), len(cur_sets)))
    for i, a in enumerate(prev_sets):
        for j, b in enumerate(cur_sets):
            union = len(a | b)
            result[i, j] = len(a & b) / union if union else 0.0
    return result


def headline_overlap(previous: TopicState, current: TopicState) -> np.ndarray:
    """Share of each current topic's rows whose headline was in each previous topic."""
    result = np.zeros((len(previous.topic_id), len(current.topic_id)))
    prev_index = {int(t): i for i, t in enumerate(previous.topic_id)}
    cur_index = {int(t): j for j, t in enumerate(current.topic_id)}
    prev_topic_of = dict(zip(previous.text_hash.tolist(), previous.text_topic.tolist()))
    for text, topic, rows in zip(current.text_hash.tolist(), current.text_topic.tolist(), current.text_rows.tolist()):
        old = prev_topic_of.get(text)
        if old is None or old not in prev_index or topic not in cur_index:
            continue
        result[prev_index[old], cur_index[topic]] += rows
    sizes = np.maximum(current.size.astype(float), 1.0)
    return result / sizes[None, :]


def similarity_matrix(previous: TopicState, current: TopicState, cfg: TrackingConfig) -> np.ndarray:
    """Blended similarity of every (previous topic, current topic) pair; see the module docstring."""
    if previous.model == current.model and previous.centroid.shape[1:] == current.centroid.shape[1:]:
        cosine = previous.centroid.astype(np.float64) @ current.centroid.astype(np.float64).T
    else:
        log.warning(
            "the previous run used another model (%s, now %s); topics are matched by keywords and shared headlines only",
            previous.model, current.model,
        )
        cosine = np.zeros((len(previous.topic_id), len(current.topic_id)))
    similarity = (1 - cfg.keyword_weight) * cosine
    if cfg.keyword_weight:
        similarity += cfg.keyword_weight * keyword_jaccard(previous.keywords, current.keywords)
    if cfg.overlap_weight:
        similarity += cfg.overlap_weight * headline_overlap(previous, current)
    return similarity


def match_topics(similarity: np.ndarray, threshold: float, weight: np.ndarray | None = None) -> list[tuple[int, int]]:
    """One-to-one pairs (row, column) maximising the summed gain, weight · similarity, over pairs
    whose similarity is ≥ threshold. Without `weight` every pair weighs 1."""
    if similarity.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    # Pairs below the threshold gain nothing, so the optimum never spends a topic on one.
    gain = np.where(similarity >= threshold, similarity * (1.0 if weight is None else weight), 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if similarity[r, c] >= threshold]


def size_status(size: int, previous_size: int, change_threshold: float) -> str:
    """growing: at least (1 + t) × the previous size; shrinking: at most (1 - t) ×; else continuing."""
    if size >= previous_size * (1 + change_threshold):
        return GROWING
    if size <= previous_size * (1 - change_threshold):
        return SHRINKING
    return CONTINUING


@dataclass(frozen=True)
class Tracking:
    """Keys and statuses for the current topics, the changes table and the manifest entry."""

    keys: np.ndarray  # str, one per current topic (in state order)
    status: np.ndarray
    previous_size: np.ndarray  # float, NaN for new topics
    previous_label: np.ndarray
    changes: pd.DataFrame
    report: dict


def track_topics(current: TopicState, previous: PreviousRun, cfg: TrackingConfig) -> Tracking:
    """Match the current topics to the previous run's and assign keys (pure; no I/O)."""
    n = len(current.topic_id)
    keys = np.empty(n, dtype=object)
    status = np.full(n, NEW, dtype=object)
    previous_size = np.full(n, np.nan)
    previous_label = np.full(n, "", dtype=object)
    matches: list[tuple[int, int]] = []
    state = previous.state
    similarity = np.zeros((0, 0))
    if state is not None and len(state.topic_id) and n:
        similarity = similarity_matrix(state, current, cfg)
        # Weighting each pair by the smaller topic's size lets a big continuing story keep its key
        # rather than lose it to a small fragment whose centroid happens to sit closer.
        matches = match_topics(similarity, cfg.match_threshold, np.minimum.outer(state.size, current.size).astype(float))
    matched_similarity = [float(similarity[i, j]) for i, j in matches]
    for i, j in matches:
        keys[j] = str(state.topic_key[i])
        previous_size[j] = int(state.size[i])
        previous_label[j] = str(state.label[i])
        status[j] = size_status(int(current.size[j]), int(state.size[i]), cfg.change_threshold)
    next_key = previous.next_key
    for j in range(n):  # state order is topic_id order: new keys go to the largest topics first
        if keys[j] is None:
            keys[j] = format_key(next_key)
            next_key += 1
    matched_previous = {i for i, _ in matches}
    rows = []
    for j in range(n):
        if status[j] == NEW:
            rows.append({
                "status": NEW, "topic_key": keys[j], "topic_id": int(current.topic_id[j]), "label": str(current.label[j]),
                "size": int(current.size[j]), "previous_topic_id": None, "previous_label": "", "previous_size": None,
                "keywords": str(current.keywords[j]),
            })
    faded = [i for i in range(len(state.topic_id))] if state is not None else []
    faded = sorted((i for i in faded if i not in matched_previous), key=lambda i: (-int(state.size[i]), int(state.topic_id[i])))
    for i in faded:
        rows.append({
            "status": FADED, "topic_key": str(state.topic_key[i]), "topic_id": None, "label": "", "size": 0,
            "previous_topic_id": int(state.topic_id[i]), "previous_label": str(state.label[i]),
            "previous_size": int(state.size[i]), "keywords": str(state.keywords[i]),
        })
    changes = pd.DataFrame(rows, columns=CHANGE_COLUMNS).astype({"topic_id": "Int64", "previous_topic_id": "Int64", "previous_size": "Int64"})
    counts = pd.Series(status).value_counts().to_dict()
    report = {
        "previous_run": previous.run_id,
        "matched": len(matches),
        "new": int(counts.get(NEW, 0)),
        "faded": len(faded),
        "growing": int(counts.get(GROWING, 0)),
        "shrinking": int(counts.get(SHRINKING, 0)),
        "continuing": int(counts.get(CONTINUING, 0)),
        "next_key": next_key,
        "matched_similarity": {
            "min": round(min(matched_similarity), 4) if matches else None,
            "median": round(float(np.median(matched_similarity)), 4) if matches else None,
        },
    }
    return Tracking(keys, status, previous_size, previous_label, changes, report)


def topic_state(
    topics: pd.DataFrame,
    centroids: dict[int, np.ndarray],
    texts: list[str],
    text_topics: np.ndarray,
    text_rows: np.ndarray,
    model: str,
) -> TopicState:
    """A run's TopicState from its topic table (keys are filled in by `track_topics`)."""
    clustered = topics[topics["topic_id"] != UNCLUSTERED]
    ids = clustered["topic_id"].to_numpy(dtype=np.int64)
    dimension = len(next(iter(centroids.values()))) if centroids else 0
    return TopicState(
        topic_id=ids,
        topic_key=np.array([""] * len(ids)),
        size=clustered["size"].to_numpy(dtype=np.int64),
        label=clustered["label"].to_numpy(dtype=str),
        keywords=clustered["keywords"].to_numpy(dtype=str),
        centroid=np.stack([centroids[int(t)] for t in ids]).astype(np.float32) if len(ids) else np.zeros((0, dimension), np.float32),
        text_hash=text_hashes(texts),
        text_topic=np.asarray(text_topics, dtype=np.int64),
        text_rows=np.asarray(text_rows, dtype=np.int64),
        model=model,
    )


def add_tracking_columns(
    topics: pd.DataFrame, headlines: pd.DataFrame, state: TopicState, tracking: Tracking
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """topics.csv gains topic_key (after topic_id) and status, previous_size, previous_label (at
    the end); headlines.csv gains topic_key after topic_id. The unclustered row has no key."""
    key_of = dict(zip(state.topic_id.tolist(), tracking.keys.tolist()))
    index = {int(t): j for j, t in enumerate(state.topic_id)}
    rows = [index.get(int(t)) for t in topics["topic_id"]]
    topics = topics.copy()
    topics.insert(1, "topic_key", [key_of.get(int(t), "") for t in topics["topic_id"]])
    topics["status"] = ["" if j is None else tracking.status[j] for j in rows]
    topics["previous_size"] = pd.array(
        [pd.NA if j is None or np.isnan(tracking.previous_size[j]) else int(tracking.previous_size[j]) for j in rows],
        dtype="Int64",
    )
    topics["previous_label"] = ["" if j is None else tracking.previous_label[j] for j in rows]
    headlines = headlines.copy()
    position = headlines.columns.get_loc("topic_id") + 1
    headlines.insert(position, "topic_key", [key_of.get(int(t), "") for t in headlines["topic_id"]])
    return topics, headlines
