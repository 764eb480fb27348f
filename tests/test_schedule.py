"""ISO weeks, the output-folder lock and retention, without the model."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from cluster.cli import schedule_flags
from cluster.errors import ConfigError, RunLocked
from cluster.schedule import LOCK_NAME, RunLock, parse_week, prune_runs, week_of


def test_iso_weeks_run_monday_to_sunday():
    week = parse_week("2026-W48")
    assert (week.since, week.until, week.name) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29), "2026-W48")
    assert parse_week("2026W1").name == "2026-W01"
    assert parse_week("2020-W53").until == dt.date(2021, 1, 3)  # ISO years can have 53 weeks
    assert week_of(dt.date(2026, 11, 29)).name == "2026-W48"
    with pytest.raises(ConfigError, match="no ISO week 53"):
        parse_week("2025-W53")


def test_week_last_is_the_last_complete_week():
    flags, name = schedule_flags("last", None, today=dt.date(2026, 11, 30))  # a Monday
    assert name == "2026-W48" and flags["input"]["since"] == dt.date(2026, 11, 23)
    assert schedule_flags("last", None, today=dt.date(2026, 12, 6))[1] == "2026-W48"  # the Sunday after


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


def test_retention_never_deletes_the_latest_target(tmp_path):
    for i, name in enumerate(["w1", "w2", "w3", "w4"]):
        make_run(tmp_path, name, f"2026-11-0{i + 1}T00:00:00+00:00")
    os.symlink("w1", tmp_path / "latest")  # e.g. someone pointed latest at an old run
    removed = prune_runs(tmp_path, keep=2, current="w4")
    assert removed == ["w2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "w1", "w3", "w4"]
    assert prune_runs(tmp_path, keep=None, current="w4") == []


def test_run_date_selects_the_week_before_it_and_names_the_run():
    from cluster.cli import name_by_run_date
    from cluster.config import load_config

    cfg = load_config(None, [], {"input": {"run_date": dt.date(2026, 12, 2)}})  # a Wednesday, no window
    assert name_by_run_date(cfg) == "2026-W48"
    assert (cfg.input.since, cfg.input.until) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    monday = load_config(None, [], {"input": {"run_date": dt.date(2026, 11, 30), "last_days": 7}})
    assert name_by_run_date(monday) == "2026-W48"
    wednesday = load_config(None, [], {"input": {"run_date": dt.date(2026, 12, 2), "last_days": 7}})
    assert name_by_run_date(wednesday) == "2026-11-25_2026-12-01"
