"""Rerunning a week replaces its run folder whole or not at all: when anything fails while the
new run is written, the old run stays as it was and `latest` still points at it."""

from __future__ import annotations

import os

import pytest

from conftest import EXAMPLE_CONFIG, TIMELINE_FILES, invoke


def snapshot(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture
def published(tmp_path, example_cache):
    out = tmp_path / "out"
    args = ["--config", str(EXAMPLE_CONFIG), "--run-id", "week", "--set", f"cache.dir={example_cache}"]
    run = invoke(args, out)
    assert run.exit_code == 0, run.stderr
    return out, args, snapshot(run.folder)


def test_a_writer_failing_during_a_rerun_keeps_the_old_run_and_latest(published, monkeypatch):
    import cluster.review.workbook

    out, args, before = published

    def full_disk(tables, path, *sample):
        path.write_bytes(b"half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cluster.review.workbook, "write_workbook", full_disk)
    again = invoke([*args, "--set", "clustering.merge_threshold=0.9"], out)
    assert again.exit_code == 1 and "No space left on device" in again.stderr
    assert snapshot(out / "week") == before
    assert os.readlink(out / "latest") == "week"
    assert sorted(p.name for p in out.iterdir()) == ["latest", "logs", *TIMELINE_FILES, "week"], "no staging left"


def test_a_failed_swap_puts_the_old_run_back(published, monkeypatch):
    """The new folder is complete but renaming it into place fails: the old one is restored."""
    import cluster.runs

    out, args, before = published
    real_replace = os.replace

    def failing_replace(source, destination):
        if str(source).endswith(".partial") and os.path.isdir(source):  # the staging folder
            raise OSError(5, "Input/output error")
        return real_replace(source, destination)

    monkeypatch.setattr(cluster.runs.os, "replace", failing_replace)
    again = invoke([*args, "--set", "clustering.merge_threshold=0.9"], out)
    assert again.exit_code == 1 and "Input/output error" in again.stderr
    assert snapshot(out / "week") == before
    assert os.readlink(out / "latest") == "week"
    assert sorted(p.name for p in out.iterdir()) == ["latest", "logs", *TIMELINE_FILES, "week"]
