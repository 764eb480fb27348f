"""Headline-style topic labels (issue #19): a short phrase taken from the topic's own headlines.

Each topic's label is one of its headlines, tidied and, when long, compressed; never words the
headlines do not have. For every topic:

1. its distinct headlines are ranked by centrality (cosine to the topic centroid) and duplicate
   count; of the `shortlist` best, the `max_sources` that also hold most of the topic's c-TF-IDF
   keywords go on;
2. each is tidied (`cluster.headline_text.tidy`: wire slugs such as "UPDATE 2-", kickers such as
   "Watch:", publisher tails such as " - Reuters" or " | The Republic", a trailing "...",
   surrounding quotes, ALL CAPS);
3. its candidates are the tidied headline and its compressions (`compressions`): the parts
   between ":", " - ", " | " or ";" and runs of them, and the clause before a comma or "as",
   "after", "amid"...;
4. each candidate is scored: centrality, keyword coverage, consensus (how commonly the topic's
   central headlines use its words, which favours the story's own verb: "found dead", "recalls"),
   how clearly its headline belongs to this topic rather than the nearest other (margin),
   duplicate count, length (no penalty up to `target_length` characters), less for a compression,
   a cut-off, shouting, question-form or service-framed ("6 tips for...") candidate.

Topics then choose in order of size, largest first: each takes its best candidate that no topic
has taken, marked down by its word overlap with labels already taken by related topics (centroid
cosine ≥ `related_cosine`), so two topics about one subject get labels that say what differs.
Ties break on the text: the result depends on the inputs alone, not on their order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from cluster.headline_text import (
    TOKEN,
    comparable,
    compressions,
    content_terms,
    is_shouting,
    recase,
    surface_forms,
    tidy,
    unbalanced,
)

UNCLUSTERED = -1
UNCLUSTERED_LABEL = "Unclustered"

_QUESTION_OR_PERSON = re.compile(r"\?|\b(?:you|your|i|we|our|my)\b", re.IGNORECASE)
# service or local framing rather than the story: "Local expert discusses...", "6 tips for..."
_SOFT = re.compile(r"\b(?:local|tips|here's|how to|what to|things to know|need to know|discusses)\b", re.IGNORECASE)


@dataclass(frozen=True)
class LabelSettings:
    """How labels are chosen; the defaults are those measured by benchmarks/labels.py."""

    shortlist: int = 40  # the most central distinct headlines per topic, ranked by keywords too
    max_sources: int = 12  # of those, the best made into candidates
    max_candidates: int = 40  # candidates per topic kept for the choice across topics
    top_keywords: int = 6  # keywords that count for coverage, weighted 1, 1/2, 1/3...
    target_length: int = 60  # characters; longer candidates lose score
    min_words: int = 3
    overlap_penalty: float = 0.35  # times the word overlap with a related topic's label already taken
    related_cosine: float = 0.5  # topics whose centroids are this close are about one subject
    consensus_words: int = 5  # content words a candidate needs for full consensus
    consensus_weight: float = 0.4


@dataclass(frozen=True)
class Candidate:
    """One possible label: its text, the headline it came from and how it was made."""

    text: str
    source: int  # position in the topic's distinct headlines
    cuts: int  # compressions applied (0: the whole tidied headline)
    truncated: bool  # ends where the headline was cut off ("...")


def keyword_weights(keywords: list[str], top: int) -> dict[str, float]:
    """The top keywords, keyword r weighing 1/(r+1), the weights summing to 1."""
    weights = {term: 1.0 / (rank + 1) for rank, term in enumerate(keywords[:top])}
    total = sum(weights.values())
    return {term: w / total for term, w in weights.items()}


def keyword_coverage(terms: set[str], weights: dict[str, float]) -> float:
    """Share (0..1) of the keywords' weight that the terms hold."""
    return sum(w for term, w in weights.items() if term in terms)


@dataclass(frozen=True)
class TopicWords:
    """What a topic's headlines say most: its keywords' weights (c-TF-IDF order) and, per word,
    the share (0..1) of its central headlines that use it, duplicates counted."""

    keywords: dict[str, float]
    shares: dict[str, float]


def topic_words(
    keywords: list[str], texts: list[str], weights: np.ndarray, stop: frozenset[str], cfg: "LabelSettings"
) -> TopicWords:
    """The topic's keyword weights and word shares, from its central headlines `texts`."""
    counts: dict[str, float] = {}
    for text, weight in zip(texts, weights):
        for token in {t for t in TOKEN.findall(text.lower()) if t not in stop}:
            counts[token] = counts.get(token, 0.0) + float(weight)
    total = float(np.sum(weights)) or 1.0
    return TopicWords(keyword_weights(keywords, cfg.top_keywords), {t: c / total for t, c in counts.items()})


def consensus(terms: set[str], words: TopicWords, enough: int) -> float:
    """How commonly the topic's headlines use the candidate's words (0..1): the mean share of
    its words, scaled down when it has fewer than `enough` words."""
    unigrams = [t for t in terms if " " not in t]
    if not unigrams:
        return 0.0
    return sum(words.shares.get(t, 0.0) for t in unigrams) / len(unigrams) * min(1.0, len(unigrams) / enough)


