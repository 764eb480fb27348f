"""The embedding and reduction stores: exact round trips, damage detection and recovery, pruning,
and sharing between processes. These tests use made-up vectors; the real model is in
test_scenario_cache.py."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cluster.store import Cache, default_cache_dir
from cluster.store.embeddings import (
    DATABASE,
    EmbeddingStore,
    check_sqlite_file,
    fingerprint_folder,
    row_id,
    text_key,
)
from cluster.store.reductions import ReductionStore, load_arrays, prune_arrays, save_arrays

MODEL = "model-key"


def random_vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def filled_cache(directory: Path, n: int = 300) -> tuple[list[str], np.ndarray]:
    texts = [f"headline number {i}" for i in range(n)]
    vectors = random_vectors(n)
    cache = EmbeddingStore(directory)
    cache.store(MODEL, texts, vectors)
    cache.close()
    return texts, vectors


def test_vectors_come_back_bit_for_bit(tmp_path):
    texts, vectors = filled_cache(tmp_path)
    cache = EmbeddingStore(tmp_path)
    query = ["unknown headline", texts[5], texts[0], texts[5]]
    found, hit = cache.lookup(MODEL, query)
    assert hit.tolist() == [False, True, True, True]
    assert found.dtype == np.float32
    assert found[1].tobytes() == vectors[5].tobytes() and found[2].tobytes() == vectors[0].tobytes()
    assert found[3].tobytes() == vectors[5].tobytes()
    # another model never sees these vectors
    assert not cache.lookup("other-model", texts[:3])[1].any()


def test_default_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HEADLINE_CLUSTER_CACHE_DIR", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("HEADLINE_CLUSTER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "headline-cluster"


def test_truncated_database_is_set_aside_with_a_warning_and_rebuilt(tmp_path, caplog):
    texts, vectors = filled_cache(tmp_path)
    path = tmp_path / DATABASE
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 2)
    assert "truncated" in check_sqlite_file(path)
    with caplog.at_level(logging.WARNING, logger="cluster.store"):
        cache = EmbeddingStore(tmp_path)
    assert "damaged" in caplog.text and "truncated" in caplog.text
    assert cache.stats.recovered
    assert list(tmp_path.glob(f"{DATABASE}.damaged-*")), "the damaged file is kept aside for inspection"
    found, hit = cache.lookup(MODEL, texts)
    assert not hit.any(), "nothing from the damaged file is trusted"
    cache.store(MODEL, texts[:10], vectors[:10])
    assert cache.lookup(MODEL, texts[:10])[1].all()


def test_file_that_is_not_a_database_is_replaced(tmp_path, caplog):
    (tmp_path / DATABASE).write_bytes(b"this is not sqlite" * 100)
    with caplog.at_level(logging.WARNING, logger="cluster.store"):
        cache = EmbeddingStore(tmp_path)
    assert "not an SQLite database" in caplog.text
    cache.store(MODEL, ["a"], random_vectors(1))
    assert cache.lookup(MODEL, ["a"])[1].all()


def test_corrupted_pages_are_detected(tmp_path, caplog):
    texts, _ = filled_cache(tmp_path, n=2000)
    path = tmp_path / DATABASE
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, 7 * page):  # scribble over B-tree pages, keep the header
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="cluster.store"):
        cache = EmbeddingStore(tmp_path)
        found, hit = cache.lookup(MODEL, texts)
    assert "damaged" in caplog.text
    assert not hit.any()


def test_a_vector_altered_in_place_fails_its_checksum_and_is_recomputed(tmp_path, caplog):
    texts, vectors = filled_cache(tmp_path, n=5)
    conn = sqlite3.connect(tmp_path / DATABASE)
    blob = bytearray(conn.execute("SELECT vector FROM vectors LIMIT 1").fetchone()[0])
    blob[0] ^= 0x01  # one flipped bit: still a plausible float
    key = conn.execute("SELECT text_hash FROM vectors LIMIT 1").fetchone()[0]
    conn.execute("UPDATE vectors SET vector = ? WHERE text_hash = ?", (bytes(blob), key))
    conn.commit()
    conn.close()
    with caplog.at_level(logging.WARNING, logger="cluster.store"):
        cache = EmbeddingStore(tmp_path)
        found, hit = cache.lookup(MODEL, texts)
    assert hit.sum() == 4 and "checksum" in caplog.text
    for i in np.flatnonzero(hit):
        assert found[i].tobytes() == vectors[i].tobytes()
    assert cache.lookup(MODEL, texts)[1].sum() == 4, "the bad row was dropped"


def test_prune_by_age_drops_entries_unused_for_that_long(tmp_path):
    texts, _ = filled_cache(tmp_path, n=3000)
    cache = EmbeddingStore(tmp_path)
    old = time.time() - 100 * 86400
    stale = [row_id(MODEL, text_key(t)) for t in texts[:1000]]
    cache.conn.executemany("UPDATE vectors SET used = ? WHERE id = ?", [(old, i) for i in stale])
    assert cache.prune(max_age_days=90, max_size_mb=None) == 1000
    assert cache.lookup(MODEL, texts)[1].tolist() == [False] * 1000 + [True] * 2000
    assert cache.prune(max_age_days=None, max_size_mb=100) == 0, "under the size limit nothing goes"


def test_prune_by_size_keeps_the_most_recently_used(tmp_path):
    texts = [f"headline {i}" for i in range(6000)]
    cache = EmbeddingStore(tmp_path)
    vectors = random_vectors(6000, dim=96)
    cache.store(MODEL, texts, vectors)
    cache.conn.executemany(
        "UPDATE vectors SET used = ? WHERE id = ?",
        [(1000.0 + i, row_id(MODEL, text_key(t))) for i, t in enumerate(texts)],
    )
    assert cache._database_bytes() > 2 * 1024 * 1024
    dropped = cache.prune(max_age_days=None, max_size_mb=1)
    assert dropped > 0
    assert cache._database_bytes() <= 1024 * 1024
    hit = cache.lookup(MODEL, texts)[1]
    assert hit[-100:].all() and not hit[:100].any(), "least recently used go first"


def test_model_fingerprint_follows_file_contents_and_is_memoised(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"a" * 1000)
    (folder / "config.json").write_text("{}")
    cache = EmbeddingStore(tmp_path / "cache")
    first = cache.folder_fingerprint(folder)
    assert cache.folder_fingerprint(folder) == first
    (folder / "weights.bin").write_bytes(b"b" * 1000)  # same size, new content
    os.utime(folder / "weights.bin", ns=(1, 1))
    assert cache.folder_fingerprint(folder) != first


def test_two_processes_write_one_cache_at_once(tmp_path):
    """Both writers' entries end up in the database, and neither fails on a lock."""
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from cluster.store.embeddings import EmbeddingStore\n"
        "tag = sys.argv[2]\n"
        "for round in range(20):\n"
        "    cache = EmbeddingStore(Path(sys.argv[1]))\n"
        "    texts = [f'{tag} {round} {i}' for i in range(200)]\n"
        "    cache.store('m', texts, np.full((200, 4), float(round), dtype=np.float32))\n"
        "    assert cache.lookup('m', texts)[1].all()\n"
        "    cache.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag]) for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    cache = EmbeddingStore(tmp_path)
    texts = [f"{tag} {r} {i}" for tag in "ab" for r in range(20) for i in range(200)]
    assert cache.lookup("m", texts)[1].all()


