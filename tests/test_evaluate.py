"""`cluster evaluate`: the real job, scored against withheld labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from cluster.cli import app
from cluster.evaluate import evaluate_topics, singletons

from conftest import EXAMPLE_CONFIG, read_output


def test_singletons_give_each_outlier_its_own_cluster():
    assert singletons(np.array([0, -1, 1, -1])).tolist() == [0, 2, 1, 3]


def test_unassigned_counted_both_ways():
    truth = ["a", "a", "b", "b"]
    evaluation = evaluate_topics(np.array([0, 0, -1, -1]), truth, label_column="story")
    assert evaluation.unassigned_as_one_cluster["nmi"] == pytest.approx(1.0)
    assert evaluation.unassigned_as_singletons["homogeneity"] == pytest.approx(1.0)
    assert evaluation.unassigned_as_singletons["completeness"] < 1.0
    assert evaluation.unassigned_share == 0.5 and evaluation.n_topics == 1


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate")
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--config",
            str(EXAMPLE_CONFIG),
            "--label-column",
            "story",
            "--category-column",
            "label",
            "--output-dir",
            str(out),
            "--run-id",
            "eval",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return result, out / "eval"


def test_evaluate_prints_and_writes_scores(evaluated):
    result, folder = evaluated
    assert result.stdout.strip().splitlines()[-1] == str(folder)
    assert "unassigned as one cluster" in result.stdout and "unassigned as singletons" in result.stdout
    scores = json.loads((folder / "evaluation.json").read_text())
    assert scores["label_column"] == "story" and scores["rows"] == 403
    for way in ("unassigned_as_one_cluster", "unassigned_as_singletons"):
        assert set(scores[way]) == {"nmi", "ari", "v_measure", "homogeneity", "completeness"}
        assert scores[way]["nmi"] > 0.8  # the sample's real stories are recovered
    assert scores["category_column"] == "label"
    assert 0 < scores["category_homogeneity"]["unassigned_as_one_cluster"] <= 1


def test_labels_never_reach_the_pipeline(evaluated):
    _, folder = evaluated
    headlines = read_output(folder / "headlines.csv")
    assert "story" not in headlines.columns and "label" not in headlines.columns


def test_missing_label_column_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        app,
        ["evaluate", "--config", str(EXAMPLE_CONFIG), "--label-column", "storyid", "--output-dir", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    assert "label column 'storyid' not found" in result.stderr and "did you mean 'story'" in result.stderr
    assert not (tmp_path / "o").exists()
