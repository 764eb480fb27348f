"""Calling a stage through the cache: one key builder, one call for whole results (the reduce and
cluster stages) and one for row-by-row results (the embed stage).

The stages take arrays and return arrays and know nothing of the cache; the pipeline wraps them
here. A key is a hash of everything the result depends on, so a stale entry is never found: it is
just never asked for again, and pruning removes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

if TYPE_CHECKING:
    from cluster.store import Cache

log = logging.getLogger(__name__)


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """The installed versions of `names` ("not installed" when absent), for a key: an upgraded
    library may compute different bits."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cache_key(*parts: Any) -> str:
    """A hex digest of `parts`, each hashed with its kind so that two different lists of parts
    never collide: an array by its dtype, shape and bytes; a `Path` by the bytes of the file
    (source code, so that a changed stage misses); bytes as they are; a string as UTF-8; anything
    else as sorted JSON."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"array\t{array.dtype.str}\t{array.shape}\n".encode())
            digest.update(array.tobytes())
        elif isinstance(part, Path):
            content = part.read_bytes()
            digest.update(f"file\t{len(content)}\n".encode())
            digest.update(content)
        elif isinstance(part, bytes):
            digest.update(f"bytes\t{len(part)}\n".encode())
            digest.update(part)
        else:
            text = part if isinstance(part, str) else json.dumps(part, sort_keys=True, default=str)
            encoded = text.encode("utf-8")
            digest.update(f"{'text' if isinstance(part, str) else 'json'}\t{len(encoded)}\n".encode())
            digest.update(encoded)
    return digest.hexdigest()


def cached_arrays(
    cache: "Cache | None",
    stage: str,
    key: str,
    compute: Callable[[], dict[str, np.ndarray]],
    rows: int | None = None,
) -> dict[str, np.ndarray]:
    """`compute()`, or the arrays an earlier call with the same `key` kept in the cache.

    `stage` names the entry of run.json's `cache` that records "hit" or "miss" ("reduction",
    "clustering"). A stored result is used only when it holds exactly the arrays `compute`
    returns and, with `rows`, has that many rows. A cache that cannot be read or written is a
    warning, never a failure."""
    if cache is None:
        return compute()
    stored = cache.reductions.find(key, None, stage)
    if stored is not None and (rows is None or all(len(array) == rows for array in stored.values())):
        setattr(cache.stats, stage, "hit")
        log.info("%s result found in the cache", stage)
        return stored
    setattr(cache.stats, stage, "miss")
    arrays = compute()
    cache.reductions.keep(key, arrays, f"{stage} result")
    return arrays


def cached_rows(
    cache: "Cache | None", key: str, texts: list[str], compute: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """One row per text: the rows the cache holds under `key`, and `compute(missing)` for the
    rest (then kept). Only the missing texts are computed; when none is, `compute` is never
    called. The counts go to the cache's stats (`hits`, `misses`); a cache that fails is a
    warning, and every text is computed."""
    hit = np.zeros(len(texts), dtype=bool)
    found = None
    usable = cache
    if cache is not None:
        try:
            found, hit = cache.embeddings.lookup(key, texts)
        except (OSError, sqlite3.Error) as exc:
            log.warning("embedding cache lookup failed (%s); embedding everything", exc)
            usable = None
        cache.stats.hits, cache.stats.misses = int(hit.sum()), int((~hit).sum())
        if usable is not None:
            log.info(
                "embedding cache: %d of %d distinct headlines cached, %d to embed", hit.sum(), len(texts), (~hit).sum()
            )
    if hit.all() and found is not None:
        return found
    missing = [text for text, cached in zip(texts, hit) if not cached]
    fresh = compute(missing)
    rows = found if found is not None else np.zeros((len(texts), fresh.shape[1]), dtype=np.float32)
    rows[~hit] = fresh
    if usable is not None:
        try:
            usable.embeddings.store(key, missing, fresh)
        except (OSError, sqlite3.Error) as exc:
            log.warning("could not store embeddings in the cache (%s)", exc)
    return rows
