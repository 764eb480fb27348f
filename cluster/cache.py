"""On-disk cache of embeddings and UMAP results, so that a rerun of a week costs seconds.

Embeddings live in one SQLite database (`embeddings.sqlite`), keyed by the model's identity (its
name plus a fingerprint of its files) and the exact headline text that was embedded. SQLite gives
atomic transactions and is safe when several processes share the file (WAL journal, busy
timeout). Every vector is stored with a checksum bound to its key, so a damaged row is never
returned: it is dropped and recomputed. A damaged or truncated database file is moved aside with
a warning and a new one is built.

Reductions (UMAP points and the 2-D map) are `.npz` files in `reductions/`, named by a hash of
the exact input matrix, the reduction settings, the library versions and the reduce stage's
source, written atomically and checked against a stored checksum when read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import struct
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

if TYPE_CHECKING:
    from cluster.config import CacheConfig, Config, ReductionConfig
    from cluster.embed import ModelSource

log = logging.getLogger(__name__)

CACHE_DIR_ENV = "HEADLINE_CLUSTER_CACHE_DIR"
DATABASE = "embeddings.sqlite"
REDUCTIONS = "reductions"
SCHEMA_VERSION = "2"
# Bumped when the way vectors are computed changes (e.g. normalisation), so old entries stop matching.
EMBEDDING_RECIPE = "normalised-float32-v1"
MAX_REDUCTION_FILES = 50
_SQL_CHUNK = 500  # parameters per IN (...) query; SQLite's limit is at least 999
_SQLITE_MAGIC = b"SQLite format 3\x00"


def default_cache_dir() -> Path:
    """$HEADLINE_CLUSTER_CACHE_DIR, else $XDG_CACHE_HOME/headline-cluster, else ~/.cache/headline-cluster."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "headline-cluster"


def resolve_cache_dir(setting: str | None) -> Path:
    """`cache.dir` if set, else the per-user default."""
    return Path(setting).expanduser() if setting else default_cache_dir()


