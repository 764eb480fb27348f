"""Bad input: one clear line on stderr, exit 2, no traceback, no output folder. These fail before
the model loads, so they are fast."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from conftest import EXAMPLE_INPUT, invoke, output_is_empty


def assert_refused(run, *fragments: str) -> None:
    assert run.exit_code == 2, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert output_is_empty(run.output_dir)


def test_missing_input_names_the_path(tmp_path):
    missing = tmp_path / "nope.csv"
    assert_refused(invoke(["--input", str(missing)], tmp_path / "out"), str(missing), "not found")


def test_empty_file_names_the_path(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_refused(invoke(["--input", str(empty)], tmp_path / "out"), str(empty), "empty")


def test_header_only_file_is_empty(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("id,headline\n")
    assert_refused(invoke(["--input", str(header)], tmp_path / "out"), str(header), "empty")


def test_unknown_column_lists_columns_and_suggests_the_closest(tmp_path):
    assert_refused(
        invoke(["--input", str(EXAMPLE_INPUT), "--set", "input.text_column=headlne"], tmp_path / "out"),
        "'headlne' not found",
        "['id', 'headline', 'date', 'source', 'story', 'label']",
        "did you mean 'headline'",
    )


def test_non_utf8_bytes_name_file_and_offset(tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("headline\nCaf\xe9 owners protest\n".encode("latin-1"))
    assert_refused(invoke(["--input", str(bad)], tmp_path / "out"), str(bad), "byte offset 12", "input.encoding")


def test_invalid_yaml_gives_the_line_number(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("input:\n  path: x.csv\nclustering:\n  min_cluster_size: [10\n")
    assert_refused(invoke(["--config", str(config)], tmp_path / "out"), str(config), "line 5")


def test_unknown_config_key_gives_its_path(tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text("clustering:\n  min_clustr_size: 10\n")
    assert_refused(
        invoke(["--config", str(config), "--input", str(EXAMPLE_INPUT)], tmp_path / "out"),
        "clustering.min_clustr_size: unknown key",
        "min_cluster_size",
    )


def test_bad_config_value_gives_path_and_reason(tmp_path):
    assert_refused(
        invoke(["--input", str(EXAMPLE_INPUT), "--set", "clustering.min_cluster_size=1"], tmp_path / "out"),
        "clustering.min_cluster_size: must be ≥ 2, got 1",
    )


def test_every_row_outside_the_window(tmp_path):
    assert_refused(
        invoke(
            ["--input", str(EXAMPLE_INPUT), "--set", "input.since=2020-01-01", "--set", "input.until=2020-01-07"],
            tmp_path / "out",
        ),
        "all 403 rows fall outside the date window 2020-01-01 to 2020-01-07",
    )


def test_window_without_a_date_column(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("One headline\nAnother headline\n")
    assert_refused(
        invoke(["--input", str(plain), "--set", "input.last_days=7"], tmp_path / "out"),
        "date column 'date' not found",
    )


def test_only_blank_headlines(tmp_path):
    blank = tmp_path / "blank.csv"
    blank.write_text('headline\n" "\n"\t"\n')
    assert_refused(invoke(["--input", str(blank)], tmp_path / "out"), "no usable headlines")


def test_no_input_at_all(tmp_path):
    assert_refused(invoke([], tmp_path / "out"), "--input")


def test_missing_config_file(tmp_path):
    assert_refused(invoke(["--config", str(tmp_path / "none.yaml")], tmp_path / "out"), "config file not found")


def test_bad_set_syntax(tmp_path):
    assert_refused(
        invoke(["--input", str(EXAMPLE_INPUT), "--set", "min_cluster_size"], tmp_path / "out"), "section.key=value"
    )


def test_corrupt_parquet(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet")
    assert_refused(invoke(["--input", str(bad)], tmp_path / "out"), str(bad), "Parquet")


def test_corrupt_gzip(tmp_path):
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"not gzip at all")
    assert_refused(invoke(["--input", str(bad)], tmp_path / "out"), str(bad), "gzip")


def test_input_column_clashing_with_an_added_column(tmp_path):
    clash = tmp_path / "clash.csv"
    pd.DataFrame({"headline": ["a b c"], "topic_id": ["7"]}).to_csv(clash, index=False)
    assert_refused(invoke(["--input", str(clash)], tmp_path / "out"), "topic_id")


def test_unexpected_failure_exits_1_with_a_logged_traceback(tmp_path, monkeypatch):
    """A bug (here: a stage that raises) is not the user's fault: exit 1, traceback in a log file."""
    import cluster.pipeline

    def broken_stage(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(cluster.pipeline, "run", broken_stage)
    out = tmp_path / "out"
    run = invoke(["--input", str(EXAMPLE_INPUT)], out)
    assert run.exit_code == 1
    [line] = run.stderr.strip().splitlines()[-1:]
    assert "unexpected error: RuntimeError: simulated bug; traceback written to" in line
    log = Path(line.rsplit(" ", 1)[-1])
    assert log.parent == out / "logs" and "Traceback" in log.read_text()
    assert sorted(p.name for p in out.iterdir()) == ["logs"]  # no run folder


def test_config_path_that_is_a_folder(tmp_path):
    assert_refused(invoke(["--config", str(tmp_path)], tmp_path / "out"), "cannot read config file")


def test_output_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    run = invoke(["--input", str(EXAMPLE_INPUT)], blocker)
    assert run.exit_code == 2, run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith(f"error: output folder {blocker} is not writable")
    assert blocker.read_text() == "not a folder"


def test_input_column_named_like_the_reject_reason(tmp_path):
    clash = tmp_path / "clash.csv"
    pd.DataFrame({"headline": ["a b c"], "reason": ["x"]}).to_csv(clash, index=False)
    assert_refused(invoke(["--input", str(clash)], tmp_path / "out"), "'reason'")


def test_evaluate_refuses_the_headline_column_as_labels(tmp_path):
    from typer.testing import CliRunner

    from cluster.cli import app

    result = CliRunner().invoke(
        app,
        ["evaluate", "--input", str(EXAMPLE_INPUT), "--label-column", "headline", "--output-dir", str(tmp_path / "o")],
    )
    assert result.exit_code == 2 and "is the headline column" in result.stderr
    assert not (tmp_path / "o").exists()


def test_evaluate_refuses_an_empty_label_column_name(tmp_path):
    from typer.testing import CliRunner

    from cluster.cli import app

    result = CliRunner().invoke(
        app, ["evaluate", "--input", str(EXAMPLE_INPUT), "--label-column", "", "--output-dir", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "label column '' not found" in result.stderr
    assert not (tmp_path / "o").exists()
