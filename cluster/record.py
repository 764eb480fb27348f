"""The run record: what a run did, with what, from which inputs, and how long each stage took.

`RunRecord` is built once when a run starts; each stage adds its own part through a method
(`embedded`, `fitted`, `assigned`, `tracked`, `finished`, `written`), and the run folder writes
it as run.json (`to_json`), in one place. The review files read run.json's form of it, so a run
folder read back shows the same facts as a fresh run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

from cluster import __version__
from cluster.clustering import BY_GROUPING, BY_HDBSCAN, BY_NEAREST, BY_NONE, UNCLUSTERED
from cluster.scale import BY_VOTE
from cluster.store.cached import library_versions

if TYPE_CHECKING:
    from cluster.embed import Embedded

LIBRARIES = [
    "sentence-transformers",
    "transformers",
    "torch",
    "onnxruntime",
    "umap-learn",
    "scikit-learn",
    "numpy",
    "pandas",
]


@dataclass
class StageTimer:
    """Seconds spent per stage, for the record."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add({name: time.perf_counter() - start})

    def add(self, seconds: dict[str, float]) -> None:
        for name, value in seconds.items():
            self.seconds[name] = round(self.seconds.get(name, 0.0) + value, 3)


@dataclass(frozen=True)
class ModelPart:
    """run.json's `model`: which model made the vectors, and by which route."""

    name: str
    kind: str  # "bundled", "local folder" or "hub name"
    location: str
    dimension: int
    backend: str  # onnx (int8, or fp32 when int8 drifts: cluster/onnx_export.py) or torch
    note: str | None = None  # why the route differs from what the settings asked for, if it does

    @classmethod
    def of(cls, embedded: "Embedded") -> "ModelPart":
        """The model that made `embedded`'s vectors, by which route, and why that route, when
        it differs from the one asked for."""
        source = embedded.source
        dimension = int(embedded.vectors.shape[1])
        return cls(source.name, source.kind, source.location, dimension, embedded.backend, embedded.note)


@dataclass(frozen=True)
class FitPart:
    """run.json's `fit`: how the topics were fitted (`cluster.fit`)."""

    mode: str  # "direct" (a short list), "whole" or "sample"
    fitted: int  # distinct headlines UMAP and HDBSCAN (or the grouping) saw
    assigned: int  # distinct headlines assigned to the sample's topics afterwards


