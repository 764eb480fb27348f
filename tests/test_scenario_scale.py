"""The sample path end to end: the example with `scale.fit_sample` below its size, real model."""

from __future__ import annotations

import json

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from conftest import EXAMPLE_INPUT, read_output


def test_sample_path_fits_the_sample_and_assigns_every_other_headline(example_sample_run, example_run):
    manifest = json.loads((example_sample_run.folder / "run.json").read_text())
    assert manifest["fit"] == {"mode": "sample", "fitted": 150, "assigned": manifest["counts"]["unique"] - 150}
    by = manifest["assigned_by"]
    assert by["vote"] > 0 and by["hdbscan"] > 0
    assert sum(by.values()) == manifest["counts"]["accepted"]
    assert json.loads((example_run.folder / "run.json").read_text())["fit"]["mode"] == "whole"


def test_every_row_has_a_topic_a_label_and_a_place_on_the_map(example_sample_run):
    headlines = read_output(example_sample_run.folder / "headlines.csv")
    source = read_output(EXAMPLE_INPUT)
    assert headlines["id"].tolist() == source["id"].tolist()
    assert set(headlines["assigned_by"]) <= {"hdbscan", "vote", "nearest", "none"}
    assert (headlines["map_x"] != "").all() and (headlines["map_y"] != "").all()
    clustered = headlines[headlines["topic_id"] != "-1"]
    assert (clustered["topic_label"] != "").all()
    topics = read_output(example_sample_run.folder / "topics.csv")
    assert topics["size"].astype(int).sum() == len(headlines)


def test_sample_path_finds_the_stories_about_as_well_as_the_whole_fit(example_sample_run, example_run):
    source = read_output(EXAMPLE_INPUT)
    sampled = read_output(example_sample_run.folder / "headlines.csv")["topic_id"]
    whole = read_output(example_run.folder / "headlines.csv")["topic_id"]
    nmi_sampled = normalized_mutual_info_score(source["story"], sampled)
    nmi_whole = normalized_mutual_info_score(source["story"], whole)
    assert nmi_sampled >= nmi_whole - 0.1, (nmi_sampled, nmi_whole)
    assert adjusted_rand_score(whole, sampled) > 0.5


def test_voted_headlines_land_near_their_topic_on_the_map(example_sample_run):
    headlines = read_output(example_sample_run.folder / "headlines.csv")
    headlines = headlines[headlines["topic_id"] != "-1"]
    xy = headlines[["map_x", "map_y"]].astype(float).to_numpy()
    topic = headlines["topic_id"].to_numpy()
    voted = (headlines["assigned_by"] == "vote").to_numpy()
    centres = {t: xy[(topic == t) & ~voted].mean(axis=0) for t in set(topic) if ((topic == t) & ~voted).any()}
    own, other = [], []
    for point, t in zip(xy[voted], topic[voted]):
        distances = {u: np.linalg.norm(point - c) for u, c in centres.items()}
        own.append(distances.get(t, np.inf))
        other.append(min(d for u, d in distances.items() if u != t))
    assert np.mean(np.array(own) < np.array(other)) > 0.9
