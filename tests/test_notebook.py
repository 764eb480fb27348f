"""notebooks/explore_run.ipynb: committed clean, and it runs on real run folders."""

from __future__ import annotations

import json
import shutil

import nbformat
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOK = REPO / "notebooks" / "explore_run.ipynb"


def execute(run_dir, monkeypatch, tmp_path) -> str:
    monkeypatch.setenv("CLUSTER_RUN_DIR", str(run_dir))
    monkeypatch.delenv("CLUSTER_COMPARE_DIR", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            texts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs_on_a_single_run(example_run, monkeypatch, tmp_path):
    text = execute(example_run.folder, monkeypatch, tmp_path)
    manifest = json.loads((example_run.folder / "run.json").read_text())
    assert f"run first ({example_run.folder.resolve()})" in text
    assert f"{manifest['topics']} topics" in text
    assert "<Figure" in text and "Image" in text, "size chart and map shown"
    assert "Only one run in" in text


def test_notebook_compares_two_runs(example_run, example_rerun, monkeypatch, tmp_path):
    outputs = tmp_path / "outputs"
    shutil.copytree(example_run.folder, outputs / "first")
    shutil.copytree(example_rerun.folder, outputs / "second")
    text = execute(outputs / "second", monkeypatch, tmp_path)
    assert "compared with first" in text
    manifest = json.loads((example_run.folder / "run.json").read_text())
    # the same input twice: every topic has its counterpart
    assert f"{manifest['topics']} of {manifest['topics']} topics have a counterpart" in text
