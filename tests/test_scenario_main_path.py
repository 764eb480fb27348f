"""The main path, with the real model on real headlines (the shipped UCI sample)."""

from __future__ import annotations

import json

import pandas as pd

from conftest import EXAMPLE_INPUT, TIMELINE_FILES, invoke, read_output

TOPIC_COLUMNS = [
    "topic_id",
    "topic_key",
    "label",
    "size",
    "share",
    "keywords",
    "representative_1",
    "representative_2",
    "representative_3",
    "cohesion",
    "first_date",
    "last_date",
    "n_sources",
    "status",
    "previous_size",
    "previous_label",
]
ADDED = ["topic_id", "topic_key", "topic_label", "topic_confidence", "assigned_by", "map_x", "map_y"]


def test_run_writes_tables_and_review_files_and_prints_the_folder_last(example_run):
    folder = example_run.folder
    assert folder == example_run.output_dir / "first"
    assert sorted(p.name for p in folder.iterdir()) == [
        "changes.csv",
        "headlines.csv",
        "rejected.csv",
        "report.html",
        "run.json",
        "topic_centroids.npz",
        "topic_map.html",
        "topic_map.png",
        "topics.csv",
        "topics.xlsx",
    ]
    assert (example_run.output_dir / "latest").resolve() == folder.resolve()
    # nothing but the run folder, the latest pointer and the timeline: no staging folder left behind
    assert sorted(p.name for p in example_run.output_dir.iterdir()) == ["first", "latest", *TIMELINE_FILES]


def test_topic_table_columns_and_order(example_run):
    topics = read_output(example_run.folder / "topics.csv")
    assert list(topics.columns) == TOPIC_COLUMNS
    clustered = topics[topics.topic_id != "-1"]
    assert len(clustered) >= 5, "the sample holds a dozen real stories"
    sizes = clustered["size"].astype(int).tolist()
    assert sizes == sorted(sizes, reverse=True), "largest topic first"
    assert clustered.topic_id.astype(int).tolist() == list(range(len(clustered)))
    for _, row in clustered.iterrows():
        assert row.label and row.keywords
        assert len(row.keywords.split("; ")) == 10
        reps = [row.representative_1, row.representative_2, row.representative_3]
        assert all(reps) and len(set(reps)) == 3, "three distinct representatives"
        assert 0 < float(row.cohesion) <= 1
        assert row.first_date <= row.last_date
        assert int(row.n_sources) >= 1
    shares = topics["share"].astype(float).sum()
    assert abs(shares - 1) < 0.01


def test_every_row_accounted_for_and_input_columns_unchanged(example_run):
    source = pd.read_csv(EXAMPLE_INPUT, dtype=str, keep_default_na=False)
    headlines = read_output(example_run.folder / "headlines.csv")
    manifest = json.loads((example_run.folder / "run.json").read_text())
    counts = manifest["counts"]
    assert counts["read"] == len(source)
    assert counts["read"] == counts["outside_window"] + counts["rejected"] + counts["accepted"]
    assert len(headlines) == counts["accepted"]
    assert list(headlines.columns) == list(source.columns) + ADDED
    pd.testing.assert_frame_equal(headlines[list(source.columns)], source)  # same rows, same order
    topics = read_output(example_run.folder / "topics.csv")
    assert topics["size"].astype(int).sum() == len(headlines)
    sizes = headlines.topic_id.value_counts()
    for _, row in topics.iterrows():
        assert int(row["size"]) == sizes[row.topic_id]
    labels = dict(zip(topics.topic_id, topics.label))
    assert (headlines.topic_label == headlines.topic_id.map(labels)).all()
    assert set(headlines.assigned_by) <= {"hdbscan", "nearest", "none"}
    assert ((headlines.assigned_by == "none") == (headlines.topic_id == "-1")).all()


def test_manifest_records_what_reproduces_the_run(example_run):
    manifest = json.loads((example_run.folder / "run.json").read_text())
    assert manifest["config"]["clustering"]["min_cluster_size"] == "auto"
    assert manifest["resolved"]["min_cluster_size"] >= 2
    [entry] = manifest["inputs"]
    assert entry["path"].endswith("uci_headlines_sample.csv") and len(entry["sha256"]) == 64
    assert manifest["model"]["name"] == "all-MiniLM-L6-v2" and manifest["model"]["kind"] == "bundled"
    assert manifest["model"]["backend"] == "onnx", "on a CPU the int8 ONNX route runs by default"
    assert manifest["seed"] == 42
    for key in ("sentence-transformers", "umap-learn", "scikit-learn", "torch"):
        assert manifest["versions"][key] != "not installed"
    assert {"embed", "reduce", "cluster", "label", "write"} <= set(manifest["seconds"])
    assert manifest["topics"] == len(read_output(example_run.folder / "topics.csv")) - (
        manifest["unclustered_rows"] > 0
    )
    assert 0 <= manifest["unclustered_share"] <= 1


def test_topics_follow_the_real_stories(example_run):
    """Topics agree with the aggregator's story ids kept in the sample (never shown to the job).
    The ids are noisy (one 'story' holds unrelated news-in-brief items), so no score reaches 1."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    headlines = read_output(example_run.folder / "headlines.csv")
    assert normalized_mutual_info_score(headlines.story, headlines.topic_id) >= 0.8
    assert adjusted_rand_score(headlines.story, headlines.topic_id) >= 0.7


def test_same_input_and_config_give_identical_files(example_run, example_rerun):
    for name in ("topics.csv", "headlines.csv", "rejected.csv", "changes.csv"):
        assert (example_run.folder / name).read_bytes() == (example_rerun.folder / name).read_bytes(), name


def test_rerun_with_same_run_id_replaces_the_folder(example_run, tmp_path):
    first = invoke(["--config", str(EXAMPLE_INPUT.parents[1] / "configs" / "example.yaml"), "--run-id", "wk"], tmp_path)
    (first.folder / "marker").write_text("old")
    again = invoke(["--config", str(EXAMPLE_INPUT.parents[1] / "configs" / "example.yaml"), "--run-id", "wk"], tmp_path)
    assert again.exit_code == 0 and again.folder == first.folder
    assert not (again.folder / "marker").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", *TIMELINE_FILES, "wk"]


def test_rerun_into_the_same_folder_under_a_new_id_gives_identical_files(tmp_path):
    """A scheduler that reruns a week under a new id must not compare the week with itself:
    same input, window and settings give the same tables, keys and statuses."""
    config = str(EXAMPLE_INPUT.parents[1] / "configs" / "example.yaml")
    first = invoke(["--config", config, "--run-id", "monday"], tmp_path)
    second = invoke(["--config", config, "--run-id", "monday-again"], tmp_path)
    assert first.exit_code == 0 and second.exit_code == 0, second.stderr
    for name in ("topics.csv", "headlines.csv", "changes.csv", "rejected.csv"):
        assert (first.folder / name).read_bytes() == (second.folder / name).read_bytes(), name
    topics = read_output(second.folder / "topics.csv")
    assert set(topics.status[topics.topic_id != "-1"]) == {"new"}
