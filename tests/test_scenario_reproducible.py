"""The same input and config give the same files, byte for byte, even when every stage is
recomputed in a fresh process (numba recompiles UMAP, the model is loaded anew)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from conftest import EXAMPLE_CONFIG, REPO, invoke

RUN_JSON = "run.json"  # holds timings and timestamps; everything else must match


def test_a_fresh_process_recomputing_everything_writes_identical_files(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["--config", str(EXAMPLE_CONFIG), "--run-id", "same", "--previous", "none", "--set", f"cache.dir={cache}"]
    first = invoke(args, out)  # in this process, cold cache
    assert first.exit_code == 0, first.stderr
    before = {path.name: path.read_bytes() for path in first.folder.iterdir() if path.name != RUN_JSON}
    assert {"topics.csv", "headlines.csv", "topics.xlsx", "topic_map.png", "topic_map.html", "report.html"} <= set(
        before
    )
    shutil.rmtree(cache)  # the second run embeds and reduces again
    command = [sys.executable, "-m", "cluster", "run", *args, "--output-dir", str(out), "--quiet"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = {path.name: path.read_bytes() for path in first.folder.iterdir() if path.name != RUN_JSON}
    assert sorted(after) == sorted(before)
    for name, content in before.items():
        assert after[name] == content, f"{name} differs after recomputing in a fresh process"


def test_a_short_list_grouped_directly_gives_identical_files_in_a_fresh_process(tmp_path):
    args = ["--input", str(REPO / "examples" / "related_stories.txt"), "--run-id", "same", "--previous", "none",
            "--set", "cache.enabled=false"]  # fmt: skip
    first = invoke(args, tmp_path / "out")
    assert first.exit_code == 0, first.stderr
    before = {path.name: path.read_bytes() for path in first.folder.iterdir() if path.name != RUN_JSON}
    command = [sys.executable, "-m", "cluster", "run", *args, "--output-dir", str(tmp_path / "out"), "--quiet"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr  # replaces the first run's folder
    after = {path.name: path.read_bytes() for path in first.folder.iterdir() if path.name != RUN_JSON}
    assert sorted(after) == sorted(before) and "topics.csv" in before
    for name, content in before.items():
        assert after[name] == content, f"{name} differs when a fresh process groups the same short list"
