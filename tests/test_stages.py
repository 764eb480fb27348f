"""Stage functions on small hand-made inputs: cleaning, c-TF-IDF, labels, outliers, writing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cluster.clean import clean_headlines, clean_text, deduplicate, resolve_window, split_by_window
from cluster.clustering import assign_outliers, merge_similar_topics, number_topics_by_size, resolve_min_cluster_size
from cluster.config import CleaningConfig, ClusteringConfig, InputConfig
from cluster.label import ClassTfidf, make_label, pick_representatives
from cluster.write import publish_run, spreadsheet_safe, write_csv


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("  Fed\u00a0holds   rates\n", "Fed holds rates"),
        ("ﬁnancial\u200b news", "financial news"),  # NFKC ligature, zero-width space
        ("Stocks slide as tech falls - Reuters", "Stocks slide as tech falls"),
        ("Markets wobble | BBC News", "Markets wobble"),
        ("Elections 2026 – The Guardian", "Elections 2026"),
        ("Pings coming from Flight 370 - Australian PM", "Pings coming from Flight 370"),
        ("Wu-Tang Clan sells album", "Wu-Tang Clan sells album"),  # a hyphen inside a word is not a tag
        ("- Reuters", "- Reuters"),  # never strip a headline to nothing
    ],
)
def test_clean_text(raw, cleaned):
    assert clean_text(raw, CleaningConfig()) == cleaned


def test_tag_stripping_can_be_switched_off():
    assert clean_text("Markets wobble | BBC News", CleaningConfig(strip_publisher_tags=False)) == "Markets wobble | BBC News"


def test_clean_headlines_rejects_blank_and_long_rows_keeping_the_rest_in_order():
    frame = pd.DataFrame({"headline": ["b", " ", "a" * 20, "c"]}, index=[10, 11, 12, 13])
    result = clean_headlines(frame, "headline", CleaningConfig(max_length=10))
    assert result.accepted.index.tolist() == [10, 13]
    assert result.rejected["reason"].tolist() == ["blank headline", "longer than 10 characters (20)"]


def test_deduplicate_is_case_insensitive_and_keeps_first_spelling():
    unique = deduplicate(pd.Series(["Fed holds", "Stocks up", "FED HOLDS", "fed holds"]))
    assert unique.texts == ["Fed holds", "Stocks up"]
    assert unique.row_to_unique.tolist() == [0, 1, 0, 0]
    assert unique.counts.tolist() == [3, 1]


def test_window_last_days_and_explicit_range():
    cfg = InputConfig(last_days=7, run_date=dt.date(2026, 11, 30))
    window = resolve_window(cfg)
    assert (window.since, window.until) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    frame = pd.DataFrame({"date": ["2026-11-22T23:59:00Z", "2026-11-23T00:00:00Z", "2026-11-29 18:00", "", "soon"]})
    split = split_by_window(frame, "date", window)
    assert split.inside.tolist() == [1, 2]
    assert split.outside.tolist() == [0]
    assert split.undated.tolist() == [3, 4]


def test_class_tfidf_matches_its_formula():
    texts = ["apple apple banana", "banana cherry", "cherry cherry cherry"]
    classes = np.array([0, 0, 1])
    model = ClassTfidf(ngram_range=(1, 1), stop_words=None).fit(texts, classes)
    vocabulary = list(model.vocabulary_)
    scores = model.scores_.toarray()
    # class 0: apple 2, banana 2, cherry 1 (5 terms); class 1: cherry 3 (3 terms); A = 4
    expected_apple = 2 / 5 * np.log(1 + 4 / 2)
    expected_cherry_1 = 3 / 3 * np.log(1 + 4 / 4)
    assert scores[0, vocabulary.index("apple")] == pytest.approx(expected_apple)
    assert scores[1, vocabulary.index("cherry")] == pytest.approx(expected_cherry_1)
    assert model.top_terms(2) == {0: ["apple", "banana"], 1: ["cherry"]}


def test_class_tfidf_weights_count_duplicates():
    plain = ClassTfidf(ngram_range=(1, 1), stop_words=None).fit(["a1 b2", "a1 b2", "c3"], np.array([0, 0, 1]))
    weighted = ClassTfidf(ngram_range=(1, 1), stop_words=None).fit(["a1 b2", "c3"], np.array([0, 1]), np.array([2, 1]))
    np.testing.assert_allclose(plain.scores_.toarray(), weighted.scores_.toarray())


def test_label_merges_phrases_and_keeps_common_spelling():
    texts = ["Wu-Tang Clan will sell one copy of secret album", "Wu-Tang album sold once"]
    keywords = ["wu", "tang", "wu tang", "album", "clan", "tang clan", "copy"]
    assert make_label(keywords, texts, 3) == "Wu-Tang / album / Clan"


def test_representatives_are_nearest_and_distinct():
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.99, 0.141], [0.8, 0.6], [0.0, 1.0]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = ["Exact", "exact!", "Almost exact", "Further", "Far"]
    picked = pick_representatives(vectors, texts, np.array([1.0, 0.0]), 3)
    assert picked == ["Exact", "Further", "Far"]  # 'exact!' repeats, 'Almost exact' is a near copy


def test_nearest_outliers_respect_the_threshold():
    vectors = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0.9, 0.436], [-1, 0]], dtype=float)
    labels = np.array([0, 0, 1, 1, -1, -1])
    weights = np.ones(6)
    result = assign_outliers(vectors, labels, weights, ClusteringConfig(outliers="nearest", outlier_threshold=0.5))
    assert result.labels.tolist() == [0, 0, 1, 1, 0, -1]
    assert result.assigned_by.tolist() == ["hdbscan"] * 4 + ["nearest", "none"]
    kept = assign_outliers(vectors, labels, weights, ClusteringConfig(outliers="keep"))
    assert kept.labels.tolist() == labels.tolist()


def test_topics_are_numbered_by_size_in_rows():
    labels = np.array([5, 5, 3, 3, 3, -1, 7])
    weights = np.array([10, 1, 1, 1, 1, 1, 1])
    assert number_topics_by_size(labels, weights).tolist() == [0, 0, 1, 1, 1, -1, 2]


def test_auto_min_cluster_size_grows_with_the_week():
    assert resolve_min_cluster_size("auto", 300) < resolve_min_cluster_size("auto", 30000)
    assert resolve_min_cluster_size(12, 30000) == 12


@pytest.mark.parametrize(
    "value, written",
    [("=1+2", "'=1+2"), ("+44 call", "'+44 call"), ("-5% drop", "'-5% drop"), ("@all", "'@all"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("Fed holds", "Fed holds"), (3, 3)],
)
def test_spreadsheet_safe(value, written):
    assert spreadsheet_safe(value) == written


def test_write_csv_keeps_numbers_as_numbers(tmp_path):
    write_csv(pd.DataFrame({"t": ["=x"], "map_x": [-1.23456], "topic_id": [-1]}), tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == "\ufefft,map_x,topic_id\n'=x,-1.2346,-1\n".encode("utf-8")


def test_failed_write_leaves_no_run_folder(tmp_path):
    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        publish_run(tmp_path, "week", {"a.csv": lambda p: p.write_text("ok"), "b.csv": broken})
    assert list(tmp_path.iterdir()) == []


def test_merge_joins_topics_with_close_centroids_only():
    vectors = np.array([[1, 0, 0], [0.95, 0.31, 0], [0, 0, 1], [0, 0.1, 0.99], [0, 1, 0], [0.7, 0.7, 0]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([4, 7, 2, 2, 9, -1])
    merged = merge_similar_topics(vectors, labels, np.ones(6), 0.9)
    assert merged.tolist() == [4, 4, 2, 2, 9, -1]
    assert merge_similar_topics(vectors, labels, np.ones(6), None).tolist() == labels.tolist()


def test_merge_counts_shared_rare_words_when_given_a_lexical_weight():
    from cluster.reduce import word_vectors

    # Topics 0 and 1 are one event told in different words for the embedding (cosine 0.45) but
    # share its names; topic 2 is as far from topic 0 in embedding space and shares no word.
    texts = ["Oculus Zuckerberg Facebook deal", "Oculus Zuckerberg Facebook backlash", "Ukraine Crimea troops", "Tesla Musk"] * 15
    other = np.sqrt(1 - 0.45**2)
    vectors = np.array([[1, 0, 0, 0], [0.45, other, 0, 0], [0.45, 0, other, 0], [0, 0, 0, 1]] * 15)
    labels = np.array([0, 1, 2, 3] * 15)
    assert merge_similar_topics(vectors, labels, np.ones(60), 0.5).tolist() == labels.tolist()
    merged = merge_similar_topics(vectors, labels, np.ones(60), 0.5, word_vectors(texts), 1.0)
    assert merged.tolist() == [0, 0, 2, 3] * 15


def test_blended_neighbours_match_brute_force():
    from cluster.reduce import blended_neighbours, word_vectors

    texts = ["Malaysia flight MH370 search", "MH370 search resumes", "Apple iPhone launch", "iPhone 6 launch date",
             "Search for flight goes on", "Apple earnings beat"]
    rng = np.random.RandomState(0)
    vectors = rng.normal(size=(6, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = word_vectors(texts)
    indices, distances = blended_neighbours(vectors, words, k=3, weight=1.0, chunk=4)
    similarity = (vectors @ vectors.T + (words @ words.T).toarray()) / 2
    for i in range(6):
        others = sorted((j for j in range(6) if j != i), key=lambda j: (-similarity[i, j], j))
        assert indices[i].tolist() == [i] + others[:2]
        assert distances[i, 0] == 0
        np.testing.assert_allclose(distances[i, 1:], 1 - similarity[i, others[:2]], atol=1e-5)
    # word overlap pulls the two MH370 headlines together however the embeddings fall
    assert similarity[0, 1] > (vectors[0] @ vectors[1]) / 2
