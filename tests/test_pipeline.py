"""The pipeline's two calls: prepare_input (read, window, clean) and run (every model stage)."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster.errors import InputError
from cluster.pipeline import prepare_input, run
from cluster.plan import plan_week
from cluster.schema import CHANGES, HEADLINES, REJECTED, TOPICS

from conftest import EXAMPLE_CONFIG


def test_prepare_input_accounts_for_every_row(tmp_path):
    rows = pd.DataFrame(
        {
            "headline": ["Fed holds rates", "", "x" * 400, "Stocks up", "Old news", "Undated news"],
            "date": ["2026-11-24", "2026-11-24", "2026-11-25", "2026-11-26", "2026-10-01", ""],
        }
    )
    path = tmp_path / "week.csv"
    rows.to_csv(path, index=False)
    plan = plan_week(None, input=path, week="2026-W48")
    prepared = prepare_input(plan.config, plan.window)
    assert prepared.counts == {"read": 6, "outside_window": 1, "rejected": 3, "accepted": 2, "unique": 2}
    assert prepared.rejected.index.tolist() == [1, 2, 5], "rejected rows keep their input order"
    assert prepared.rejected["reason"].str.startswith(("blank", "longer", "missing")).all()
    assert prepared.unique.texts == ["Fed holds rates", "Stocks up"]


def test_prepare_input_refuses_a_column_the_job_would_overwrite(tmp_path):
    path = tmp_path / "week.csv"
    pd.DataFrame({"headline": ["a b"], "map_x": ["1"]}).to_csv(path, index=False)
    plan = plan_week(None, input=path)
    with pytest.raises(InputError, match=r"\['map_x'\] clash"):
        prepare_input(plan.config, plan.window)


def test_run_gives_tables_that_fit_the_schema_and_times_every_stage(example_run, example_cache):
    plan = plan_week(EXAMPLE_CONFIG, overrides=[f"cache.dir={example_cache}", "tracking.previous=none"])
    tables, record = run(plan.config, prepare_input(plan.config, plan.window), plan.run_id, progress=False)
    for frame, table in ((tables.topics, TOPICS), (tables.headlines, HEADLINES), (tables.rejected, REJECTED)):
        table.check(frame)
    CHANGES.check(tables.changes)
    manifest = record.to_json()
    assert set(manifest["seconds"]) >= {"read_clean", "embed", "reduce", "cluster", "label", "tables", "track"}
    assert manifest["cache"]["reduction"] == "hit" and manifest["resolved"]["device"] is None
    assert manifest["run_id"] == plan.run_id and tables.text_column == "headline"