def versions() -> dict[str, str]:
    """Python's and the main libraries' versions ("not installed" when absent)."""
    return {"python": platform.python_version(), "headline-cluster": __version__, **library_versions(LIBRARIES)}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    """Everything run.json says, filled in stage by stage."""

    run_id: str
    config: dict[str, Any]  # the resolved config, as `Config.model_dump(mode="json")`
    inputs: list[dict[str, Any]]
    window: dict[str, str] | None
    counts: dict[str, int]
    started_at: str = field(default_factory=_now)
    finished_at: str = ""
    min_cluster_size: int | None = None
    device: str | None = None
    model: ModelPart | None = None
    fit: FitPart | None = None
    topics: int = 0
    unclustered_rows: int = 0
    unclustered_share: float = 0.0
    assigned_by: dict[str, int] = field(default_factory=dict)
    tracking: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    large_run: dict[str, Any] | None = None
    review_seconds: dict[str, float] = field(default_factory=dict)

    def embedded(self, model: ModelPart, device: str | None) -> None:
        """The embed stage's part: the model and the device it ran on (None: every vector was cached)."""
        self.model, self.device = model, device

    def fitted(self, fit: FitPart, min_cluster_size: int, warnings: list[str]) -> None:
        """The fit's part: its mode, the topic size it used and what it warns about."""
        self.fit, self.min_cluster_size = fit, min_cluster_size
        self.warnings += warnings

    def assigned(self, row_topics: np.ndarray, row_assigned_by: np.ndarray) -> None:
        """The topics of every input row: how many topics, how many rows left out, and how each
        row got its topic."""
        unclustered = int((row_topics == UNCLUSTERED).sum())
        counted = pd.Series(row_assigned_by).value_counts().to_dict()
        self.topics = int(len(set(row_topics.tolist()) - {UNCLUSTERED}))
        self.unclustered_rows = unclustered
        self.unclustered_share = round(unclustered / len(row_topics), 4)
        kinds = (BY_HDBSCAN, BY_GROUPING, BY_VOTE, BY_NEAREST, BY_NONE)
        self.assigned_by = {kind: int(counted.get(kind, 0)) for kind in kinds}

    def tracked(self, report: dict[str, Any]) -> None:
        """The tracking stage's part: what was matched against which run."""
        threshold = self.config.get("tracking", {}).get("match_threshold")
        self.tracking = {**report, "match_threshold": threshold}

    def finished(self, cache: dict[str, Any], seconds: dict[str, float], memory: dict[str, Any]) -> None:
        """The end of the stages: what the cache did, the stages' timings and peak memory."""
        self.cache, self.seconds, self.memory = cache, dict(seconds), memory
        self.finished_at = _now()

    def written(self, seconds: dict[str, float], review_seconds: dict[str, float]) -> None:
        """The write stage's part: its own timings and those of each review file."""
        self.seconds = {**self.seconds, **seconds}
        self.review_seconds = dict(review_seconds)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunRecord":
        """The record a run.json holds (`to_json`'s inverse), e.g. to write a run folder's files
        again from its tables (`cluster.runs.read_run`); entries it lacks take their defaults."""
        resolved = data.get("resolved") or {}
        model, fit = data.get("model"), data.get("fit")
        return cls(
            run_id=str(data.get("run_id", "")),
            config=data.get("config") or {},
            inputs=list(data.get("inputs") or []),
            window=data.get("window"),
            counts=dict(data.get("counts") or {}),
            started_at=str(data.get("started_at", "")),
            finished_at=str(data.get("finished_at", "")),
            min_cluster_size=resolved.get("min_cluster_size"),
            device=resolved.get("device"),
            model=ModelPart(**model) if isinstance(model, dict) else None,
            fit=FitPart(**fit) if isinstance(fit, dict) else None,
            **{name: data[name] for name in _PLAIN_ENTRIES if name in data},
        )

    def to_json(self) -> dict[str, Any]:
        """run.json's content, in its documented order (docs/reference.md)."""
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "tool": {"name": "headline-cluster", "version": __version__},
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "config": self.config,
            "resolved": {"min_cluster_size": self.min_cluster_size, "device": self.device},
            "inputs": self.inputs,
            "window": self.window,
            "counts": self.counts,
            "topics": self.topics,
            "unclustered_rows": self.unclustered_rows,
            "unclustered_share": self.unclustered_share,
            "assigned_by": self.assigned_by,
            "model": _model_json(self.model),
            "cache": self.cache,
            "versions": versions(),
            "seed": self.config.get("reduction", {}).get("random_state"),
            "seconds": self.seconds,
            "warnings": self.warnings,
            "tracking": self.tracking,
            "fit": dataclasses.asdict(self.fit) if self.fit else None,
            "memory": self.memory,
        }
        if self.large_run is not None:
            data["large_run"] = self.large_run
        if self.review_seconds:
            data["review_seconds"] = self.review_seconds
        return data


# entries run.json holds as they are in the record
_PLAIN_ENTRIES = (
    "topics", "unclustered_rows", "unclustered_share", "assigned_by", "tracking", "cache", "seconds", "warnings",
    "memory", "large_run", "review_seconds",
)  # fmt: skip


def _model_json(model: ModelPart | None) -> dict[str, Any] | None:
    """The model entry; `note` only when there is one, so the default route's entry is unchanged."""
    if model is None:
        return None
    entry = dataclasses.asdict(model)
    if entry["note"] is None:
        del entry["note"]
    return entry
