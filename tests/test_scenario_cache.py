"""The cache in real runs: the real model on the shipped real headlines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cluster.embed import model_key
from cluster.store import Cache
from cluster.store.embeddings import DATABASE

from conftest import EXAMPLE_CONFIG, REPO, invoke

OUTPUT_FILES = ("topics.csv", "headlines.csv", "rejected.csv", "changes.csv")

# Runs the CLI in a fresh interpreter and reports which heavy libraries it imported.
WARM_RUN = """
import json, sys
from cluster.cli import app
try:
    app(sys.argv[1:], prog_name="cluster")
except SystemExit as exit:
    code = exit.code
heavy = ("torch", "sentence_transformers", "transformers", "onnxruntime", "umap", "numba", "sklearn.cluster")
heavy = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({"exit": code, "imported": heavy}))
"""


def test_cold_run_stores_every_vector(example_run):
    manifest = json.loads((example_run.folder / "run.json").read_text())
    cache = manifest["cache"]
    assert cache["enabled"] and cache["hits"] == 0
    assert cache["misses"] == cache["stored"] == manifest["counts"]["unique"]
    assert cache["reduction"] == "miss" and cache["clustering"] == "miss"


def test_warm_rerun_embeds_nothing_loads_no_model_and_writes_identical_files(example_run, example_cache, tmp_path):
    args = [
        "run",
        "--config",
        str(EXAMPLE_CONFIG),
        "--run-id",
        "first",
        "--output-dir",
        str(tmp_path),
        "--set",
        f"cache.dir={example_cache}",
    ]
    done = subprocess.run(
        [sys.executable, "-c", WARM_RUN, *args], capture_output=True, text=True, cwd=REPO, timeout=600
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exit"] in (0, None), done.stderr
    assert report["imported"] == [], "a fully cached run must not load torch, the model, UMAP or HDBSCAN"
    manifest = json.loads((tmp_path / "first" / "run.json").read_text())
    assert manifest["cache"]["misses"] == 0
    assert manifest["cache"]["hits"] == manifest["counts"]["unique"]
    assert manifest["cache"]["reduction"] == "hit"
    assert manifest["cache"]["clustering"] == "hit", "HDBSCAN's pieces come from the cache too"
    assert manifest["resolved"]["device"] is None, "the model was not loaded"
    for name in OUTPUT_FILES:
        assert (tmp_path / "first" / name).read_bytes() == (example_run.folder / name).read_bytes(), name


def test_cached_vectors_are_identical_to_freshly_computed_ones(example_run, example_cache):
    from cluster.embed import embed_texts, resolve_model, route_for
    from cluster.pipeline import prepare_input
    from cluster.plan import plan_week

    plan = plan_week(EXAMPLE_CONFIG)
    cfg = plan.config
    texts = prepare_input(cfg, plan.window).unique.texts
    source = resolve_model(cfg.embedding.model)
    with Cache(example_cache) as cache:
        route = route_for(cfg.embedding, cache)
        cached, hit = cache.embeddings.lookup(model_key(cache, source, route.backend), texts)
    assert hit.all()
    fresh = embed_texts(texts, route, cfg.embedding.batch_size, progress=False)
    assert cached.dtype == fresh.dtype and np.array_equal(cached, fresh)


def test_truncated_cache_file_is_recovered_from_with_a_warning(example_run, example_cache, tmp_path):
    damaged = tmp_path / "cache"
    shutil.copytree(example_cache, damaged)
    database = damaged / DATABASE
    with open(database, "r+b") as handle:
        handle.truncate(database.stat().st_size // 3)
    run = invoke(
        ["--config", str(EXAMPLE_CONFIG), "--run-id", "first", "--set", f"cache.dir={damaged}"], tmp_path / "out"
    )
    assert run.exit_code == 0, run.stderr
    assert "embedding cache" in run.stderr and "damaged" in run.stderr and "truncated" in run.stderr
    manifest = json.loads((run.folder / "run.json").read_text())
    assert manifest["cache"]["recovered"] and manifest["cache"]["hits"] == 0
    assert manifest["cache"]["stored"] == manifest["counts"]["unique"], "the cache was rebuilt"
    for name in OUTPUT_FILES:
        assert (run.folder / name).read_bytes() == (example_run.folder / name).read_bytes(), name


def test_cache_can_be_switched_off(tmp_path, example_run):
    run = invoke(
        [
            "--config",
            str(EXAMPLE_CONFIG),
            "--run-id",
            "x",
            "--set",
            "cache.enabled=false",
            "--set",
            f"cache.dir={tmp_path / 'never'}",
            "--set",
            "input.until=2014-03-25",
        ],
        tmp_path / "out",
    )
    assert run.exit_code == 0, run.stderr
    assert json.loads((run.folder / "run.json").read_text())["cache"] == {"enabled": False}
    assert not (tmp_path / "never").exists()


def test_a_run_that_fails_midway_closes_the_cache(tmp_path, monkeypatch):
    # A library caller who catches the error and carries on must not be left holding the SQLite file.
    import cluster.store
    from cluster.pipeline import prepare_input, run
    from cluster.plan import plan_week

    opened = []

    class RecordedCache(cluster.store.Cache):
        def __init__(self, directory):
            super().__init__(directory)
            opened.append(self)

    monkeypatch.setattr(cluster.store, "Cache", RecordedCache)
    plan = plan_week(EXAMPLE_CONFIG, overrides=[f"cache.dir={tmp_path / 'cache'}", f"output.dir={tmp_path / 'out'}"])
    prepared = prepare_input(plan.config, plan.window)
    wrong_shape = np.zeros((len(prepared.unique.texts) + 1, 384), dtype=np.float32)
    with pytest.raises(ValueError, match="vectors given"):
        run(plan.config, prepared, "x", progress=False, vectors=wrong_shape)
    assert len(opened) == 1
    assert opened[0].embeddings._conn is None
