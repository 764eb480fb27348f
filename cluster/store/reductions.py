"""The reduction store: the reduce and cluster stages' results as `.npz` files in `reductions/`,
one per key.

The key is a hash of everything a result depends on (`cluster.store.cached.cache_key`); files
are written atomically and checked against a stored checksum when read. A damaged file is
deleted, so the caller recomputes. Storage only: `cluster.store.cached` decides what goes in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

REDUCTIONS = "reductions"
MAX_REDUCTION_FILES = 50


def _arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\t{array.dtype.str}\t{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_arrays(directory: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under `key`, or None when absent or damaged (a damaged file is removed)."""
    path = directory / REDUCTIONS / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        stored = str(arrays.pop("__checksum__"))
        if stored != _arrays_checksum(arrays):
            raise ValueError("checksum mismatch")
    except Exception as exc:  # zipfile, OSError, KeyError, ValueError...: never trust it
        log.warning("reduction cache file %s is damaged (%s); removing it and recomputing", path.name, exc)
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)  # for pruning by age
    except OSError:  # e.g. a shared cache file owned by someone else: the hit is still good
        pass
    return arrays


def save_arrays(directory: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays and their checksum to a temporary file, then rename it into place."""
    folder = directory / REDUCTIONS
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{key}.", suffix=".npz.partial", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            contents: dict[str, Any] = {"__checksum__": np.array(_arrays_checksum(arrays)), **arrays}
            np.savez(stream, **contents)
        os.replace(temporary, folder / f"{key}.npz")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def prune_arrays(directory: Path, max_age_days: int | None, keep: int = MAX_REDUCTION_FILES) -> int:
    """Remove reduction files unused for `max_age_days`, and all but the `keep` most recently used."""
    folder = directory / REDUCTIONS
    if not folder.exists():
        return 0
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = time.time() - max_age_days * 86400 if max_age_days is not None else None
    removed = 0
    for index, path in enumerate(files):
        if index >= keep or (cutoff is not None and path.stat().st_mtime < cutoff):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class ReductionStore:
    """`load_arrays`, `save_arrays` and `prune_arrays` on one cache folder.

    It holds no open resource; it is a context manager only so that both stores are used alike."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        return load_arrays(self.directory, key)

    def save(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        save_arrays(self.directory, key, arrays)

    def find(self, key: str, fields: set[str] | None, what: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under `key` (when `fields` is given, only if they are exactly those),
        else None; a folder that cannot be read is a warning (naming `what`), and the caller
        recomputes."""
        try:
            stored = self.load(key)
        except OSError as exc:
            log.warning("%s cache unreadable (%s); recomputing", what, exc)
            return None
        return stored if stored is not None and (fields is None or set(stored) == fields) else None

    def keep(self, key: str, arrays: dict[str, np.ndarray], what: str) -> None:
        """`save`, with a warning instead of an error when the cache cannot take it."""
        try:
            self.save(key, arrays)
        except OSError as exc:
            log.warning("could not store the %s in the cache (%s)", what, exc)

    def prune(self, max_age_days: int | None, keep: int = MAX_REDUCTION_FILES) -> int:
        return prune_arrays(self.directory, max_age_days, keep)

    def __enter__(self) -> "ReductionStore":
        return self

    def __exit__(self, *exc: object) -> None:
        pass
