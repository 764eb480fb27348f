"""run.json: what a run did, with what, from which inputs, and how long each stage took."""

from __future__ import annotations

import datetime as dt
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pandas as pd

from cluster import __version__
from cluster.clustering import BY_GROUPING, BY_HDBSCAN, BY_NEAREST, BY_NONE, UNCLUSTERED
from cluster.scale import BY_VOTE

if TYPE_CHECKING:
    from cluster.clean import PreparedInput
    from cluster.config import Config
    from cluster.embed import Embedded
    from cluster.track import Tracking

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
    """Seconds spent per stage, for the manifest."""

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


def library_versions() -> dict[str, str]:
    """Python's and the main libraries' versions ("not installed" when absent)."""
    versions = {"python": platform.python_version(), "headline-cluster": __version__}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_manifest(
    cfg: "Config",
    run_id: str,
    started: dt.datetime,
    prepared: "PreparedInput",
    embedded: "Embedded",
    row_topics: np.ndarray,
    row_assigned_by: np.ndarray,
    min_cluster_size: int,
    tracking: "Tracking",
    cache_report: dict[str, Any],
    seconds: dict[str, float],
    warnings: list[str],
) -> dict[str, Any]:
    """The manifest of a finished run (`write` adds its own timings when it writes the file)."""
    source, vectors = embedded.source, embedded.vectors
    unclustered_rows = int((row_topics == UNCLUSTERED).sum())
    assigned_counts = pd.Series(row_assigned_by).value_counts().to_dict()
    return {
        "run_id": run_id,
        "tool": {"name": "headline-cluster", "version": __version__},
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": cfg.model_dump(mode="json"),
        "resolved": {"min_cluster_size": min_cluster_size, "device": embedded.device},
        "inputs": [vars(f) for f in prepared.files],
        "window": prepared.window.record() if prepared.window else None,
        "counts": prepared.counts,
        "topics": int(len(set(row_topics.tolist()) - {UNCLUSTERED})),
        "unclustered_rows": unclustered_rows,
        "unclustered_share": round(unclustered_rows / len(row_topics), 4),
        "assigned_by": {
            key: int(assigned_counts.get(key, 0)) for key in (BY_HDBSCAN, BY_GROUPING, BY_VOTE, BY_NEAREST, BY_NONE)
        },
        "model": {
            "name": source.name,
            "kind": source.kind,
            "location": source.location,
            "dimension": int(vectors.shape[1]),
            "backend": embedded.backend,  # onnx (int8, cluster/embed_onnx.py) or torch
        },
        "cache": cache_report,
        "versions": library_versions(),
        "seed": cfg.reduction.random_state,
        "seconds": seconds,
        "warnings": warnings,
        "tracking": {**tracking.report, "match_threshold": cfg.tracking.match_threshold},
    }
