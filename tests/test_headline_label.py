"""Headline-style topic labels (cluster/headline_label.py): small hand-written topics, no model."""

from __future__ import annotations

import numpy as np

from cluster.headline_label import UNCLUSTERED_LABEL, topic_labels
from cluster.headline_text import compressions, recase, surface_forms, tidy


def unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def centroids_of(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> dict[int, np.ndarray]:
    result = {}
    for topic in sorted(int(t) for t in set(labels.tolist()) if t != -1):
        mean = np.average(vectors[labels == topic], axis=0, weights=weights[labels == topic])
        result[topic] = mean / np.linalg.norm(mean)
    return result


def label(texts, rows, labels, keywords, weights=None, settings=None):
    """topic_labels on unit-length `rows` as vectors and the weighted centroids of `labels`."""
    labels = np.asarray(labels)
    weights = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=float)
    vectors = unit(rows)
    return topic_labels(texts, weights, vectors, labels, centroids_of(vectors, labels, weights), keywords, settings)


PRITZKER = [
    "Shigeru Ban wins Pritzker Prize - Reuters",
    "Japanese architect Shigeru Ban wins Pritzker Prize | BBC News",
    "UPDATE 2-Shigeru Ban wins 2014 Pritzker architecture prize",
    "Pritzker Prize goes to Ban - NBC29 WVIR Charlottesville, VA News ...",
]
POLIO = [
    "WHO declares South-East Asia polio-free",
    "South-East Asia certified polio-free by WHO, India celebrates",
    "India, South-East Asia declared free of polio",
]
PRITZKER_ROWS = [[1.0, 0.05, 0.0], [0.98, 0.1, 0.0], [0.97, 0.0, 0.1], [0.9, 0.2, 0.1]]
POLIO_ROWS = [[0.0, 1.0, 0.05], [0.1, 0.97, 0.0], [0.0, 0.9, 0.2]]
WEIGHTS = [3, 1, 1, 1, 2, 1, 1]  # wire copies: the first headline of each topic ran several times
KEYWORDS = {0: ["pritzker", "ban", "prize", "shigeru ban", "shigeru"], 1: ["polio", "asia", "south", "free", "east"]}


def test_labels_are_tidied_headlines_of_their_own_topic():
    texts = PRITZKER + POLIO
    labels = label(texts, PRITZKER_ROWS + POLIO_ROWS, [0] * 4 + [1] * 3, KEYWORDS, WEIGHTS)
    assert labels[0] == "Shigeru Ban wins Pritzker Prize"
    assert labels[1] == "WHO declares South-East Asia polio-free"
    for topic, members in ((0, PRITZKER), (1, POLIO)):
        assert any(labels[topic].casefold() in text.casefold() for text in members)


def test_publisher_tails_wire_slugs_and_ellipses_are_gone():
    assert tidy("Shigeru Ban wins Pritzker Prize - Reuters") == ("Shigeru Ban wins Pritzker Prize", False)
    assert tidy("Libyan parliament ousts prime minister | The Republic")[0] == "Libyan parliament ousts prime minister"
    assert tidy("UPDATE 2-Sarepta shares soar on new hope")[0] == "Sarepta shares soar on new hope"
    assert tidy("US STOCKS-Wall St rebounds as biotech recovers")[0] == "Wall St rebounds as biotech recovers"
    assert tidy("UK-Based firm expands")[0] == "UK-Based firm expands"  # not a wire slug
    assert tidy("Plane search expands to Kazakhstan - WNCN: News, Weather for  ...") == (
        "Plane search expands to Kazakhstan",
        False,
    )
    assert tidy("Watch: Lorde performs with Nirvana")[0] == "Lorde performs with Nirvana"
    assert tidy("Lady Gaga unveils 'GUY' video (PHOTOS)")[0] == "Lady Gaga unveils 'GUY' video"
    assert tidy("Leonardo DiCaprio Dancing At Coachella (See Video!)")[0] == "Leonardo DiCaprio Dancing At Coachella"
    assert tidy("Euro falls on Draghi comments -- 2nd Update")[0] == "Euro falls on Draghi comments"
    assert tidy("Study: Salt speeds up aging in teens")[0] == "Study: Salt speeds up aging in teens"  # whose claim
    assert tidy("Anita Baker - Arrest warrant issued for Anita Baker")[0] == "Arrest warrant issued for Anita Baker"
    assert tidy("'NSA posed as Facebook for surveillance'")[0] == "NSA posed as Facebook for surveillance"
    assert tidy("'Noah' tops box office")[0] == "'Noah' tops box office"  # the quotes are not around it all


def test_a_cut_off_headline_is_marked_and_loses_its_dangling_words():
    text, truncated = tidy("Feeding practices for babies vary with families' race and  ...")
    assert truncated
    assert text == "Feeding practices for babies vary with families' race"