def test_reduction_arrays_round_trip_and_damage_is_refused(tmp_path, caplog):
    arrays = {"points": random_vectors(50, 5), "map_xy": random_vectors(50, 2)}
    save_arrays(tmp_path, "k1", arrays)
    loaded = load_arrays(tmp_path, "k1")
    assert set(loaded) == {"points", "map_xy"}
    assert all(loaded[name].tobytes() == arrays[name].tobytes() for name in arrays)
    assert load_arrays(tmp_path, "missing") is None
    path = tmp_path / "reductions" / "k1.npz"
    path.write_bytes(path.read_bytes()[:-100])
    with caplog.at_level(logging.WARNING, logger="cluster.store"):
        assert load_arrays(tmp_path, "k1") is None
    assert "damaged" in caplog.text and not path.exists()
    assert not list((tmp_path / "reductions").glob(".*partial")), "no temporary file left"


def test_reduction_files_are_pruned_by_count(tmp_path):
    for i in range(5):
        save_arrays(tmp_path, f"k{i}", {"a": np.zeros(3)})
        os.utime(tmp_path / "reductions" / f"k{i}.npz", (1000 + i, 1000 + i))
    assert prune_arrays(tmp_path, max_age_days=None, keep=2) == 3
    assert sorted(p.stem for p in (tmp_path / "reductions").glob("*.npz")) == ["k3", "k4"]


