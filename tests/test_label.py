"""c-TF-IDF keywords, labels and representatives on small hand-made inputs."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cluster.label import ClassTfidf, display_text, make_label, pick_representatives

from conftest import read_output


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


@pytest.mark.parametrize(
    "headline, shown",
    [
        ("Ebola victims quarantined in Guinea - NBC29 WVIR Charlottesville, VA News ...",
         "Ebola victims quarantined in Guinea"),
        ("Apple sues Samsung over patents - Reuters", "Apple sues Samsung over patents"),
        ("Patient In Canada Tests Negative For Ebola, But Cases In Africa Continue ...",
         "Patient In Canada Tests Negative For Ebola, But Cases In Africa Continue"),
        ("Film Review: Muppets Most Wanted", "Film Review: Muppets Most Wanted"),
        ("Rise and fall - a story of stocks", "Rise and fall - a story of stocks"),
    ],
)  # fmt: skip
def test_representatives_are_shown_without_publisher_tails_or_a_dangling_ellipsis(headline, shown):
    assert display_text(headline) == shown


def test_the_example_run_labels_its_topics_with_phrases_from_their_own_headlines(example_run):
    """What a reviewer reads: each label is a short phrase whose words are in the topic's own
    headlines, no two topics share one, and the keywords stay in their own column."""
    topics = read_output(example_run.folder / "topics.csv")
    headlines = read_output(example_run.folder / "headlines.csv")
    clustered = topics[topics["topic_id"] != "-1"]
    assert clustered["label"].is_unique and (clustered["label"].str.len() <= 90).all()
    for _, topic in clustered.iterrows():
        own = " ".join(headlines.loc[headlines["topic_id"] == topic["topic_id"], "headline"]).casefold()
        words = re.findall(r"\w+", topic["label"].casefold())
        assert len(words) >= 2 and all(word in own for word in words), topic["label"]
        assert " / " not in topic["label"] and topic["keywords"]
        for column in ("representative_1", "representative_2", "representative_3"):
            assert not topic[column].endswith(("...", "…")), topic[column]
    pritzker = clustered[clustered["keywords"].str.startswith("pritzker")]
    assert len(pritzker) == 1 and "Shigeru Ban" in pritzker["label"].iloc[0]
