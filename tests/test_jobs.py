"""The weekly job as a library call: what a notebook or an Airflow task uses."""

from __future__ import annotations

import datetime as dt

import pytest

from cluster import InputError, RunLocked, evaluate_week, run_week
from cluster.lock import RunLock

from conftest import EXAMPLE_CONFIG, EXAMPLE_INPUT


def test_run_week_is_the_same_job_as_cluster_run(example_run, example_cache, tmp_path):
    week = run_week(EXAMPLE_CONFIG, output_dir=tmp_path, run_id="first", overrides=[f"cache.dir={example_cache}"])
    assert week.folder == tmp_path / "first" and (tmp_path / "latest").resolve() == week.folder.resolve()
    for name in ("topics.csv", "headlines.csv", "rejected.csv", "changes.csv"):
        assert (week.folder / name).read_bytes() == (example_run.folder / name).read_bytes(), name
    assert len(week.result.topics) == week.manifest["topics"] + 1  # and the unclustered row
    assert week.summary().startswith(f"{week.manifest['topics']} topics from 403 headlines")


def test_evaluate_week_scores_and_keeps_the_labels_out(example_cache, tmp_path):
    scored = evaluate_week(
        EXAMPLE_CONFIG, label_column="story", category_column="label", output_dir=tmp_path,
        overrides=[f"cache.dir={example_cache}"],
    )  # fmt: skip
    assert scored.evaluation is not None and scored.evaluation.unassigned_as_one_cluster["nmi"] > 0.7
    assert "story" not in scored.result.headlines.columns
    assert (scored.folder / "evaluation.json").is_file()
    # no run id and no window: the run is named after its headlines' dates (2014-03-24..30), not the day it ran
    assert scored.folder.name == "2014-W13"
    assert "Topics of the week · run 2014-W13" in (scored.folder / "report.html").read_text(encoding="utf-8")
    assert scored.result.manifest["started_at"].startswith(str(dt.date.today().year))


def test_failures_are_typed_exceptions_and_write_nothing(tmp_path):
    with pytest.raises(InputError, match="input file not found"):
        run_week(None, input=tmp_path / "missing.csv", output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with RunLock(tmp_path / "locked"):
        with pytest.raises(RunLocked):
            run_week(None, input=EXAMPLE_INPUT, output_dir=tmp_path / "locked")
