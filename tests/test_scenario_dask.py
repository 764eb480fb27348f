"""`compute.scheduler`: the same job on Dask workers writes the same CSVs, byte for byte, as in
this process. Once on a LocalCluster of two workers, once on a `dask scheduler` and two
`dask worker` processes on localhost. The example goes through the sample path, so reading,
embedding, the vote that assigns the rest and the c-TF-IDF counts all run on the workers.

Dask is an optional extra (`pip install -e ".[dask]"`): without it these tests skip, except in
CI (where `CI` is set), where they must run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLE_CONFIG, EXAMPLE_INPUT, SAMPLE_SETTINGS, backfill, invoke

CSVS = ("topics.csv", "headlines.csv", "rejected.csv", "changes.csv")


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
            pytest.fail('Dask is not installed; CI must install the project with ".[dev,dask]"', pytrace=False)
        pytest.skip('Dask is not installed (pip install -e ".[dask]")')


def dask_run(tmp_path: Path, scheduler: str, name: str) -> Path:
    cache = tmp_path / f"cache-{name}"
    args = ["--config", str(EXAMPLE_CONFIG), "--run-id", "sampled", "--set", f"cache.dir={cache}", *SAMPLE_SETTINGS,
            "--scheduler", scheduler, "--set", "compute.partition_size=256"]  # fmt: skip
    run = invoke(args, tmp_path / name)
    assert run.exit_code == 0, run.stderr
    return run.folder


def assert_same_csvs(folder: Path, reference: Path) -> None:
    for name in CSVS:
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


def test_local_cluster_writes_the_same_csvs_as_the_in_process_run(example_sample_run, tmp_path):
    require_dask()
    folder = dask_run(tmp_path, "local", "local")
    assert_same_csvs(folder, example_sample_run.folder)
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["config"]["compute"]["scheduler"] == "local"
    assert len(manifest["memory"]["workers_peak_rss_mb"]) == 2
    assert manifest["cache"]["stored"] == manifest["counts"]["unique"], "the embedding cache still fills"


@pytest.fixture
def scheduler_and_workers(tmp_path):
    """`dask scheduler` and two `dask worker` processes on localhost; yields the address."""
    require_dask()
    dask = [sys.executable, "-m", "dask"]
    scheduler_file = tmp_path / "scheduler.json"
    logs = (tmp_path / "dask.log").open("w")
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], stdout=logs, stderr=logs)]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            worker = [*dask, "worker", address, "--nthreads", "1", "--no-dashboard"]
            processes.append(subprocess.Popen(worker, stdout=logs, stderr=logs))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        logs.close()


def test_separate_scheduler_and_worker_processes_write_the_same_csvs(
    example_sample_run, scheduler_and_workers, tmp_path
):
    folder = dask_run(tmp_path, scheduler_and_workers, "remote")
    assert_same_csvs(folder, example_sample_run.folder)
    manifest = json.loads((folder / "run.json").read_text())
    assert manifest["config"]["compute"]["scheduler"] == scheduler_and_workers


def test_vote_over_many_parts_on_workers_equals_the_in_process_vote():
    """Results come back in part order, whatever order the workers finish in."""
    require_dask()
    import numpy as np

    from cluster.clustering import BY_HDBSCAN, Assignment
    from cluster.compute import Compute
    from cluster.config import ClusteringConfig, ComputeConfig, ScaleConfig
    from cluster.scale import assign_rest, draw_sample

    rng = np.random.default_rng(11)
    centres = rng.standard_normal((8, 32))
    vectors = np.repeat(centres, 500, axis=0) + 0.6 * rng.standard_normal((4000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    sample = draw_sample(len(vectors), 500, seed=0)
    fitted = Assignment(np.repeat(np.arange(8), 500)[sample], np.full(len(sample), BY_HDBSCAN, dtype=object))
    sample_map = rng.standard_normal((len(sample), 2)).astype(np.float32)
    results = []
    for scheduler in ("none", "local"):
        with Compute(ComputeConfig(scheduler=scheduler, partition_size=256)) as compute:
            settings = (ClusteringConfig(), ScaleConfig())
            assignment, map_xy = assign_rest(
                vectors, np.ones(len(vectors)), sample, fitted, sample_map, *settings, compute
            )
            results.append((assignment.labels, list(assignment.assigned_by), map_xy))
    (labels, by, xy), (labels_dask, by_dask, xy_dask) = results
    assert np.array_equal(labels, labels_dask) and by == by_dask and np.array_equal(xy, xy_dask)


def test_a_bad_input_file_read_on_a_worker_is_one_line_and_exit_2(tmp_path):
    require_dask()
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "a.csv").write_text(EXAMPLE_INPUT.read_text(encoding="utf-8"), encoding="utf-8")
    (shards / "b.csv").write_text("id,headline\n", encoding="utf-8")  # a header and no rows
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cluster", "run", "--input", str(shards), "--output-dir", str(out),
               "--scheduler", "local", "--set", "cache.enabled=false"]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2, completed.stderr
    assert "input file is empty (a header but no rows)" in completed.stderr and "b.csv" in completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_clear_line_and_exit_2(tmp_path):
    require_dask()
    args = ["--config", str(EXAMPLE_CONFIG), "--scheduler", "tcp://127.0.0.1:9", "--set", "cache.enabled=false"]
    run = invoke(args, tmp_path / "out")
    assert run.exit_code == 2
    assert "cannot reach a Dask scheduler at tcp://127.0.0.1:9" in run.stderr
    assert not (tmp_path / "out").exists()


def test_a_backfill_fitted_on_workers_writes_the_same_files_as_in_process(two_weeks_input, tmp_path):
    """Both weeks are fitted on the workers at once (UMAP and HDBSCAN: short lists are sent
    through them here), then tracked in week order: the same files as one after another in this
    process. The fits' results are taken out of the cache in between, so the workers fit."""
    require_dask()
    from cluster.store import REDUCTIONS

    cache = tmp_path / "cache"
    span = ["--from", "2014-W13", "--to", "2014-W14", "--input", str(two_weeks_input), "--set", f"cache.dir={cache}",
            "--set", "clustering.small_input_below=100"]  # fmt: skip
    here = backfill(span, tmp_path / "here")
    assert here.exit_code == 0, here.stderr
    shutil.rmtree(cache / REDUCTIONS)
    there = backfill([*span, "--scheduler", "local", "--set", "compute.partition_size=256"], tmp_path / "there")
    assert there.exit_code == 0, there.stderr
    assert "week 2014-W14 fitted on a worker" in there.stderr
    for week in ("2014-W13", "2014-W14"):
        for name in (*CSVS, "topic_centroids.npz", "topic_map.png", "topic_map.html", "report.html"):
            assert (there.folder / week / name).read_bytes() == (here.folder / week / name).read_bytes(), (week, name)
        manifest = json.loads((there.folder / week / "run.json").read_text())
        assert manifest["fit"]["mode"] == "whole" and manifest["cache"]["reduction"] == "miss"
        assert len(manifest["memory"]["workers_peak_rss_mb"]) == 2
    for name in ("timeline.csv", "timeline.xlsx", "timeline.png", "timeline.html"):
        assert (there.folder / name).read_bytes() == (here.folder / name).read_bytes(), name
    manifest = json.loads((there.folder / "2014-W14" / "run.json").read_text())
    assert manifest["tracking"]["previous_run"] == "2014-W13"
