"""cluster.compute: how work is cut into parts, and the in-process path (no Dask needed).
The Dask paths are checked end to end in test_scenario_dask.py."""

from __future__ import annotations

import builtins

import pytest

from cluster.compute import Compute, split, thread_counts, with_threads
from cluster.config import ComputeConfig
from cluster.config_files import load_config
from cluster.errors import ConfigError


def test_split_covers_everything_once_in_order_with_aligned_boundaries():
    parts = split(1000, 300, align=256)
    assert [(p.start, p.stop) for p in parts] == [(0, 512), (512, 1000)]
    assert split(0, 10) == []
    assert [(p.start, p.stop) for p in split(5, 2)] == [(0, 2), (2, 4), (4, 5)]


def test_split_boundaries_never_cut_an_aligned_block():
    for size in (1, 100, 256, 300, 4096):
        starts = [p.start for p in split(10_000, size, align=256)]
        assert all(start % 256 == 0 for start in starts)


def test_in_process_map_keeps_order_passes_shared_values_and_reports_each_part():
    finished: list[int] = []
    with Compute(ComputeConfig()) as compute:
        assert not compute.distributed
        result = compute.map(
            lambda part, scale: [x * scale for x in part], [[1, 2], [3]], {"scale": 10}, finished.append
        )
        assert compute.workers_peak_rss_mb() == []
    assert result == [[10, 20], [30]]
    assert finished == [0, 1]


def test_a_task_runs_with_the_thread_counts_it_is_given_and_they_come_back_after():
    """A backfill's fit on a worker runs with the client's BLAS and OpenMP threads (its nanny
    started it with one each), so that it rounds as an in-process fit does."""
    from threadpoolctl import threadpool_info

    here = thread_counts()
    assert here.get("blas", 0) >= 1

    def seen(part: int, offset: int) -> tuple[int, dict[str, int]]:
        return part + offset, {pool["user_api"]: pool["num_threads"] for pool in threadpool_info()}

    value, inside = with_threads(1, seen, {"blas": 1}, offset=2)
    assert value == 3 and inside["blas"] == 1
    assert thread_counts() == here


def test_missing_dask_is_a_config_error_that_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def without_dask(name, *args, **kwargs):
        if name.startswith(("distributed", "dask")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_dask)
    with pytest.raises(ConfigError, match=r"Dask is not installed; pip install -e '\.\[dask\]'"):
        Compute(ComputeConfig(scheduler="local")).__enter__()


@pytest.mark.parametrize("value", ["none", "local", "tcp://10.0.0.5:8786", "tls://scheduler:8786"])
def test_scheduler_accepts_none_local_and_addresses(value):
    assert load_config(None, [f"compute.scheduler={value}"]).compute.scheduler == value


@pytest.mark.parametrize("value", ["dask", "10.0.0.5:8786", "local-cluster", "tcp://127.0.0.1", "inproc://x"])
def test_scheduler_refuses_anything_else_naming_the_choices(value):
    with pytest.raises(ConfigError, match=r"compute\.scheduler.*none, local or a scheduler address"):
        load_config(None, [f"compute.scheduler={value}"])


def test_where_work_runs_is_not_part_of_a_runs_identity():
    from cluster.config import computation_settings

    local = load_config(None, ["compute.scheduler=local", "compute.partition_size=512"]).model_dump(mode="json")
    plain = load_config(None, []).model_dump(mode="json")
    assert computation_settings(local) == computation_settings(plain)


def test_a_sample_smaller_than_a_topic_is_refused_before_anything_runs():
    with pytest.raises(ConfigError, match=r"scale\.fit_sample \(100\) is smaller than clustering\.min_cluster_size"):
        load_config(None, ["scale.fit_sample=100", "clustering.min_cluster_size=150"])