def test_long_headlines_are_compressed_at_separators_and_clauses():
    found = {text for text, _, _ in compressions("Malaysia jet: search moves south, officials say", False)}
    assert "Malaysia jet: search moves south" in found
    assert "search moves south" not in found  # a short lead before a colon says which story it is
    found = {text for text, _, _ in compressions("Wall St gets lift from Coca-Cola; Nasdaq lags", False)}
    assert "Wall St gets lift from Coca-Cola" in found
    long_headline = "Lady Gaga unveils the music video for her new single, featuring a cameo by Andy Cohen"
    labels = label(
        [long_headline, "Lady Gaga unveils the music video for her new single"],
        [[1.0, 0.0], [0.99, 0.1]],
        [0, 0],
        {0: ["gaga", "lady gaga", "video", "single"]},
    )
    assert labels[0] == "Lady Gaga unveils the music video for her new single"
    assert len(labels[0]) <= 60


def test_a_complete_headline_keeps_its_last_small_word_and_lists_of_names_are_not_cut():
    assert tidy("Seriousness of OpenSSL Heartbleed Bug Sets In")[0] == "Seriousness of OpenSSL Heartbleed Bug Sets In"
    found = {
        text for text, _, _ in compressions("Paul Stanley: Kiss bandmates Peter Criss, Ace Frehley anti-Semitic", False)
    }
    assert "Paul Stanley: Kiss bandmates Peter Criss" not in found  # a comma in a list of names is no clause
    found = {text for text, _, _ in compressions("Shigeru Ban wins Pritzker Prize, architecture's top honour", False)}
    assert "Shigeru Ban wins Pritzker Prize" in found


def test_shouting_headlines_are_recased_from_the_topic():
    forms = surface_forms(["Nobel laureate Gabriel Garcia Marquez dies", "NASA news"])
    assert recase("GABRIEL GARCIA MARQUEZ PASSES AWAY", forms) == "Gabriel Garcia Marquez Passes Away"
    labels = label(
        ["NOBEL PRIZE NOVELIST GABRIEL GARCIA MARQUEZ DIES AT 87", "Gabriel Garcia Marquez dies, aged 87"],
        [[1.0, 0.0], [0.6, 0.8]],
        [0, 0],
        {0: ["marquez", "garcia", "gabriel", "dies"]},
    )
    assert labels[0] == "Gabriel Garcia Marquez dies, aged 87"


def test_siblings_about_one_subject_get_labels_that_say_what_differs():
    texts = [
        "Malaysia Airlines flight MH370 - Reuters",
        "Malaysia Airlines flight MH370 search: Australia finds debris",
        "Malaysia Airlines flight MH370 | BBC News",
        "Malaysia Airlines flight MH370: families protest in Beijing",
    ]
    rows = [[1.0, 0.1, 0.0], [0.95, 0.3, 0.0], [1.0, 0.0, 0.1], [0.9, 0.0, 0.4]]
    keywords = {0: ["malaysia", "mh370", "debris", "australia"], 1: ["mh370", "families", "beijing", "protest"]}
    labels = label(texts, rows, [0, 0, 1, 1], keywords, weights=[3, 1, 3, 1])
    assert "debris" in labels[0] and "families" in labels[1]


def test_two_topics_whose_best_headline_is_the_same_after_tidying_get_different_labels():
    texts = [
        "Malaysia Airlines flight MH370 - Reuters",
        "Jet search goes on",
        "Malaysia Airlines flight MH370 | BBC News",
        "Relatives wait for news",
    ]
    rows = [[1.0, 0.0, 0.0], [0.7, 0.7, 0.0], [1.0, 0.0, 0.01], [0.7, 0.0, 0.7]]
    keywords = {0: ["malaysia", "mh370"], 1: ["malaysia", "mh370"]}
    labels = label(texts, rows, [0, 0, 1, 1], keywords, weights=[5, 1, 4, 1])
    assert labels[0] == "Malaysia Airlines flight MH370"  # the larger topic chooses first
    assert labels[1] == "Relatives wait for news"  # the next best of its own headlines


def test_unclustered_headlines_get_the_unclustered_label():
    texts = PRITZKER + ["A stray headline about nothing in particular"]
    labels = label(texts, PRITZKER_ROWS + [[0.0, 0.0, 1.0]], [0, 0, 0, 0, -1], KEYWORDS, WEIGHTS[:5])
    assert labels == {-1: UNCLUSTERED_LABEL, 0: "Shigeru Ban wins Pritzker Prize"}


def test_labels_do_not_depend_on_the_order_of_headlines_or_keywords_dicts():
    texts = PRITZKER + POLIO
    rows = PRITZKER_ROWS + POLIO_ROWS
    topics = [0] * 4 + [1] * 3
    first = label(texts, rows, topics, KEYWORDS, WEIGHTS)
    order = [6, 2, 4, 0, 5, 1, 3]
    again = label([texts[i] for i in order], [rows[i] for i in order], [topics[i] for i in order],
                  dict(reversed(list(KEYWORDS.items()))), [WEIGHTS[i] for i in order])  # fmt: skip
    assert first == again == label(texts, rows, topics, KEYWORDS, WEIGHTS)


def test_a_topic_without_keywords_still_gets_one_of_its_headlines():
    labels = label(
        ["Tokyo stocks close flat", "Nikkei ends flat in Tokyo"], [[1.0, 0.0], [0.6, 0.8]], [3, 3], {}, [3, 1]
    )
    assert labels == {3: "Tokyo stocks close flat"}