def length_penalty(text: str, cfg: LabelSettings) -> float:
    """0 for 20..target characters and min_words or more words, rising beyond either end."""
    n = len(text)
    too_few_words = len(text.split()) < cfg.min_words
    return max(0.0, n - cfg.target_length) / 40 + max(0.0, 20 - n) / 40 + 0.15 * too_few_words


def candidate_score(
    candidate: Candidate,
    terms: set[str],
    words: TopicWords,
    source_fit: tuple[float, float, float],
    cfg: LabelSettings,
) -> float:
    """How good a label the candidate is; source_fit is its headline's (centrality, margin,
    duplicate count)."""
    centrality, margin, count = source_fit
    score = (
        centrality
        + 0.6 * keyword_coverage(terms, words.keywords)
        + cfg.consensus_weight * consensus(terms, words, cfg.consensus_words)
    )
    score += 0.8 * min(max(margin, -0.15), 0.1) + 0.03 * math.log1p(count)
    score -= length_penalty(candidate.text, cfg) + 0.04 * candidate.cuts
    score -= 0.3 * candidate.truncated + 0.08 * bool(_QUESTION_OR_PERSON.search(candidate.text))
    score -= 0.08 * bool(_SOFT.search(candidate.text))
    score -= 0.1 * unbalanced(candidate.text)
    return score


Ranked = list[tuple[float, str, str]]  # (score, label, comparable form), best first


def topic_candidates(
    texts: list[str],
    fits: list[tuple[float, float, float]],
    words: TopicWords,
    stop_words: frozenset[str],
    cfg: LabelSettings,
) -> Ranked:
    """Every candidate from the topic's chosen headlines, best first, one entry per distinct
    label (its best score)."""
    forms: dict[str, str] | None = None
    best: dict[str, tuple[float, str]] = {}
    for source, (text, fit) in enumerate(zip(texts, fits)):
        tidied, truncated = tidy(text)
        shouting = is_shouting(tidied)
        if shouting:
            forms = forms if forms is not None else surface_forms(texts)
            tidied = recase(tidied, forms)
        for phrase, cuts, cut_off in compressions(tidied, truncated, cfg.min_words):
            candidate = Candidate(phrase, source, cuts, cut_off)
            score = candidate_score(candidate, content_terms(phrase, stop_words), words, fit, cfg) - 0.1 * shouting
            key = comparable(phrase)
            if key and (key not in best or (-score, phrase) < (-best[key][0], best[key][1])):
                best[key] = (score, phrase)
    ranked = sorted(
        ((score, phrase, key) for key, (score, phrase) in best.items()), key=lambda c: (-round(c[0], 9), c[1])
    )
    return ranked[: cfg.max_candidates]


def source_ranking(
    member: np.ndarray,
    texts: list[str],
    weights: np.ndarray,
    centrality: np.ndarray,
    keywords: list[str],
    stop: frozenset[str],
    cfg: LabelSettings,
) -> tuple[np.ndarray, TopicWords]:
    """The topic's members worth making candidates of, best first (at most max_sources): of the
    most central (and most copied) ones, those that also hold the topic's keywords; and the
    topic's words as those central ones use them."""
    prior = centrality + 0.03 * np.log1p(weights[member])
    if len(member) > cfg.shortlist:
        threshold = np.partition(prior, len(prior) - cfg.shortlist)[len(prior) - cfg.shortlist]
        member, prior = member[prior >= threshold], prior[prior >= threshold]
    words = topic_words(keywords, [texts[i] for i in member], weights[member], stop, cfg)
    prior = prior + 0.6 * np.array([keyword_coverage(content_terms(texts[i], stop), words.keywords) for i in member])
    order = sorted(range(len(member)), key=lambda k: (-round(float(prior[k]), 9), texts[member[k]]))
    return member[np.asarray(order[: cfg.max_sources], dtype=np.int64)], words


def source_fits(
    vectors: np.ndarray, centroids: dict[int, np.ndarray], sources: dict[int, np.ndarray], weights: np.ndarray
) -> dict[int, list[tuple[float, float, float]]]:
    """(centrality, margin, duplicate count) of each topic's source headlines; the margin is the
    cosine to its own centroid less that to the nearest other topic's centroid."""
    topics = sorted(sources)
    if not topics:
        return {}
    matrix = np.stack([np.asarray(centroids[t], dtype=np.float64) for t in topics])
    fits: dict[int, list[tuple[float, float, float]]] = {}
    for column, topic in enumerate(topics):
        rows = sources[topic]
        similarity = np.asarray(vectors[rows], dtype=np.float64) @ matrix.T
        own = similarity[:, column].copy()
        similarity[:, column] = -np.inf
        nearest_other = similarity.max(axis=1) if len(topics) > 1 else np.full(len(rows), -1.0)
        fits[topic] = [(float(o), float(o - n), float(weights[r])) for o, n, r in zip(own, nearest_other, rows)]
    return fits