def _chunks(items: list, size: int = _SQL_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def row_id(model_key: str, key: bytes) -> int:
    """The entry's integer primary key: 64 bits of a hash of model and text. The full model key and
    text hash are stored beside it and compared on every read, so a collision is just a miss."""
    return int.from_bytes(hashlib.sha256(model_key.encode("utf-8") + b"\0" + key).digest()[:8], "big", signed=True)


def _vector_checksum(model_key: str, key: bytes, blob: bytes) -> bytes:
    # Bound to the key, so a vector stored under the wrong text fails the check too.
    return hashlib.sha256(model_key.encode("utf-8") + b"\0" + key + blob).digest()[:16]


class CacheDamaged(Exception):
    """The database file cannot be trusted."""


def is_damage(error: BaseException) -> bool:
    """Corruption (move the file aside), as opposed to a locked, read-only or missing file."""
    if isinstance(error, CacheDamaged):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "disk i/o error" in str(error).lower() or "malformed" in str(error).lower()
    return type(error) is sqlite3.DatabaseError  # SQLITE_CORRUPT, SQLITE_NOTADB


def check_sqlite_file(path: Path, compare_size: bool = True) -> str | None:
    """Why the file at `path` is not a whole SQLite database, or None if its header looks sound.

    Reads the 100-byte header and, with `compare_size`, compares the page count it records with
    the file size, which names a truncated copy. The size comparison is only meaningful while no
    other process is checkpointing, so it is used to describe damage SQLite has already found.
    """
    size = path.stat().st_size
    if size == 0:
        return None  # SQLite treats an empty file as a new database
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return "not an SQLite database"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    if compare_size and change_counter == valid_for and page_count and size < page_count * page_size:
        return f"truncated: {size} bytes, its header says {page_count * page_size}"
    return None


@dataclass
class CacheStats:
    """What the cache did in one run, for run.json."""

    enabled: bool = True
    dir: str = ""
    hits: int = 0
    misses: int = 0
    stored: int = 0
    bad_entries: int = 0
    recovered: list[str] = dataclasses.field(default_factory=list)
    pruned: int = 0
    reduction: str = "not used"  # "hit", "miss", "not used"


class EmbeddingCache:
    """Vectors by (model key, text) in SQLite. Any damage found is logged, the file set aside and
    a fresh database started: the cache can lose entries but never returns a wrong vector."""

    def __init__(self, directory: Path, stats: CacheStats | None = None) -> None:
        self.directory = directory
        self.path = directory / DATABASE
        self.stats = stats or CacheStats(dir=str(directory))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = self._open()
        except (CacheDamaged, sqlite3.DatabaseError) as exc:
            if not is_damage(exc):
                raise
            self._recover(exc)
            self._conn = self._open()

    # -- opening, checking and recovering ------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.path.exists():
            problem = check_sqlite_file(self.path, compare_size=False)
            if problem:
                raise CacheDamaged(problem)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 60000")
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # Runs in a read transaction, so it sees a consistent file even while another process
            # writes; it catches truncation ("malformed") as well as damaged pages.
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise CacheDamaged(f"integrity check failed: {result}")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(
                # An integer key keeps the ~1.5 kB rows on the table's own pages; a composite
                # WITHOUT ROWID key would push every vector to an overflow page (3x the size).
                "CREATE TABLE IF NOT EXISTS vectors ("
                " id INTEGER PRIMARY KEY, model TEXT NOT NULL, text_hash BLOB NOT NULL, dim INTEGER NOT NULL,"
                " vector BLOB NOT NULL, checksum BLOB NOT NULL, created REAL NOT NULL, used REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS vectors_used ON vectors (used)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS fingerprints (folder TEXT PRIMARY KEY, listing TEXT NOT NULL, fingerprint TEXT NOT NULL)"
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
            if row is not None and row[0] != SCHEMA_VERSION:
                raise CacheDamaged(f"written by another version (schema {row[0]}, expected {SCHEMA_VERSION})")
        except BaseException:
            conn.close()
            raise
        return conn

    def _recover(self, error: "Exception | str") -> None:
        """Move the database (and its journal files) aside, keeping only the newest damaged copy."""
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None
        try:
            detail = check_sqlite_file(self.path) if self.path.exists() else None
        except OSError:
            detail = None
        if detail and detail not in str(error):
            error = f"{error}; {detail}"
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        aside = self.directory / f"{DATABASE}.damaged-{stamp}-{os.getpid()}"
        for old in self.directory.glob(f"{DATABASE}.damaged-*"):
            old.unlink(missing_ok=True)
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.path) + suffix)
            if source.exists():
                os.replace(source, Path(str(aside) + suffix))
        what = "cannot be used" if "another version" in str(error) else "is damaged"
        message = f"embedding cache {self.path} {what} ({error}); moved it to {aside.name} and started a new one"
        log.warning(message)
        self.stats.recovered.append(message)

    def _retry_after_damage(self, error: Exception) -> None:
        self._recover(error)
        self._conn = self._open()

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- model identity --------------------------------------------------------------------------

    def folder_fingerprint(self, folder: Path) -> str:
        """sha256 over every file's relative path, size and content hash. Content hashes are
        recomputed only when the listing of (path, size, mtime) changes, so this is cheap."""
        files = sorted(
            (path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts),
            key=lambda p: p.relative_to(folder).as_posix(),
        )
        listing_lines = []
        for path in files:
            info = path.stat()
            listing_lines.append(f"{path.relative_to(folder).as_posix()}\t{info.st_size}\t{info.st_mtime_ns}")
        listing = hashlib.sha256("\n".join(listing_lines).encode("utf-8")).hexdigest()
        row = self._query_one("SELECT listing, fingerprint FROM fingerprints WHERE folder = ?", (str(folder),))
        if row is not None and row[0] == listing:
            return row[1]
        digest = hashlib.sha256()
        for path in files:
            content = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    content.update(block)
            digest.update(f"{path.relative_to(folder).as_posix()}\t{path.stat().st_size}\t{content.hexdigest()}\n".encode())
        fingerprint = digest.hexdigest()
        self._write(
            lambda conn: conn.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)", (str(folder), listing, fingerprint))
        )
        return fingerprint

    # -- vectors ---------------------------------------------------------------------------------

    def lookup(self, model_key: str, texts: list[str]) -> tuple[np.ndarray | None, np.ndarray]:
        """Cached vectors for `texts` (rows of misses are zero) and a boolean mask of hits."""
        keys = [text_key(t) for t in texts]
        wanted = {row_id(model_key, k): k for k in keys}
        found: dict[bytes, np.ndarray] = {}
        bad: list[int] = []
        try:
            for part in _chunks(sorted(wanted)):
                marks = ",".join("?" * len(part))
                rows = self.conn.execute(
                    f"SELECT id, model, text_hash, dim, vector, checksum FROM vectors WHERE id IN ({marks})", part
                ).fetchall()
                for ident, model, key, dim, blob, checksum in rows:
                    if model != model_key or key != wanted[ident]:
                        continue  # another entry with the same 64-bit id: a miss
                    if len(blob) != 4 * dim or _vector_checksum(model_key, key, blob) != checksum:
                        bad.append(ident)
                        continue
                    found[key] = np.frombuffer(blob, dtype="<f4")
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._retry_after_damage(exc)
            found, bad = {}, []
        if bad:
            self.stats.bad_entries += len(bad)
            log.warning("embedding cache: %d entries failed their checksum; recomputing them", len(bad))
            self._write(lambda conn: conn.executemany("DELETE FROM vectors WHERE id = ?", [(i,) for i in bad]))
        hit = np.array([k in found for k in keys], dtype=bool)
        if not found:
            return None, hit
        dims = {len(v) for v in found.values()}
        if len(dims) != 1:  # cannot happen with checksums intact; refuse rather than guess
            return None, np.zeros(len(texts), dtype=bool)
        vectors = np.zeros((len(texts), dims.pop()), dtype=np.float32)
        for i, key in enumerate(keys):
            if hit[i]:
                vectors[i] = found[key]
        try:
            self._touch([ident for ident, key in wanted.items() if key in found])
        except sqlite3.OperationalError as exc:  # e.g. a read-only cache: the hits are still good
            log.debug("could not record cache use (%s)", exc)
        return vectors, hit

    def store(self, model_key: str, texts: list[str], vectors: np.ndarray) -> None:
        """Insert or replace vectors (float32, little-endian) in one transaction."""
        now = time.time()
        rows = []
        for text, vector in zip(texts, np.asarray(vectors, dtype="<f4")):
            key, blob = text_key(text), vector.tobytes()
            checksum = _vector_checksum(model_key, key, blob)
            rows.append((row_id(model_key, key), model_key, key, len(vector), blob, checksum, now, now))
        rows.sort()  # in key order, SQLite appends to its B-tree instead of splitting pages all over
        self._write(lambda conn: conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows))
        self.stats.stored += len(rows)

    def _touch(self, ids: list[int]) -> None:
        """Record use, for pruning by age; at most once a day per entry, to keep reruns cheap."""
        now = time.time()

        def update(conn: sqlite3.Connection) -> None:
            for part in _chunks(ids):
                marks = ",".join("?" * len(part))
                conn.execute(f"UPDATE vectors SET used = ? WHERE used < ? AND id IN ({marks})", [now, now - 86400, *part])

        self._write(update)

    def prune(self, max_age_days: int | None, max_size_mb: int | None) -> int:
        """Drop entries unused for `max_age_days`, then the least recently used until the file
        fits in `max_size_mb`. Returns how many entries were dropped."""
        dropped = 0
        if max_age_days is not None:
            cutoff = time.time() - max_age_days * 86400
            dropped += self._write(lambda conn: conn.execute("DELETE FROM vectors WHERE used < ?", (cutoff,)).rowcount)
        if max_size_mb is not None:
            limit = max_size_mb * 1024 * 1024
            size = self._database_bytes()
            count = self._query_one("SELECT COUNT(*) FROM vectors", ())[0]
            if size > limit and count:
                keep = int(count * (0.9 * limit) / size)
                excess = count - keep
                dropped += self._write(
                    lambda conn: conn.execute(
                        "DELETE FROM vectors WHERE id IN (SELECT id FROM vectors ORDER BY used LIMIT ?)",
                        (excess,),
                    ).rowcount
                )
        if dropped:
            self._write(lambda conn: conn.execute("PRAGMA incremental_vacuum").fetchall())
            try:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError:
                pass
            if max_size_mb is not None and self._database_bytes() > max_size_mb * 1024 * 1024:
                self.conn.execute("VACUUM")  # a file created before incremental vacuum was on
        self.stats.pruned += dropped
        return dropped

    def _database_bytes(self) -> int:
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        page_count = self.conn.execute("PRAGMA page_count").fetchone()[0]
        return int(page_size * page_count)

    def _query_one(self, sql: str, params: tuple) -> tuple | None:
        try:
            return self.conn.execute(sql, params).fetchone()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._retry_after_damage(exc)
            return self.conn.execute(sql, params).fetchone()

    def _write(self, action):
        """Run `action(conn)` in one immediate transaction; on damage, recover and retry once."""
        for attempt in (1, 2):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    result = action(self.conn)
                    self.conn.execute("COMMIT")
                    return result
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or not is_damage(exc):
                    raise
                self._retry_after_damage(exc)
        raise AssertionError("unreachable")


