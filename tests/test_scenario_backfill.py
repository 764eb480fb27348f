"""`cluster backfill` with the real model on real headlines: a season of weeks at once gives the
files that `cluster run --week` per week into the same output folder gives, skips the weeks with
no headlines, replaces its weeks with the same files when rerun, and keeps the timeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cluster import run_weeks
from cluster.runs import TIMELINE_CSV, TIMELINE_HTML, TIMELINE_PNG, TIMELINE_XLSX

from conftest import EXAMPLE_CONFIG, backfill, invoke, read_output

TIMELINE = (TIMELINE_CSV, TIMELINE_XLSX, TIMELINE_PNG, TIMELINE_HTML)
# run.json entries that differ between two runs of the same computation, and what the cache did
VOLATILE = ("started_at", "finished_at", "seconds", "review_seconds", "memory", "cache", "versions")


def snapshot(out: Path) -> dict[str, object]:
    """Every file of an output folder by its path there: bytes, and run.json without what
    differs from one run of the same computation to the next."""
    files: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        name = str(path.relative_to(out))
        if path.name == "run.json":
            manifest = json.loads(path.read_text(encoding="utf-8"))
            manifest["resolved"].pop("device")  # null when every vector came from the cache
            files[name] = {key: value for key, value in manifest.items() if key not in VOLATILE}
        else:
            files[name] = path.read_bytes()
    return files


def empty_cache(cache: Path) -> None:
    """Empty the cache at `cache` (its path is in run.json and the workbook) but for the exported
    model and numba's compiled code, so that a second cold run does not export the model again."""
    used = cache.with_name(cache.name + "-used")
    cache.rename(used)
    cache.mkdir()
    for name in ("models", "numba"):
        if (used / name).is_dir():
            shutil.copytree(used / name, cache / name)


@pytest.fixture(scope="module")
def season(tmp_path_factory, two_weeks_input):
    """Into one output folder: `cluster run --week` for 2014-W13 and 2014-W14 (a cold cache), its
    files kept; the folder emptied; the backfill of 2014-W12 to 2014-W15 (another cold cache);
    then the same backfill again (warm)."""
    root = tmp_path_factory.mktemp("season")
    out, cache = root / "out", root / "cache"
    common = ["--input", str(two_weeks_input)]
    for week in ("2014-W13", "2014-W14"):
        weekly = invoke([*common, "--week", week, "--set", f"cache.dir={cache}"], out)
        assert weekly.exit_code == 0, weekly.stderr
    weekly_files = snapshot(out)
    shutil.rmtree(out)
    empty_cache(cache)
    span = [*common, "--from", "2014-W12", "--to", "2014-W15", "--set", f"cache.dir={cache}"]
    first = backfill(span, out)
    assert first.exit_code == 0, first.stderr
    first_files = snapshot(out)
    again = backfill(span, out)
    assert again.exit_code == 0, again.stderr
    return {"out": out, "weekly": weekly_files, "first": first, "backfilled": first_files, "again": snapshot(out)}


def test_a_backfill_writes_the_files_that_weekly_runs_write(season):
    weekly, backfilled = season["weekly"], season["backfilled"]
    assert sorted(backfilled) == sorted(weekly)
    for name in weekly:
        assert backfilled[name] == weekly[name], name
    assert {name.split("/")[0] for name in weekly} == {"2014-W13", "2014-W14", *TIMELINE}


def test_weeks_with_no_headlines_are_reported_and_skipped(season):
    run = season["first"]
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "2014-W12: skipped, no headline dated in it"
    assert lines[1].startswith("2014-W13: ") and "topics from 117 headlines" in lines[1]
    assert lines[2].startswith("2014-W14: ") and "topics from 286 headlines" in lines[2]
    assert lines[3] == "2014-W15: skipped, no headline dated in it"
    assert lines[4] == "2 weeks written, 2 skipped (2014-W12, 2014-W15)"
    assert run.folder == season["out"]
    assert "week 2014-W14 (3/4): 286 headlines" in run.stderr
    assert (season["out"] / "latest").resolve().name == "2014-W14"


def test_each_week_is_tracked_against_the_week_before(season):
    manifest = json.loads((season["out"] / "2014-W14" / "run.json").read_text())
    assert manifest["tracking"]["previous_run"] == "2014-W13"
    assert manifest["window"] == {"since": "2014-03-31", "until": "2014-04-06"}
    timeline = read_output(season["out"] / TIMELINE_CSV)
    assert timeline.run_id.drop_duplicates().tolist() == ["2014-W13", "2014-W14"]
    continuing = set(timeline[timeline.run_id == "2014-W13"].topic_key) & set(
        timeline[timeline.run_id == "2014-W14"].topic_key
    )
    assert len(continuing) == manifest["tracking"]["matched"]


def test_rerunning_a_backfill_replaces_its_weeks_with_the_same_files(season):
    assert season["again"] == season["backfilled"]


def test_cluster_timeline_rebuilds_the_same_files(season):
    out = season["out"]
    for name in TIMELINE:
        (out / name).unlink()
    from typer.testing import CliRunner

    from cluster.cli import app

    result = CliRunner().invoke(app, ["timeline", "--output-dir", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out / TIMELINE_CSV)
    assert {name: (out / name).read_bytes() for name in TIMELINE} == {
        name: season["backfilled"][name] for name in TIMELINE
    }


def test_run_weeks_is_the_same_call_from_python(example_run, example_cache, tmp_path):
    """The shipped example holds one week, 2014-W13: W12 and W14 are skipped, and W13 is the
    example's run."""
    season = run_weeks(
        EXAMPLE_CONFIG, first="2014-W12", last="2014-W14", output_dir=tmp_path, overrides=[f"cache.dir={example_cache}"]
    )
    assert [week.folder.name for week in season.weeks] == ["2014-W13"]
    assert season.skipped == {"2014-W12": "no headline dated in it", "2014-W14": "no headline dated in it"}
    headlines = (season.weeks[0].folder / "headlines.csv").read_bytes()
    assert headlines == (example_run.folder / "headlines.csv").read_bytes()
    assert season.summary() == "1 week written, 2 skipped (2014-W12, 2014-W14)"