def stop_word_set(stop_words: str | list[str] | None) -> frozenset[str]:
    """The stop words c-TF-IDF was computed with ("english": scikit-learn's list)."""
    if stop_words == "english":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return frozenset(ENGLISH_STOP_WORDS)
    return frozenset(stop_words or [])


def related_topics(centroids: dict[int, np.ndarray], topics: list[int], threshold: float) -> dict[int, set[int]]:
    """For each topic, the other topics whose centroid is at least `threshold` cosine from its own."""
    if not topics:
        return {}
    matrix = np.stack([np.asarray(centroids[t], dtype=np.float64) for t in topics])
    close = (matrix @ matrix.T) >= threshold
    return {t: {topics[j] for j in np.flatnonzero(close[i]) if j != i} for i, t in enumerate(topics)}


def choose_unique(
    ranked: dict[int, Ranked],
    order: list[int],
    related: dict[int, set[int]],
    keywords: dict[int, list[str]],
    stop: frozenset[str],
    cfg: LabelSettings,
) -> dict[int, str]:
    """One label per topic, no two alike: topics choose in `order`, each its best candidate not
    taken, marked down by its overlap in content words with the labels that related topics
    (`related`: about the same subject) took before."""
    taken: set[str] = set()
    chosen_words: dict[int, set[str]] = {}
    by_word: dict[str, list[int]] = {}
    result: dict[int, str] = {}
    for topic in order:
        best: tuple[float, str] | None = None
        for score, phrase, key in ranked[topic]:
            if key in taken or best is not None and score < best[0]:
                continue  # the overlap only lowers a score: this one cannot win
            words = set(key.split()) - stop
            others = {j for w in words for j in by_word.get(w, []) if j in related[topic]}
            overlap = max((len(words & chosen_words[j]) / len(words | chosen_words[j]) for j in others), default=0.0)
            adjusted = score - cfg.overlap_penalty * overlap
            if best is None or (-adjusted, phrase) < (-best[0], best[1]):
                best = (adjusted, phrase)
        label = best[1] if best is not None else distinguished(ranked[topic], keywords.get(topic, []), taken, topic)
        taken.add(comparable(label))
        chosen_words[topic] = set(comparable(label).split()) - stop
        for w in chosen_words[topic]:
            by_word.setdefault(w, []).append(topic)
        result[topic] = label
    return result


def distinguished(ranked: Ranked, keywords: list[str], taken: set[str], topic: int) -> str:
    """When every candidate is taken: the best one plus a keyword of the topic it lacks, else
    plus the topic number."""
    base = ranked[0][1] if ranked else (keywords[0] if keywords else f"Topic {topic}")
    for term in keywords:
        label = f"{base} ({term})"
        if term not in comparable(base) and comparable(label) not in taken:
            return label
    return f"{base} (topic {topic})"


def topic_labels(
    texts: list[str],
    weights: np.ndarray,
    vectors: np.ndarray,
    labels: np.ndarray,
    centroids: dict[int, np.ndarray],
    keywords: dict[int, list[str]],
    settings: LabelSettings | None = None,
    stop_words: str | list[str] | None = "english",
) -> dict[int, str]:
    """A headline-style label for every topic id in `labels` (one per distinct headline; -1 is
    unclustered and gets "Unclustered"), taken from the topic's own `texts`; no two alike.

    `weights` are the input rows per distinct headline, `vectors` their unit-length embeddings,
    `centroids` each topic's unit-length centroid and `keywords` its c-TF-IDF terms, best first,
    computed with `stop_words`."""
    cfg = settings or LabelSettings()
    stop = stop_word_set(stop_words)
    labels = np.asarray(labels)
    weights = np.asarray(weights, dtype=np.float64)
    order = np.argsort(labels, kind="stable")
    ids, starts = np.unique(labels[order], return_index=True)
    groups = dict(zip((int(t) for t in ids), np.split(order, starts[1:])))
    topics = sorted(t for t in groups if t != UNCLUSTERED)
    sources: dict[int, np.ndarray] = {}
    words: dict[int, TopicWords] = {}
    for topic in topics:
        member = groups[topic]
        centrality = np.asarray(vectors[member], dtype=np.float64) @ np.asarray(centroids[topic], dtype=np.float64)
        sources[topic], words[topic] = source_ranking(
            member, texts, weights, centrality, keywords.get(topic, []), stop, cfg
        )
    fits = source_fits(vectors, centroids, sources, weights)
    ranked = {t: topic_candidates([texts[i] for i in sources[t]], fits[t], words[t], stop, cfg) for t in topics}
    size_order = sorted(topics, key=lambda t: (-float(weights[groups[t]].sum()), t))
    related = related_topics(centroids, topics, cfg.related_cosine)
    result = choose_unique(ranked, size_order, related, keywords, stop, cfg)
    if UNCLUSTERED in groups:
        result[UNCLUSTERED] = UNCLUSTERED_LABEL
    return dict(sorted(result.items()))
