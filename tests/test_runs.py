"""Run folders without the model: the output-folder lock, atomic publishing and retention."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from cluster.config_files import load_config
from cluster.errors import ConfigError, RunLocked
from cluster.lock import LOCK_NAME, RunLock
from cluster.runs import STATE_FILE, find_previous_run, prune_runs, publish_run, run_fingerprint
from cluster.track import TopicState, text_hashes


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def write_lock(folder, **holder):
    (folder / LOCK_NAME).write_text(json.dumps(holder))


def test_lock_records_the_holder_and_refuses_a_second_taker(tmp_path):
    with RunLock(tmp_path):
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RunLocked, match=f"pid {os.getpid()} on .*, started 20"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()


def test_lock_of_a_dead_process_is_cleared(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), host=socket.gethostname(), started="2026-11-30T06:00:00+00:00")
    lock = RunLock(tmp_path)
    lock.acquire()
    assert "stale lock" in lock.cleared and "2026-11-30T06:00:00" in lock.cleared
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()


def test_lock_from_another_host_is_respected(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), host="some-other-host", started="2026-11-30T06:00:00+00:00")
    with pytest.raises(RunLocked, match="on some-other-host"):
        RunLock(tmp_path).acquire()


def test_an_empty_lock_file_is_stale_only_once_it_is_old(tmp_path):
    (tmp_path / LOCK_NAME).write_text("")
    with pytest.raises(RunLocked, match="being written"):
        RunLock(tmp_path).acquire()
    old = time.time() - 3600
    os.utime(tmp_path / LOCK_NAME, (old, old))
    with RunLock(tmp_path) as lock:
        assert lock.cleared


def make_run(folder, name, finished):
    (folder / name).mkdir()
    (folder / name / "run.json").write_text(json.dumps({"run_id": name, "finished_at": finished}))


def test_a_lock_that_cannot_be_written_is_removed_so_it_blocks_no_later_run(tmp_path, monkeypatch):
    import cluster.lock

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(cluster.lock.json, "dump", disk_full)
        with pytest.raises(ConfigError, match="cannot write the lock file .*No space left on device"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists(), "an empty lock file would hold every later run off"
    with RunLock(tmp_path):  # the next run, once there is room, takes the folder at once
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_retention_never_deletes_the_latest_target(tmp_path):
    for i, name in enumerate(["w1", "w2", "w3", "w4"]):
        make_run(tmp_path, name, f"2026-11-0{i + 1}T00:00:00+00:00")
    os.symlink("w1", tmp_path / "latest")  # e.g. someone pointed latest at an old run
    removed = prune_runs(tmp_path, keep=2, current="w4")
    assert removed == ["w2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "w1", "w3", "w4"]
    assert prune_runs(tmp_path, keep=None, current="w4") == []


def test_failed_write_leaves_no_run_folder(tmp_path):
    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        publish_run(tmp_path, "week", {"a.csv": lambda p: p.write_text("ok"), "b.csv": broken})
    assert list(tmp_path.iterdir()) == []


def topic_state(keys) -> TopicState:
    n = len(keys)
    return TopicState(
        topic_id=np.arange(n, dtype=np.int64),
        topic_key=np.array(keys),
        size=np.full(n, 5, dtype=np.int64),
        label=np.array(["a topic"] * n),
        keywords=np.array(["a; b"] * n),
        centroid=np.eye(n, 3, dtype=np.float32),
        text_hash=text_hashes([]),
        text_topic=np.zeros(0, dtype=np.int64),
        text_rows=np.zeros(0, dtype=np.int64),
        model="m/3",
    )


def fake_run(output_dir, run_id, finished, until="", next_key=1, keys=("T0001",)):
    folder = output_dir / run_id
    folder.mkdir(parents=True)
    manifest = {
        "run_id": run_id,
        "finished_at": finished,
        "window": {"since": "", "until": until},
        "tracking": {"next_key": next_key},
    }
    (folder / "run.json").write_text(json.dumps(manifest))
    topic_state(keys).save(folder / STATE_FILE)
    return folder


def test_previous_run_is_the_newest_complete_one_other_than_the_one_being_replaced(tmp_path):
    fake_run(tmp_path, "w1", "2026-11-20T06:00:00+00:00", next_key=4)
    fake_run(tmp_path, "w2", "2026-11-27T06:00:00+00:00", next_key=9)
    (tmp_path / ".w3.abc.partial").mkdir()  # a run being written: ignored
    (tmp_path / "notes").mkdir()  # no run.json: ignored
    found = find_previous_run(tmp_path, "w3", None)
    assert (found.run_id, found.next_key) == ("w2", 9)
    replaced = find_previous_run(tmp_path, "w2", None)  # rerunning w2 compares with w1
    assert (replaced.run_id, replaced.next_key) == ("w1", 4)
    assert find_previous_run(tmp_path, "w3", "w1").run_id == "w1"
    assert find_previous_run(tmp_path, "w3", "none").state is None
    with pytest.raises(ConfigError, match="--previous 'nope': no complete run"):
        find_previous_run(tmp_path, "w3", "nope")


def test_rerunning_an_old_week_compares_with_the_week_before_it(tmp_path):
    fake_run(tmp_path, "2026-W47", "2026-11-24T06:00:00+00:00", until="2026-11-22", next_key=5)
    fake_run(tmp_path, "2026-W49", "2026-12-08T06:00:00+00:00", until="2026-12-06", next_key=12)
    found = find_previous_run(tmp_path, "2026-W48", None, window_until="2026-11-29")
    assert found.run_id == "2026-W47"
    assert found.next_key == 12, "keys handed out by any run kept there are never reused"


def test_a_backfill_counts_no_key_of_the_later_weeks_it_is_about_to_replace(tmp_path):
    """Rerunning a backfill gives the same keys: week 13's rerun starts from the counter of the
    runs before the span, not from week 14's, which the backfill replaces next."""
    fake_run(tmp_path, "2014-W12", "2026-11-20T06:00:00+00:00", until="2014-03-23", next_key=3)
    fake_run(tmp_path, "2014-W13", "2026-11-21T06:00:00+00:00", until="2014-03-30", next_key=7)
    fake_run(tmp_path, "2014-W14", "2026-11-22T06:00:00+00:00", until="2014-04-06", next_key=12)
    alone = find_previous_run(tmp_path, "2014-W13", None, window_until="2014-03-30")
    assert (alone.run_id, alone.next_key) == ("2014-W12", 12)
    backfilled = find_previous_run(tmp_path, "2014-W13", None, window_until="2014-03-30", replaced=("2014-W14",))
    assert (backfilled.run_id, backfilled.next_key) == ("2014-W12", 3)


def test_runs_that_differ_only_in_where_they_write_are_the_same_computation():
    inputs, window = [{"path": "a.csv", "sha256": "abc", "rows": 3}], {"since": "2026-11-23", "until": "2026-11-29"}

    def fingerprint(*overrides, files=inputs):
        return run_fingerprint(load_config(None, list(overrides)).model_dump(mode="json"), files, window)

    same = fingerprint()
    assert fingerprint("output.dir=/elsewhere", "output.run_id=x", "cache.dir=/tmp/c", "review.map=false") == same
    assert fingerprint("input.path=/moved/a.csv", "tracking.previous=none") == same
    assert fingerprint("clustering.merge_threshold=0.6") != same
    assert fingerprint("tracking.match_threshold=0.7") != same
    assert fingerprint(files=[{"path": "a.csv", "sha256": "def", "rows": 3}]) != same
    # a run of another version with a section this one does not know is another computation
    newer = {**load_config().model_dump(mode="json"), "scale": {"fit_sample": 1000}}
    assert run_fingerprint(newer, inputs, window) != same
