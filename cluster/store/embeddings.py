"""The embedding store: vectors by (model, headline text) in one SQLite database.

SQLite gives atomic transactions and is safe when several processes share the file (WAL journal,
busy timeout). Every vector is stored with a checksum bound to its key, so a damaged row is never
returned: it is dropped and recomputed. A damaged or truncated database file is moved aside with
a warning and a new one is built. Storage only: what to embed, and with which model, is the embed
stage's business.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import sqlite3
import struct
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from cluster.store.stats import CacheStats

log = logging.getLogger(__name__)

DATABASE = "embeddings.sqlite"
SCHEMA_VERSION = "2"
_SQL_CHUNK = 500  # parameters per IN (...) query; SQLite's limit is at least 999
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _chunks(items: list[Any], size: int = _SQL_CHUNK) -> Iterator[list[Any]]:
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


def _model_files(folder: Path) -> list[Path]:
    return sorted(
        (path for path in folder.rglob("*") if path.is_file() and "__pycache__" not in path.parts),
        key=lambda p: p.relative_to(folder).as_posix(),
    )


def _listing(folder: Path, files: list[Path]) -> str:
    """A hash of every file's relative path, size and modification time: cheap, and it changes
    whenever a file does."""
    lines = []
    for path in files:
        info = path.stat()
        lines.append(f"{path.relative_to(folder).as_posix()}\t{info.st_size}\t{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _content_fingerprint(folder: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        content = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{path.relative_to(folder).as_posix()}\t{path.stat().st_size}\t{content.hexdigest()}\n".encode())
    return digest.hexdigest()


def fingerprint_folder(folder: Path) -> str:
    """A model's identity: sha256 over every file's relative path, size and content hash, so the
    same files give the same fingerprint wherever they are installed."""
    return _content_fingerprint(folder, _model_files(folder))


class CacheDamaged(Exception):
    """The database file cannot be trusted."""


def is_damage(error: BaseException, path: Path | None = None) -> bool:
    """Corruption (move the file aside), as opposed to a locked, read-only or missing file or a
    passing I/O error. A "disk I/O error" counts as damage only when the file at `path` is
    truncated too (SQLite reads past its end as an I/O error): a healthy database must never be
    discarded because a network disk hiccuped."""
    if isinstance(error, CacheDamaged):
        return True
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        if "disk i/o error" in message and path is not None:
            return _truncated(path)
        return "malformed" in message
    return type(error) is sqlite3.DatabaseError  # SQLITE_CORRUPT, SQLITE_NOTADB


def _truncated(path: Path) -> bool:
    """Whether the file's header names it as damaged (truncated, or not a database at all)."""
    try:
        return path.exists() and check_sqlite_file(path) is not None
    except OSError:
        return False  # cannot even read the header: an I/O problem, not proof of damage


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


class EmbeddingStore:
    """Vectors by (model key, text) in SQLite. Any damage found is logged, the file set aside and
    a fresh database started: the store can lose entries but never returns a wrong vector.

    `with EmbeddingStore(folder) as store:` closes the database on the way out."""

    def __init__(self, directory: Path, stats: CacheStats | None = None) -> None:
        self.directory = directory
        self.path = directory / DATABASE
        self.stats = stats or CacheStats(dir=str(directory))
        self.directory.mkdir(parents=True, exist_ok=True)
        self._conn: sqlite3.Connection | None = None
        try:
            self._conn = self._open()
        except (CacheDamaged, sqlite3.DatabaseError) as exc:
            if not is_damage(exc, self.path):
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
                "CREATE TABLE IF NOT EXISTS fingerprints"
                " (folder TEXT PRIMARY KEY, listing TEXT NOT NULL, fingerprint TEXT NOT NULL)"
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

    def __enter__(self) -> "EmbeddingStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fingerprints of model folders ----------------------------------------------------------

    def folder_fingerprint(self, folder: Path) -> str:
        """`fingerprint_folder(folder)`, remembered by the listing of (path, size, mtime) so that
        the files are hashed again only when one changes. A database that cannot be read or
        written just means hashing them again: the fingerprint never depends on the store."""
        files = _model_files(folder)
        listing = _listing(folder, files)
        try:
            row = self._query_one("SELECT listing, fingerprint FROM fingerprints WHERE folder = ?", (str(folder),))
        except sqlite3.Error as exc:
            log.debug("could not read the remembered fingerprint of %s (%s)", folder, exc)
            row = None
        if row is not None and row[0] == listing:
            return str(row[1])
        fingerprint = _content_fingerprint(folder, files)
        try:
            self._write(
                lambda conn: conn.execute(
                    "INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)", (str(folder), listing, fingerprint)
                )
            )
        except sqlite3.Error as exc:
            log.debug("could not remember the fingerprint of %s (%s)", folder, exc)
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
            if not is_damage(exc, self.path):
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
        self._write(
            lambda conn: conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        )
        self.stats.stored += len(rows)

    def _touch(self, ids: list[int]) -> None:
        """Record use, for pruning by age; at most once a day per entry, to keep reruns cheap."""
        now = time.time()

        def update(conn: sqlite3.Connection) -> None:
            for part in _chunks(ids):
                marks = ",".join("?" * len(part))
                conn.execute(
                    f"UPDATE vectors SET used = ? WHERE used < ? AND id IN ({marks})", [now, now - 86400, *part]
                )

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
                    lambda conn: (
                        conn.execute(
                            "DELETE FROM vectors WHERE id IN (SELECT id FROM vectors ORDER BY used LIMIT ?)",
                            (excess,),
                        ).rowcount
                    )
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

    def _query_one(self, sql: str, params: tuple[Any, ...]) -> Any:
        try:
            return self.conn.execute(sql, params).fetchone()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc, self.path):
                raise
            self._retry_after_damage(exc)
            return self.conn.execute(sql, params).fetchone()

    def _write(self, action: Callable[[sqlite3.Connection], Any]) -> Any:
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
                if attempt == 2 or not is_damage(exc, self.path):
                    raise
                self._retry_after_damage(exc)
        raise AssertionError("unreachable")