# -- reductions --------------------------------------------------------------------------------


def _arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\t{array.dtype.str}\t{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def reduction_key(vectors: np.ndarray, settings: dict, code: Iterable[Path]) -> str:
    """Hash of everything a reduction depends on: the exact input matrix, the settings, the
    versions of the libraries that compute it and the source of the reduce stage itself."""
    digest = hashlib.sha256()
    matrix = np.ascontiguousarray(vectors, dtype="<f4")
    digest.update(f"{matrix.shape}".encode())
    digest.update(matrix.tobytes())
    versions = {}
    for name in ("umap-learn", "pynndescent", "numba", "scikit-learn", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    digest.update(json.dumps({"settings": settings, "versions": versions}, sort_keys=True, default=str).encode())
    for path in code:
        digest.update(path.read_bytes())
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
            np.savez(stream, __checksum__=np.array(_arrays_checksum(arrays)), **arrays)
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


# -- using the cache in a run --------------------------------------------------------------------


@dataclass
class Embedded:
    """The embed stage's result: vectors for the unique headlines, and how they were obtained."""

    vectors: np.ndarray
    source: "ModelSource"
    device: str | None  # None when every vector came from the cache and the model was not loaded
    stats: CacheStats


def _hub_snapshot(name: str) -> Path | None:
    """The local Hugging Face cache folder of a hub model, if it is there (no network)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in ([name] if "/" in name else [name, f"sentence-transformers/{name}"]):
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:  # not cached, bad name...: the model loader will say so
            continue
    return None


def model_key(cache: EmbeddingCache, source: "ModelSource") -> str:
    """The model's name plus a fingerprint of its files: the same files give the same key
    wherever they are installed, and changed weights never match old vectors."""
    folder = Path(source.location) if source.kind in ("bundled", "local folder") else _hub_snapshot(source.location)
    fingerprint = cache.folder_fingerprint(folder.resolve()) if folder is not None else f"unresolved:{source.location}"
    return hashlib.sha256(json.dumps([source.name, fingerprint, EMBEDDING_RECIPE]).encode()).hexdigest()


def open_cache(cfg: "CacheConfig") -> EmbeddingCache | None:
    """The cache, or None (with a warning) when it is switched off or cannot be used."""
    if not cfg.enabled:
        return None
    directory = resolve_cache_dir(cfg.dir)
    try:
        return EmbeddingCache(directory)
    except (OSError, sqlite3.Error, CacheDamaged) as exc:
        log.warning("embedding cache in %s cannot be used (%s); running without it", directory, exc)
        return None


def embed_with_cache(texts: list[str], cfg: "Config", cache: EmbeddingCache | None, timer, progress: bool | None) -> Embedded:
    """Vectors for `texts`: cached ones are read, only the rest are embedded (and then stored).

    When every text is cached, neither torch nor the model is loaded at all.
    """
    from cluster.embed import embed_texts, load_model, pick_device, resolve_model

    source = resolve_model(cfg.embedding.model)
    stats = cache.stats if cache is not None else CacheStats(enabled=False)
    vectors, hit, key = None, np.zeros(len(texts), dtype=bool), ""
    if cache is not None:
        with timer.stage("embed"):
            try:
                key = model_key(cache, source)
                vectors, hit = cache.lookup(key, texts)
            except (OSError, sqlite3.Error) as exc:
                log.warning("embedding cache lookup failed (%s); embedding everything", exc)
                vectors, hit, cache = None, np.zeros(len(texts), dtype=bool), None
    stats.hits, stats.misses = int(hit.sum()), int((~hit).sum())
    if cache is not None:
        log.info("embedding cache: %d of %d distinct headlines cached, %d to embed", stats.hits, len(texts), stats.misses)
    device = None
    if stats.misses:
        with timer.stage("load_model"):
            device = pick_device(cfg.embedding.device)
            log.info("loading model %s (%s) on %s", source.name, source.kind, device)
            model = load_model(source, device)
        with timer.stage("embed"):
            missing = [t for t, h in zip(texts, hit) if not h]
            log.info("embedding %d headlines", len(missing))
            fresh = embed_texts(missing, model, cfg.embedding.batch_size, progress)
            if vectors is None:
                vectors = np.zeros((len(texts), fresh.shape[1]), dtype=np.float32)
            vectors[~hit] = fresh
            if cache is not None:
                try:
                    cache.store(key, missing, fresh)
                except (OSError, sqlite3.Error) as exc:
                    log.warning("could not store embeddings in the cache (%s)", exc)
    assert vectors is not None
    return Embedded(vectors=vectors, source=source, device=device, stats=stats)


def reduce_with_cache(
    vectors: np.ndarray, texts: list[str], cfg: "ReductionConfig", cache: EmbeddingCache | None, words=None
):
    """`reduce_embeddings` (given `words`, the texts' word vectors, when the caller has them), or
    its stored result for exactly this input and these settings."""
    from cluster import reduce as reduce_module

    if cache is None:
        return reduce_module.reduce_embeddings(vectors, cfg, texts, words)
    fields = [f.name for f in dataclasses.fields(reduce_module.Reduction)]
    # the neighbour graph also reads the words of the headlines, so they are part of the key
    texts_digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    settings = {
        "config": cfg.model_dump(mode="json"),
        "map_min_dist": reduce_module.MAP_MIN_DIST,
        "fields": fields,
        "texts": texts_digest,
    }
    key = reduction_key(vectors, settings, [Path(reduce_module.__file__)])
    try:
        stored = load_arrays(cache.directory, key)
    except OSError as exc:
        log.warning("reduction cache unreadable (%s); recomputing", exc)
        stored = None
    if stored is not None and set(stored) == set(fields):
        cache.stats.reduction = "hit"
        log.info("UMAP result found in the cache")
        return reduce_module.Reduction(**stored)
    cache.stats.reduction = "miss"
    reduction = reduce_module.reduce_embeddings(vectors, cfg, texts, words)
    try:
        save_arrays(cache.directory, key, {name: getattr(reduction, name) for name in fields})
    except OSError as exc:
        log.warning("could not store the UMAP result in the cache (%s)", exc)
    return reduction


def finish_cache(cache: EmbeddingCache | None, cfg: "CacheConfig") -> dict:
    """Prune, close, and return what run.json records about the cache."""
    if cache is None:
        return {"enabled": False}
    try:
        cache.prune(cfg.max_age_days, cfg.max_size_mb)
        cache.stats.pruned += prune_arrays(cache.directory, cfg.max_age_days)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not prune the cache (%s)", exc)
    cache.close()
    return dataclasses.asdict(cache.stats)
