"""The command line is a thin layer: options declared once, errors mapped to exit codes."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster import __version__
from cluster.cli import app
from cluster.errors import ConfigError

from conftest import EXAMPLE_INPUT

SHARED = ["--config", "--input", "--output-dir", "--run-id", "--set", "--week", "--run-date", "--previous", "--quiet"]


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout.strip() == f"headline-cluster {__version__}"
    run_help = runner.invoke(app, ["run", "--help"]).stdout
    evaluate_help = runner.invoke(app, ["evaluate", "--help"]).stdout
    for option in SHARED:
        assert option in run_help and option in evaluate_help, option
    assert "--label-column" in evaluate_help and "--label-column" not in run_help


def test_a_config_error_is_one_line_and_exit_code_2(tmp_path):
    result = CliRunner().invoke(
        app, ["run", "--set", "clustering.min_cluster_size=1", "--output-dir", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["error: clustering.min_cluster_size: must be ≥ 2, got 1"]
    assert not (tmp_path / "o").exists()


def test_a_locked_output_folder_is_exit_code_3(tmp_path):
    from cluster.lock import RunLock

    with RunLock(tmp_path):
        result = CliRunner().invoke(app, ["run", "--input", str(EXAMPLE_INPUT), "-o", str(tmp_path)])
    assert result.exit_code == 3 and result.stderr.startswith("error: another run is using")


def help_text(*args: str) -> str:
    """The rendered help, wide enough not to wrap, without colour codes."""
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


@pytest.mark.parametrize("command", ["run", "evaluate"])
def test_help_names_the_dask_extra(command):
    """Rich reads `[dask]` as markup unless it is escaped: the help once said `pip install -e '.'`."""
    assert "Dask: pip install -e '.[dask]'." in help_text(command)


@pytest.mark.parametrize("command", ["run", "evaluate"])
def test_flags_show_no_value_placeholder(command):
    """A flag takes no value, so its help line shows none (Typer's Rich help printed `<bool>`)."""
    lines = help_text(command).splitlines()
    for flag in ("--quiet", "--verbose"):
        (line,) = [line for line in lines if f" {flag} " in line]
        assert "<" not in line, line
    (version,) = [line for line in help_text().splitlines() if " --version " in line]
    assert "<" not in version, version


@pytest.mark.parametrize("command", [["run"], ["evaluate", "--label-column", "story"]])
def test_every_option_reaches_plan_week_under_its_own_name(monkeypatch, command):
    seen: dict = {}

    def plan_week(**choices):
        seen.update(choices)
        raise ConfigError("planned")

    monkeypatch.setattr("cluster.plan.plan_week", plan_week)
    result = CliRunner().invoke(
        app,
        [*command, "-c", "c.yaml", "-i", "a.csv", "-i", "b.csv", "-o", "out", "--run-id", "r", "--set", "x.y=1"]
        + ["--week", "2026-W48", "--run-date", "2026-12-01", "--previous", "none", "--scheduler", "local", "-q"],
    )
    assert (result.exit_code, result.stderr) == (2, "error: planned\n")
    assert seen == {
        "config": Path("c.yaml"), "input": ["a.csv", "b.csv"], "output_dir": Path("out"), "run_id": "r",
        "overrides": ["x.y=1"], "week": "2026-W48", "run_date": "2026-12-01", "previous": "none", "scheduler": "local",
    }  # fmt: skip


def test_an_unexpected_error_is_one_line_and_a_traceback_file(monkeypatch, tmp_path):
    def run_plan(plan, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("cluster.jobs.run_plan", run_plan)
    result = CliRunner().invoke(app, ["run", "-o", str(tmp_path)])
    assert result.exit_code == 1
    message, _, where = result.stderr.strip().partition("; traceback written to ")
    assert message == "unexpected error: RuntimeError: boom"
    assert Path(where).parent == tmp_path / "logs" and "RuntimeError: boom" in Path(where).read_text()


@pytest.mark.parametrize(
    "signum, code, line",
    [
        (signal.SIGINT, 130, "interrupted; no run folder was written"),
        (signal.SIGTERM, 143, "terminated (SIGTERM); no run folder was written"),
    ],
)
def test_a_signal_during_the_run_is_its_exit_code_and_the_handlers_come_back(monkeypatch, tmp_path, signum, code, line):
    def run_plan(plan, **kwargs):
        signal.raise_signal(signum)

    monkeypatch.setattr("cluster.jobs.run_plan", run_plan)
    before = signal.getsignal(signum)
    result = CliRunner().invoke(app, ["run", "-o", str(tmp_path)])
    assert (result.exit_code, result.stderr.strip()) == (code, line)
    assert signal.getsignal(signum) is before


def test_backfill_options_reach_plan_weeks_under_their_own_names(monkeypatch):
    seen: dict = {}

    def plan_weeks(**choices):
        seen.update(choices)
        raise ConfigError("planned")

    monkeypatch.setattr("cluster.plan.plan_weeks", plan_weeks)
    result = CliRunner().invoke(
        app,
        ["backfill", "--from", "2014-W11", "--to", "2014-W18", "-c", "c.yaml", "-i", "a.csv", "-o", "out"]
        + ["--set", "x.y=1", "--scheduler", "local", "-q"],
    )
    assert (result.exit_code, result.stderr) == (2, "error: planned\n")
    assert seen == {
        "first": "2014-W11", "last": "2014-W18", "config": Path("c.yaml"), "input": ["a.csv"],
        "output_dir": Path("out"), "overrides": ["x.y=1"], "scheduler": "local",
    }  # fmt: skip


@pytest.mark.parametrize(
    "span, message",
    [
        (["--from", "2014-W18", "--to", "2014-W11"], "error: --from 2014-W18 is after --to 2014-W11"),
        (["--from", "2014-W11", "--to", "2014-W60"], "error: --to '2014-W60': 2014 has no ISO week 60"),
        (["--from", "1990-W01", "--to", "2014-W11"], "a backfill covers at most 260 (five years)"),
    ],
)
def test_a_bad_backfill_span_is_one_line_and_exit_code_2(tmp_path, span, message):
    result = CliRunner().invoke(app, ["backfill", *span, "-i", str(EXAMPLE_INPUT), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_backfill_and_timeline_help_name_their_options():
    backfill = help_text("backfill")
    for option in ("--from", "--to", "--config", "--input", "--output-dir", "--set", "--scheduler", "--quiet"):
        assert option in backfill, option
    assert " --week " not in backfill and " --run-id " not in backfill
    assert "--output-dir" in help_text("timeline")


def test_a_timeline_of_a_folder_without_runs_is_one_line_and_exit_code_2(tmp_path):
    missing = CliRunner().invoke(app, ["timeline", "-o", str(tmp_path / "none")])
    assert (
        missing.exit_code == 2
        and missing.stderr.startswith("error: output folder")
        and not (tmp_path / "none").exists()
    )
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(app, ["timeline", "-o", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "holds no complete run folder" in empty.stderr
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == []
