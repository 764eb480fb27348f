"""Topic tracking across runs: stable topic keys (T0001, T0002, …) and what changed.

Each run saves what the next one needs in its run folder (`cluster.runs.STATE_FILE`): per topic
its key, size, label, keywords and centroid, and per distinct headline a hash of its text and
its topic. The next run
scores every (previous topic, current topic) pair

    similarity = (1 - keyword_weight) · cosine(centroids) + keyword_weight · Jaccard(keywords)
                 + overlap_weight · overlap

where overlap is the share of the current topic's rows whose headline text (after cleaning,
ignoring case) was in the previous topic. Topics are then paired one-to-one so that the summed
gain is as large as possible (Hungarian algorithm), where a pair at or above `match_threshold`
gains

    gain = min(size_previous, size_current) · (similarity − match_threshold)

and any other pair gains nothing. The gain counts only the similarity *above* the threshold, so a
pair that barely clears the bar is worth little however large its topics are: a story that
plainly continues (similarity well above the threshold) keeps its key rather than have it taken
by a bigger, merely related topic, and the size weight still keeps a big story's key with the
topic that carries most of it rather than with a small fragment a little closer. A paired topic
inherits the previous key; any other topic gets a new key from a counter that only goes up, so
keys are never reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.config import TrackingConfig
from cluster.schema import CHANGES

log = logging.getLogger(__name__)

NEW, CONTINUING, GROWING, SHRINKING, FADED = "new", "continuing", "growing", "shrinking", "faded"


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
            "the previous run used another model (%s, now %s); "
            "topics are matched by keywords and shared headlines only",
            previous.model,
            current.model,
        )
        cosine = np.zeros((len(previous.topic_id), len(current.topic_id)))
    similarity = (1 - cfg.keyword_weight) * cosine
    if cfg.keyword_weight:
        similarity += cfg.keyword_weight * keyword_jaccard(previous.keywords, current.keywords)
    if cfg.overlap_weight:
        similarity += cfg.overlap_weight * headline_overlap(previous, current)
    return similarity


# Added to every margin so that a pair exactly at the threshold still gains (a little).
_AT_THRESHOLD = 1e-6


def match_topics(similarity: np.ndarray, threshold: float, weight: np.ndarray | None = None) -> list[tuple[int, int]]:
    """One-to-one pairs (row, column) maximising the summed gain, weight · (similarity −
    threshold), over pairs whose similarity is ≥ threshold. Without `weight` every pair weighs 1."""
    if similarity.size == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    # Pairs below the threshold gain nothing, so the optimum never spends a topic on one. Above
    # it, only the margin counts: weighting the whole similarity let a big topic just over the
    # bar outbid a near-certain match (weekly runs: a 68-row "tap water" topic went to a 91-row
    # "polluted soil" topic at 0.62 rather than to a 12-row "tap water" topic at 1.26).
    margin = similarity - threshold + _AT_THRESHOLD
    gain = np.where(similarity >= threshold, margin * (1.0 if weight is None else weight), 0.0)
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
    report: dict[str, Any]


def _pair_topics(current: TopicState, state: TopicState | None, cfg: TrackingConfig) -> list[tuple[int, int, float]]:
    """(previous index, current index, similarity) of every matched pair."""
    if state is None or not len(state.topic_id) or not len(current.topic_id):
        return []
    similarity = similarity_matrix(state, current, cfg)
    # Weighting each pair by the smaller topic's size lets a big continuing story keep its key
    # rather than lose it to a small fragment whose centroid happens to sit closer.
    weight = np.minimum.outer(state.size, current.size).astype(float)
    return [(i, j, float(similarity[i, j])) for i, j in match_topics(similarity, cfg.match_threshold, weight)]


def _new_row(current: TopicState, j: int, key: str) -> dict[str, Any]:
    """The changes.csv row of a topic that has no match in the previous run."""
    return {
        "status": NEW, "topic_key": key, "topic_id": int(current.topic_id[j]), "label": str(current.label[j]),
        "size": int(current.size[j]), "previous_topic_id": None, "previous_label": "", "previous_size": None,
        "keywords": str(current.keywords[j]),
    }  # fmt: skip


def _faded_row(previous: TopicState, i: int) -> dict[str, Any]:
    """The changes.csv row of a previous topic left without a successor."""
    return {
        "status": FADED, "topic_key": str(previous.topic_key[i]), "topic_id": None, "label": "", "size": 0,
        "previous_topic_id": int(previous.topic_id[i]), "previous_label": str(previous.label[i]),
        "previous_size": int(previous.size[i]), "keywords": str(previous.keywords[i]),
    }  # fmt: skip


def _faded(state: TopicState | None, matched: set[int]) -> list[int]:
    """Previous topics without a successor, largest first."""
    if state is None:
        return []
    unmatched = [i for i in range(len(state.topic_id)) if i not in matched]
    return sorted(unmatched, key=lambda i: (-int(state.size[i]), int(state.topic_id[i])))


def track_topics(current: TopicState, previous: PreviousRun, cfg: TrackingConfig) -> Tracking:
    """Match the current topics to the previous run's and assign keys (pure; no I/O)."""
    n = len(current.topic_id)
    keys = np.full(n, None, dtype=object)
    status = np.full(n, NEW, dtype=object)
    previous_size = np.full(n, np.nan)
    previous_label = np.full(n, "", dtype=object)
    state = previous.state
    pairs = _pair_topics(current, state, cfg)
    for i, j, _ in pairs:
        assert state is not None  # there are pairs only when there is a previous state
        keys[j] = str(state.topic_key[i])
        previous_size[j] = int(state.size[i])
        previous_label[j] = str(state.label[i])
        status[j] = size_status(int(current.size[j]), int(state.size[i]), cfg.change_threshold)
    next_key = previous.next_key
    for j in range(n):  # state order is topic_id order: new keys go to the largest topics first
        if keys[j] is None:
            keys[j] = format_key(next_key)
            next_key += 1
    faded = _faded(state, {i for i, _, _ in pairs})
    counts = pd.Series(status).value_counts().to_dict()
    similarities = [similarity for _, _, similarity in pairs]
    report = {
        "previous_run": previous.run_id,
        "matched": len(pairs),
        "new": int(counts.get(NEW, 0)),
        "faded": len(faded),
        "growing": int(counts.get(GROWING, 0)),
        "shrinking": int(counts.get(SHRINKING, 0)),
        "continuing": int(counts.get(CONTINUING, 0)),
        "next_key": next_key,
        "matched_similarity": {
            "min": round(min(similarities), 4) if pairs else None,
            "median": round(float(np.median(similarities)), 4) if pairs else None,
        },
    }
    rows = [_new_row(current, j, str(keys[j])) for j in range(n) if status[j] == NEW]
    rows += [_faded_row(state, i) for i in faded] if state is not None else []
    changes = pd.DataFrame(rows, columns=CHANGES.names).astype(CHANGES.optional_ints())
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
        centroid=np.stack([centroids[int(t)] for t in ids]).astype(np.float32)
        if len(ids)
        else np.zeros((0, dimension), np.float32),
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
    position = list(headlines.columns).index("topic_id") + 1
    headlines.insert(position, "topic_key", [key_of.get(int(t), "") for t in headlines["topic_id"]])
    return topics, headlines


@dataclass(frozen=True)
class Tracked:
    """The tables with keys and statuses, what matching found, and what the next run needs."""

    topics: pd.DataFrame
    headlines: pd.DataFrame
    tracking: Tracking
    state: TopicState


def track_run(
    topics: pd.DataFrame,
    headlines: pd.DataFrame,
    centroids: dict[int, np.ndarray],
    texts: list[str],
    text_topics: np.ndarray,
    text_rows: np.ndarray,
    model: str,
    previous: PreviousRun | None,
    cfg: TrackingConfig,
) -> Tracked:
    """The track stage: match this run's topics to `previous` and add the tracking columns."""
    state = topic_state(topics, centroids, texts, text_topics, text_rows, model)
    tracking = track_topics(state, previous or PreviousRun(None, None, 1), cfg)
    state = dataclasses.replace(state, topic_key=tracking.keys.astype(str))
    topics, headlines = add_tracking_columns(topics, headlines, state, tracking)
    return Tracked(topics, headlines, tracking, state)