def test_reduction_store_wraps_the_array_files(tmp_path):
    with ReductionStore(tmp_path) as store:
        store.save("k", {"points": np.arange(6, dtype=np.float32).reshape(3, 2)})
        assert store.load("k")["points"].tolist() == [[0, 1], [2, 3], [4, 5]]
        assert store.prune(max_age_days=None, keep=0) == 1
        assert store.load("k") is None


def test_the_cache_closes_its_database_on_the_way_out_even_after_an_error(tmp_path):
    try:
        with Cache(tmp_path) as cache:
            cache.embeddings.store("m", ["a"], random_vectors(1))
            raise KeyError("a stage failed")
    except KeyError:
        pass
    assert cache.embeddings._conn is None
    assert cache.report()["stored"] == 1


class _FailingConnection:
    """A connection whose statements fail as on a disk that hiccups; everything else is the real one's."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def execute(self, *args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_passing_disk_io_error_keeps_the_database_where_it_is(tmp_path, caplog):
    from cluster.store.cached import cached_rows

    texts, vectors = filled_cache(tmp_path)
    before = (tmp_path / DATABASE).stat().st_size
    with Cache(tmp_path) as cache:
        cache.embeddings._conn = _FailingConnection(cache.embeddings._conn)
        with caplog.at_level(logging.WARNING):
            rows = cached_rows(cache, MODEL, texts[:3], lambda missing: np.ones((len(missing), 8), dtype=np.float32))
        assert rows.tolist() == np.ones((3, 8)).tolist(), "the run goes on without the cache: all computed"
        assert "disk I/O error" in caplog.text and not cache.stats.recovered
        model = tmp_path / "model"
        model.mkdir()
        (model / "weights.bin").write_bytes(b"a" * 100)
        assert cache.embeddings.folder_fingerprint(model) == fingerprint_folder(model), "it does not need the store"
        cache.embeddings._conn = cache.embeddings._conn.real
    assert not list(tmp_path.glob(f"{DATABASE}.damaged-*")), "nothing was moved aside"
    assert (tmp_path / DATABASE).stat().st_size >= before
    with EmbeddingStore(tmp_path) as store:
        found, hit = store.lookup(MODEL, texts)
    assert hit.all() and found.tobytes() == vectors.tobytes(), "every row is still there"


def test_an_io_error_on_a_truncated_file_is_damage(tmp_path):
    from cluster.store.embeddings import is_damage

    filled_cache(tmp_path)
    error = sqlite3.OperationalError("disk I/O error")
    assert not is_damage(error, tmp_path / DATABASE), "a sound file: a passing error"
    with open(tmp_path / DATABASE, "r+b") as handle:
        handle.truncate((tmp_path / DATABASE).stat().st_size // 2)
    assert is_damage(error, tmp_path / DATABASE), "SQLite reads past the end of a truncated file as an I/O error"
    assert is_damage(sqlite3.DatabaseError("database disk image is malformed"))
