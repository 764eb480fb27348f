"""Samples of a large run's headlines for the review files.

A run with more headline rows than `output.large_run_rows` is "large": every row is in
headlines.parquet (and headlines.csv unless `output.headlines_csv` is false), while the
workbook's Headlines sheet and the maps show a per-topic sample, so that they still open:

- the workbook: the `WORKBOOK_PER_TOPIC` most representative rows of each topic (highest
  `topic_confidence`, ties in row order), fewer per topic when there are so many topics that
  the sheet would pass `WORKBOOK_MAX_ROWS`, and as many unclustered rows spread evenly over the
  input order;
- the maps: at most `MAP_MAX_POINTS` points, each topic (and the unclustered rows) with a share
  proportional to its size but at least `MAP_MIN_PER_TOPIC` points (fewer when it is smaller,
  or when there are very many topics), spread evenly over the topic's rows in input order.

Both are pure functions of the headline table: the same table gives the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cluster.clustering import UNCLUSTERED
from cluster.tables import headline_order

WORKBOOK_PER_TOPIC = 100
WORKBOOK_MAX_ROWS = 200_000  # far below Excel's 1,048,576 rows a sheet
MAP_MAX_POINTS = 50_000
MAP_MIN_PER_TOPIC = 10


@dataclass(frozen=True)
class Sample:
    """Row positions into the headline table, and how they were chosen."""

    rows: np.ndarray  # positions, in the order the review file shows them
    total: int  # rows in the whole table
    # workbook: the most rows taken from one topic; map: the fewest points a topic gets unless
    # it is smaller (every row when nothing is left out)
    per_topic: int

    @property
    def shown(self) -> int:
        return len(self.rows)


def spread(count: int, take: int) -> np.ndarray:
    """`take` of the positions 0…count-1, evenly spread, first included, in increasing order."""
    take = min(take, count)
    return (np.arange(take, dtype=np.int64) * count) // max(take, 1)


def workbook_sample(headlines: pd.DataFrame, per_topic: int | None = None, max_rows: int | None = None) -> Sample:
    """The Headlines sheet of a large run: row positions in sheet order (by topic, then by
    confidence, highest first, ties in row order; unclustered last, evenly spread). At most
    `per_topic` rows a topic and about `max_rows` in all (the module's limits unless given)."""
    per_topic = WORKBOOK_PER_TOPIC if per_topic is None else per_topic
    max_rows = WORKBOOK_MAX_ROWS if max_rows is None else max_rows
    order = headline_order(headlines)
    topic = headlines["topic_id"].astype(int).to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, topic[1:] != topic[:-1]]) if len(topic) else np.zeros(0, dtype=np.int64)
    per_topic = min(per_topic, max(1, max_rows // max(len(starts), 1)))
    ends = np.r_[starts[1:], len(topic)]
    keep: list[np.ndarray] = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        if topic[start] == UNCLUSTERED:
            keep.append(start + spread(end - start, per_topic))  # no confidence: spread over the input order
        else:
            keep.append(np.arange(start, min(end, start + per_topic)))
    chosen = np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
    return Sample(rows=order[chosen], total=len(headlines), per_topic=per_topic)


def map_sample(headlines: pd.DataFrame, max_points: int | None = None, min_per_topic: int | None = None) -> Sample:
    """The maps' points of a large run: row positions in input order, at most `max_points`
    (the module's limits unless given)."""
    cap = MAP_MAX_POINTS if max_points is None else max_points
    floor = MAP_MIN_PER_TOPIC if min_per_topic is None else min_per_topic
    topic = headlines["topic_id"].astype(int).to_numpy()
    total = len(topic)
    if total <= cap:
        return Sample(rows=np.arange(total), total=total, per_topic=total)
    order = np.argsort(topic, kind="stable")  # each topic's rows together, in input order
    _, starts, sizes = np.unique(topic[order], return_index=True, return_counts=True)
    guaranteed = min(floor, cap // len(sizes))
    base = np.minimum(sizes, guaranteed)
    rest = sizes - base
    # the points left after the guaranteed ones, shared in proportion to the rows left (largest
    # remainders first, ties to the smaller topic id), so the total is the cap and no quota
    # passes its topic's size
    left, pool = cap - int(base.sum()), max(int(rest.sum()), 1)
    extra, remainder = np.divmod(rest * left, pool)
    extra[np.argsort(-remainder, kind="stable")[: left - int(extra.sum())]] += 1
    quota = base + extra
    chosen = [order[start + spread(size, take)] for start, size, take in zip(starts, sizes, quota.tolist())]
    rows = np.sort(np.concatenate(chosen))
    return Sample(rows=rows, total=total, per_topic=guaranteed)


@dataclass(frozen=True)
class ReviewSamples:
    """What a large run's review files show: the workbook's Headlines sheet and the maps' points."""

    workbook: Sample
    map: Sample


def review_samples(headlines: pd.DataFrame) -> ReviewSamples:
    """Both samples of a large run's headline table, drawn once for every review file."""
    return ReviewSamples(workbook=workbook_sample(headlines), map=map_sample(headlines))
