"""Assembling the topic and headline tables from the stages' results (no model)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cluster.clean import CLEAN_TEXT, PreparedInput, deduplicate
from cluster.clustering import Assignment
from cluster.config import InputConfig
from cluster.label import TopicDescription
from cluster.schema import HEADLINES
from cluster.tables import headline_table, topic_fit, topic_table


def prepared_rows() -> PreparedInput:
    accepted = pd.DataFrame(
        {
            "headline": ["Fed holds", "FED HOLDS", "Stocks up", "Rain"],
            "date": ["2026-11-23", "2026-11-25", "2026-11-24", ""],
            "source": ["A", "B", "A", " "],
        }
    )
    accepted[CLEAN_TEXT] = accepted["headline"]
    unique = deduplicate(accepted[CLEAN_TEXT])
    counts = {"read": 4, "outside_window": 0, "rejected": 0, "accepted": 4, "unique": 3}
    return PreparedInput(accepted, accepted.iloc[:0], unique, [], None, counts, ["headline", "date", "source"])


def test_fit_and_tables_count_duplicates_as_rows():
    """Topic 0 holds "Fed holds" twice and "Stocks up" once, at right angles. Counted as rows, its
    centroid is (2, 1)/√5: the rows' similarities to it are 2/√5 (twice) and 1/√5, and its cohesion
    (2·2/√5 + 1/√5)/3 = √5/3 ≈ 0.745. Counted once per text it would be (1, 1)/√2 and 0.707."""
    prepared = prepared_rows()
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    assignment = Assignment(np.array([0, 0, -1]), np.array(["hdbscan", "hdbscan", "none"], dtype=object))
    weights = prepared.unique.counts.astype(float)  # "Fed holds" twice
    fit = topic_fit(vectors, assignment.labels, weights)
    np.testing.assert_allclose(fit.centroids[0], [0.894427, 0.447214], atol=1e-6)
    np.testing.assert_allclose(fit.similarity[:2], [0.894427, 0.447214], atol=1e-6)
    assert np.isnan(fit.similarity[2]), "the unclustered headline has no topic to be similar to"
    assert fit.cohesion[0] == pytest.approx(0.745356, abs=1e-6)
    descriptions = {
        0: TopicDescription(0, "Fed", ["fed"], ["Fed holds"]),
        -1: TopicDescription(-1, "Unclustered", [], []),
    }
    headlines = headline_table(prepared, assignment, descriptions, fit, np.zeros((3, 2)))
    HEADLINES.check(headlines.assign(topic_key="")[[*prepared.input_columns, *HEADLINES.names]])
    assert headlines["topic_id"].tolist() == [0, 0, 0, -1]
    assert headlines["topic_label"].tolist() == ["Fed", "Fed", "Fed", "Unclustered"]
    np.testing.assert_array_equal(headlines["topic_confidence"], [0.8944, 0.8944, 0.4472, np.nan])
    topics = topic_table(prepared, headlines["topic_id"].to_numpy(), descriptions, fit.cohesion, InputConfig())
    assert topics["topic_id"].tolist() == [0, -1] and topics["size"].tolist() == [3, 1]
    assert topics.loc[0, "representative_1"] == "Fed holds" and topics.loc[0, "representative_2"] == ""
    assert (topics.loc[0, "first_date"], topics.loc[0, "last_date"]) == ("2026-11-23", "2026-11-25")
    assert topics["n_sources"].tolist() == [2, 0]  # a blank source is not a source
