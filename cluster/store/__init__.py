"""The on-disk cache: an embedding store and a reduction store in one folder, shared by every
run of one user, so that a rerun of a week costs seconds.

Storage, and the one way stages are called through it (`cluster.store.cached`): the stages
themselves know nothing of the cache. Deleting the folder is always safe.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from cluster.store.embeddings import DATABASE, CacheDamaged, EmbeddingStore
from cluster.store.reductions import REDUCTIONS, ReductionStore
from cluster.store.stats import CacheStats

if TYPE_CHECKING:
    from cluster.config import CacheConfig

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "HEADLINE_CLUSTER_CACHE_DIR"


def default_cache_dir() -> Path:
    """$HEADLINE_CLUSTER_CACHE_DIR, else $XDG_CACHE_HOME/headline-cluster, else ~/.cache/headline-cluster."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "headline-cluster"


def resolve_cache_dir(setting: str | None) -> Path:
    """`cache.dir` if set, else the per-user default."""
    return Path(setting).expanduser() if setting else default_cache_dir()


class Cache:
    """Both stores of one cache folder and what they did in this run (`stats`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.stats = CacheStats(dir=str(directory))
        self.embeddings = EmbeddingStore(directory, self.stats)
        self.reductions = ReductionStore(directory)

    def prune(self, max_age_days: int | None, max_size_mb: int | None) -> None:
        """Drop what has not been used for a while, and what exceeds the size limit."""
        try:
            self.embeddings.prune(max_age_days, max_size_mb)
            self.stats.pruned += self.reductions.prune(max_age_days)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not prune the cache (%s)", exc)

    def report(self) -> dict[str, Any]:
        """What run.json records about the cache."""
        return dataclasses.asdict(self.stats)

    def close(self) -> None:
        self.embeddings.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def open_cache(cfg: "CacheConfig") -> Iterator[Cache | None]:
    """`with open_cache(cfg.cache) as cache:` the cache, or None (with a warning) when it is
    switched off or cannot be used. It is closed on the way out, whatever happens."""
    cache = None
    if cfg.enabled:
        directory = resolve_cache_dir(cfg.dir)
        try:
            cache = Cache(directory)
        except (OSError, sqlite3.Error, CacheDamaged) as exc:
            log.warning("embedding cache in %s cannot be used (%s); running without it", directory, exc)
    if cache is None:
        yield None
        return
    with cache:
        yield cache


def finish_cache(cache: Cache | None, cfg: "CacheConfig") -> dict[str, Any]:
    """Prune the cache after a run; what run.json records about it."""
    if cache is None:
        return {"enabled": False}
    cache.prune(cfg.max_age_days, cfg.max_size_mb)
    return cache.report()


__all__ = [
    "CACHE_DIR_ENV",
    "DATABASE",
    "REDUCTIONS",
    "Cache",
    "CacheStats",
    "EmbeddingStore",
    "ReductionStore",
    "default_cache_dir",
    "open_cache",
    "resolve_cache_dir",
]
