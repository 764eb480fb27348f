"""Label stage: c-TF-IDF keywords, representative headlines and a short label per topic."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cluster.clustering import UNCLUSTERED
from cluster.compute import Compute, in_process, split
from cluster.config import LabelingConfig
from cluster.headline_label import topic_labels
from cluster.headline_text import display_text

UNCLUSTERED_LABEL = "Unclustered"
NEAR_DUPLICATE_COSINE = 0.95  # representatives closer than this to one already picked add nothing


class ClassTfidf:
    """c-TF-IDF: TF-IDF computed over topics instead of documents.

    All headlines of a topic are joined into one document, and a term t scores in topic c as

        W(t, c) = tf(t, c) / n(c) · log(1 + A / f(t))

    where tf(t, c) is how often t occurs in topic c, n(c) the number of terms in topic c,
    f(t) how often t occurs over all topics and A the average number of terms per topic.
    A term scores high when it is frequent in the topic and rare elsewhere.

    Parameters are stored as given; `fit` validates and learns `vocabulary_`, `classes_` and
    `scores_` (a sparse classes × terms matrix).
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), stop_words: str | list[str] | None = "english"):
        self.ngram_range = ngram_range
        self.stop_words = stop_words

    def fit(
        self, texts: list[str], classes: np.ndarray, weights: np.ndarray | None = None, compute: Compute | None = None
    ) -> "ClassTfidf":
        """Learn term scores; `weights` counts each text that many times (duplicate headlines).
        The counting runs in parts on `compute` (this process by default)."""
        if len(texts) != len(classes):
            raise ValueError("texts and classes differ in length")
        compute = compute or in_process()
        weights = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=float)
        self.classes_, class_index = np.unique(classes, return_inverse=True)
        parts = [(texts[s], class_index[s], weights[s]) for s in split(len(texts), compute.cfg.partition_size)]
        shared = {
            "n_classes": len(self.classes_),
            "ngram_range": tuple(self.ngram_range),
            "stop_words": self.stop_words,
        }
        terms, tf = add_counts(compute.map(class_term_counts, parts, shared), len(self.classes_))
        terms_per_class = np.asarray(tf.sum(axis=1)).ravel()
        term_totals = np.asarray(tf.sum(axis=0)).ravel()
        average_terms = terms_per_class.mean() if len(terms_per_class) else 0.0
        idf = np.log1p(average_terms / np.maximum(term_totals, 1e-12))
        normalised = sp.diags(1.0 / np.maximum(terms_per_class, 1e-12)) @ tf
        self.scores_ = (normalised @ sp.diags(idf)).tocsr()
        self.vocabulary_ = terms
        return self

    def top_terms(self, n: int) -> dict[int, list[str]]:
        """The n highest-scoring terms of each class; ties break alphabetically."""
        result: dict[int, list[str]] = {}
        for row, cls in enumerate(self.classes_):
            start, end = self.scores_.indptr[row], self.scores_.indptr[row + 1]
            scores = self.scores_.data[start:end]
            terms = self.vocabulary_[self.scores_.indices[start:end]]
            order = sorted(range(len(terms)), key=lambda i: (-scores[i], terms[i]))
            result[int(cls)] = [str(terms[i]) for i in order[:n] if scores[i] > 0]
        return result


