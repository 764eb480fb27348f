"""Config: defaults, validation messages, overrides and path resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cluster.config import Config
from cluster.config_files import load_config
from cluster.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_without_a_file_paths_are_kept_as_typed_and_an_empty_file_is_no_file(tmp_path):
    """`cluster run --input week.csv --set output.dir=out` with no config file reads ./week.csv and
    writes under ./out, from where the job starts (a file's own paths are relative to the file,
    below); a config file holding only a comment changes nothing."""
    cfg = load_config(None, ["output.dir=out"], {"input": {"path": "week.csv"}})
    assert (cfg.input.path, cfg.output.dir) == ("week.csv", "out")
    empty = tmp_path / "c.yaml"
    empty.write_text("# settings to come\n")
    assert load_config(empty, ["output.dir=out"], {"input": {"path": "week.csv"}}) == cfg


def test_weekly_template_spells_out_every_default():
    """configs/weekly.yaml documents the built-in defaults: loading it changes nothing."""
    data = yaml.safe_load((REPO / "configs" / "weekly.yaml").read_text())
    defaults = Config().model_dump(mode="json")
    for section, values in defaults.items():
        assert set(data[section]) == set(values), section
        for key, value in values.items():
            if (section, key) in {("input", "path"), ("output", "dir")}:
                continue  # paths are the user's to fill in
            assert data[section][key] == value, f"{section}.{key}"


def test_example_config_paths_are_relative_to_the_file():
    cfg = load_config(REPO / "configs" / "example.yaml")
    assert Path(cfg.input.path).resolve() == (REPO / "examples" / "uci_headlines_sample.csv").resolve()
    assert Path(cfg.output.dir).resolve() == (REPO / "outputs").resolve()


@pytest.mark.parametrize(
    "text, message",
    [
        ("clustering:\n  min_cluster_size: 1\n", "clustering.min_cluster_size: must be ≥ 2, got 1"),
        ("clustering:\n  outliers: drop\n", "clustering.outliers: must be one of 'keep' or 'nearest', got 'drop'"),
        ("clustering:\n  small_input_below: 6000\n", "clustering.small_input_below: must be ≤ 5000, got 6000"),
        ("reduction:\n  n_neighbors: 1\n", "reduction.n_neighbors: must be ≥ 2, got 1"),
        ("embedding:\n  batch_size: many\n", "embedding.batch_size:"),
        ("embedding:\n  device: gpu\n", "embedding.device: must be auto, cpu, mps, cuda or cuda:N"),
        ("embedding:\n  backend: tensorrt\n", "embedding.backend: must be one of 'auto', 'onnx' or 'torch'"),
        ("input:\n  encoding: klingon\n", "input.encoding: unknown encoding 'klingon'"),
        ("input:\n  since: 2026-11-30\n  until: 2026-11-23\n", "since (2026-11-30) is after until (2026-11-23)"),
        ("input:\n  last_days: 7\n  since: 2026-11-23\n", "either last_days or since/until"),
        (
            "cleaning:\n  publisher_tag_pattern: '(['\n",
            "cleaning.publisher_tag_pattern: not a valid regular expression",
        ),
        ("labeling:\n  ngram_range: [2, 1]\n", "labeling.ngram_range: must be [low, high]"),
        ("output:\n  run_id: ../escape\n", "output.run_id: use letters, digits"),
        ("clusterin:\n  min_cluster_size: 5\n", "clusterin: unknown key (allowed here: input, cleaning,"),
        (
            "clustering:\n  min_clustr_size: 5\n",
            "clustering.min_clustr_size: unknown key (allowed here: min_cluster_size,",
        ),
        ("- a\n- b\n", "top level must be a mapping"),
        ("clustering: 5\n", "clustering: must be a mapping"),
    ],
)
def test_bad_values_are_refused_with_path_and_reason(tmp_path, text, message):
    assert message in refused(tmp_path, text)


def test_yaml_syntax_error_names_the_line(tmp_path):
    assert "line 3" in refused(tmp_path, "input:\n  path: a.csv\n  text_column: [oops\n")


def test_set_overrides_the_file_and_parses_yaml_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("clustering:\n  min_cluster_size: 30\n")
    cfg = load_config(path, ["clustering.min_cluster_size=12", "labeling.ngram_range=[1, 3]", "input.since=2026-11-23"])
    assert cfg.clustering.min_cluster_size == 12
    assert cfg.labeling.ngram_range == (1, 3)
    assert str(cfg.input.since) == "2026-11-23"


def test_flags_win_over_set(tmp_path):
    cfg = load_config(None, ["output.run_id=from-set"], {"output": {"run_id": "from-flag"}})
    assert cfg.output.run_id == "from-flag"


@pytest.mark.parametrize("bad", ["noequals", "a.b.c=1", ".x=1", "=5"])
def test_malformed_set_is_refused(bad):
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, [bad])


def test_set_of_unknown_key_is_refused():
    with pytest.raises(ConfigError, match="clustering.nope: unknown key"):
        load_config(None, ["clustering.nope=1"])
