"""A run stopped by Ctrl-C (SIGINT) or by `systemctl stop` (SIGTERM) exits with 130 or 143,
releases the output folder's lock and leaves no staging folder and no run folder behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLE_CONFIG, REPO


def start_run(output_dir, cache_dir) -> subprocess.Popen:
    # a fresh cache: the run embeds and reduces, so it is still working when the signal comes
    command = [sys.executable, "-m", "cluster", "run", "--config", str(EXAMPLE_CONFIG), "--output-dir", str(output_dir),
               "--run-id", "stopped", "--set", f"cache.dir={cache_dir}"]  # fmt: skip
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "signum, code, said", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_stopped_run_releases_the_lock_and_leaves_nothing_half_written(tmp_path, signum, code, said):
    out = tmp_path / "out"
    process = start_run(out, tmp_path / "cache")
    try:
        # the lock is taken once the input has been checked; the model is loaded after that
        wait_for(lambda: (out / ".cluster.lock").exists(), process)
        time.sleep(1.0)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert f"{said}" in stderr.strip().splitlines()[-1] and "no run folder was written" in stderr
    assert "Traceback" not in stderr
    assert sorted(os.listdir(out)) == [], "no lock, no staging folder, no run folder, no latest"


def test_an_interrupt_after_publishing_says_the_run_folder_is_complete(tmp_path, example_cache, monkeypatch):
    """Ctrl-C while old runs are pruned: the new run is already in place, and the message says so."""
    import cluster.runs

    from conftest import invoke

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cluster.runs, "prune_runs", interrupted)
    run = invoke(["--config", str(EXAMPLE_CONFIG), "--run-id", "done", "--set", f"cache.dir={example_cache}"], tmp_path)
    assert run.exit_code == 130
    assert run.stderr.strip().splitlines()[-1] == f"interrupted; the run folder {tmp_path / 'done'} is complete"
    assert (tmp_path / "done" / "run.json").is_file() and not (tmp_path / ".cluster.lock").exists()