def class_term_counts(
    part: tuple[list[str], np.ndarray, np.ndarray],
    n_classes: int,
    ngram_range: tuple[int, int],
    stop_words: str | list[str] | None,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """For one part (texts, their class positions, their weights): its terms in sorted order and
    the weighted count of each term in each class (classes × terms)."""
    from sklearn.feature_extraction.text import CountVectorizer

    texts, class_index, weights = part
    vectorizer = CountVectorizer(ngram_range=ngram_range, stop_words=stop_words)
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # every text was stop words only
        return np.array([], dtype=object), sp.csr_matrix((n_classes, 0))
    membership = sp.csr_matrix((weights, (class_index, np.arange(len(texts)))), shape=(n_classes, len(texts)))
    return vectorizer.get_feature_names_out().astype(object), (membership @ counts).tocsr().astype(float)


def add_counts(parts: list[tuple[np.ndarray, sp.csr_matrix]], n_classes: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """The parts' counts over their joint, sorted vocabulary. Counts are whole numbers, so the
    sum is exact and does not depend on how the texts were split."""
    vocabulary = np.unique(np.concatenate([terms for terms, _ in parts])) if parts else np.array([], dtype=object)
    rows, columns, values = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    for terms, counts in parts:
        coo = counts.tocoo()
        rows.append(coo.row.astype(np.int64))
        columns.append(np.searchsorted(vocabulary, terms)[coo.col] if len(terms) else coo.col.astype(np.int64))
        values.append(coo.data)
    shape = (n_classes, len(vocabulary))
    # duplicates (a term of one class in several parts) are summed when the matrix is built
    total = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=shape)
    total.sum_duplicates()
    return vocabulary, total


def surface_form(term: str, texts: list[str]) -> str:
    """How a lower-cased term is most often written in the texts: 'mh370' -> 'MH370',
    'wu tang' -> 'Wu-Tang'. Up to two stop words may sit between the words of a bigram
    ('muppets wanted' -> 'Muppets Most Wanted')."""
    words = term.split()
    gap = r"\W+(?:\w+\W+){0,2}?"
    pattern = re.compile(r"\b" + gap.join(re.escape(w) for w in words) + r"\b", re.IGNORECASE)
    forms = Counter(match.group(0) for text in texts for match in pattern.finditer(text))
    if not forms:
        return term
    return sorted(forms.items(), key=lambda item: (-item[1], item[0]))[0][0]


def make_label(keywords: list[str], texts: list[str], n_terms: int) -> str:
    """A short label from the top keywords, in their most common spelling, joined by " / ".

    Keywords are taken in score order. A phrase that contains words already taken replaces
    them ('wu', 'tang', then 'wu tang' gives 'Wu-Tang'); a keyword that only repeats words
    already taken is skipped. It stops at `n_terms` terms.
    """
    chosen: list[str] = []
    for term in keywords:
        words = set(term.split())
        if any(words <= set(c.split()) for c in chosen):
            continue  # adds nothing new
        taken = [c for c in chosen if set(c.split()) <= words]
        if any(words & set(c.split()) for c in chosen if c not in taken):
            continue  # overlaps a taken phrase without containing it
        if taken:
            position = chosen.index(taken[0])
            chosen = [c for c in chosen if c not in taken]
            chosen.insert(position, term)
        else:
            if len(chosen) == n_terms:
                break
            chosen.append(term)
    return " / ".join(surface_form(term, texts) for term in chosen)


def _comparable(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def pick_representatives(vectors: np.ndarray, texts: list[str], centroid: np.ndarray, n: int) -> list[str]:
    """The n texts nearest to the centroid that are distinct from one another."""
    similarity = vectors @ centroid
    order = sorted(range(len(texts)), key=lambda i: (-similarity[i], i))
    picked: list[int] = []
    for i in order:
        if any(_comparable(texts[i]) == _comparable(texts[j]) for j in picked):
            continue
        if any(float(vectors[i] @ vectors[j]) >= NEAR_DUPLICATE_COSINE for j in picked):
            continue
        picked.append(i)
        if len(picked) == n:
            break
    return [texts[i] for i in picked]


@dataclass(frozen=True)
class TopicDescription:
    """What the label stage says about one topic."""

    topic_id: int
    label: str
    keywords: list[str]
    representatives: list[str]


def describe_topics(
    texts: list[str],
    vectors: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    centroids: dict[int, np.ndarray],
    cfg: LabelingConfig,
    compute: Compute | None = None,
) -> dict[int, TopicDescription]:
    """Keywords, representatives and a label for every topic (unique headlines in, one entry
    per topic id out). The unclustered group gets neither keywords nor representatives."""
    tfidf = ClassTfidf(ngram_range=cfg.ngram_range, stop_words=cfg.stop_words).fit(texts, labels, weights, compute)
    keywords = tfidf.top_terms(cfg.n_keywords)
    headline_labels = (
        topic_labels(texts, weights, vectors, labels, centroids, keywords, stop_words=cfg.stop_words)
        if cfg.style == "headline"
        else {}
    )
    described: dict[int, TopicDescription] = {}
    for topic in sorted(int(t) for t in np.unique(labels)):
        if topic == UNCLUSTERED:
            described[topic] = TopicDescription(topic, UNCLUSTERED_LABEL, [], [])
            continue
        members = np.flatnonzero(labels == topic)
        member_texts = [texts[i] for i in members]
        terms = keywords.get(topic, [])
        label = headline_labels.get(topic) or make_label(terms, member_texts, cfg.label_terms) or member_texts[0][:60]
        picked = pick_representatives(vectors[members], member_texts, centroids[topic], cfg.n_representatives)
        # shown without a publisher tail or a dangling "..."; headlines.csv keeps every row's own text
        representatives = [display_text(text) for text in picked]
        described[topic] = TopicDescription(topic, label, terms, representatives)
    return described
