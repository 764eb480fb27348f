"""The command line is a thin layer: options declared once, errors mapped to exit codes."""

from __future__ import annotations

from typer.testing import CliRunner

from cluster import __version__
from cluster.cli import app

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
    from cluster.runs import RunLock

    with RunLock(tmp_path):
        result = CliRunner().invoke(app, ["run", "--input", str(EXAMPLE_INPUT), "-o", str(tmp_path)])
    assert result.exit_code == 3 and result.stderr.startswith("error: another run is using")
