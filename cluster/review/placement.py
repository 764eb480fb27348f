"""Where the topic maps put their labels, and how the PNG's topic list is laid out.

Pure geometry, no plotting library: both maps place labels with the same rules, the PNG with
text boxes measured by matplotlib's renderer, the HTML page with boxes measured by the browser
(templates/topic_map.js follows these rules; keep the two in step). Coordinates are screen
pixels, y growing downwards.

The rules, chosen so that a label never hides another and stays next to its topic:

- Topics are placed largest first, so when space runs out the small ones give way.
- Each topic tries its full label (one or two lines) first at the centre or touching it (the 8
  directions around it), then further out with a leader line back to the centre, then only its
  number (its topic_id, which the side list explains) at or beside the centre. A topic that
  finds no free place is left unlabelled on the map; it is still in the list.
- A box is free when it stays inside the map, overlaps no box placed before it and covers no other
  labelled topic's centre. Among the free places of one step the one covering the fewest points
  wins (free space first); ties go to the earlier place in a fixed order. Nothing is random, so
  the same input gives the same map.
- Text is never cut: a long label wraps onto two lines at the space nearest its middle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Places around the centre, in the order they are tried (y grows downwards): above, below,
# right, left, then the diagonals.
DIRECTIONS: tuple[tuple[int, int], ...] = ((0, -1), (0, 1), (1, 0), (-1, 0), (1, -1), (-1, -1), (1, 1), (-1, 1))
ONE_LINE_CHARS = 28  # a longer label wraps onto two lines


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixels (y downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def around(cls, x: float, y: float, width: float, height: float) -> Box:
        return cls(x - width / 2, y - height / 2, x + width / 2, y + height / 2)

    def overlaps(self, other: Box) -> bool:
        """True when the two share area; boxes that only touch do not overlap."""
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def within(self, bounds: Box) -> bool:
        return self.x0 >= bounds.x0 and self.y0 >= bounds.y0 and self.x1 <= bounds.x1 and self.y1 <= bounds.y1

    def nearest(self, x: float, y: float) -> tuple[float, float]:
        """The point of the box nearest to (x, y): where a leader line meets it."""
        return min(max(x, self.x0), self.x1), min(max(y, self.y0), self.y1)


@dataclass(frozen=True)
class LabelRequest:
    """One topic to label: its centre in pixels and the sizes of its two forms (the full label,
    then its number), measured by whoever draws them."""

    key: int
    x: float
    y: float
    text_size: tuple[float, float]
    number_size: tuple[float, float]


@dataclass(frozen=True)
class Placement:
    """Where a topic's label went: `form` is "text" or "number"; `leader` when the box sits away
    from the topic's centre `anchor` and needs a line back to it."""

    key: int
    form: str
    box: Box
    leader: bool
    anchor: tuple[float, float]

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box.x0 + self.box.x1) / 2, (self.box.y0 + self.box.y1) / 2


class PointDensity:
    """Counts of the map's points in any box, from a summed-area table over a pixel grid: what
    "free space" means when choosing between places."""

    def __init__(self, x: np.ndarray, y: np.ndarray, bounds: Box, cell: float = 8.0) -> None:
        self.bounds, self.cell = bounds, cell
        columns = max(1, int(np.ceil((bounds.x1 - bounds.x0) / cell)))
        rows = max(1, int(np.ceil((bounds.y1 - bounds.y0) / cell)))
        counts, _, _ = np.histogram2d(
            np.asarray(y, dtype=float), np.asarray(x, dtype=float), bins=(rows, columns),
            range=((bounds.y0, bounds.y0 + rows * cell), (bounds.x0, bounds.x0 + columns * cell)),
        )  # fmt: skip
        self.table = np.zeros((rows + 1, columns + 1))
        self.table[1:, 1:] = counts.cumsum(axis=0).cumsum(axis=1)

    def count(self, box: Box) -> float:
        """Points in the cells the box touches (a cell partly covered counts whole)."""
        rows, columns = self.table.shape[0] - 1, self.table.shape[1] - 1

        def cells(low: float, high: float, origin: float, limit: int) -> tuple[int, int]:
            first = int(np.clip(np.floor((low - origin) / self.cell), 0, limit))
            last = int(np.clip(np.ceil((high - origin) / self.cell), 0, limit))
            return first, last

        c0, c1 = cells(box.x0, box.x1, self.bounds.x0, columns)
        r0, r1 = cells(box.y0, box.y1, self.bounds.y0, rows)
        t = self.table
        return float(t[r1, c1] - t[r0, c1] - t[r1, c0] + t[r0, c0])


def candidate_boxes(x: float, y: float, size: tuple[float, float], gap: float, reach: float) -> list[Box]:
    """The places tried for a box of `size` around the centre (x, y), in order: centred on it,
    then touching it in each direction (`gap` pixels off), then `reach` further out in each
    direction. `candidate_boxes(...)[:9]` are the near places, the rest need a leader line."""
    width, height = size
    boxes = [Box.around(x, y, width, height)]
    for extra in (0.0, reach):
        for dx, dy in DIRECTIONS:
            cx = x + dx * (width / 2 + gap + extra)
            cy = y + dy * (height / 2 + gap + extra)
            boxes.append(Box.around(cx, cy, width, height))
    return boxes


NEAR = 1 + len(DIRECTIONS)  # the centre and the 8 places touching it


def place_labels(
    requests: Sequence[LabelRequest],
    bounds: Box,
    density: PointDensity | None = None,
    gap: float = 2.0,
    reach: float = 30.0,
) -> list[Placement]:
    """Greedy placement in the order given (largest topic first): each topic takes the first step
    with a free place (text near, text with a leader, number near), there the place covering the
    fewest points. Returns one Placement per topic that found a place, in request order."""
    placed: list[Placement] = []
    centres = [(r.key, r.x, r.y) for r in requests]
    for request in requests:
        others = [(x, y) for key, x, y in centres if key != request.key]
        text = candidate_boxes(request.x, request.y, request.text_size, gap, reach)
        number = candidate_boxes(request.x, request.y, request.number_size, gap, reach)
        steps = (("text", text[:NEAR], False), ("text", text[NEAR:], True), ("number", number[:NEAR], False))
        for form, boxes, leader in steps:
            free = [b for b in boxes if _is_free(b, bounds, placed, others)]
            if free:
                best = min(free, key=lambda b: density.count(b) if density is not None else 0.0)
                placed.append(Placement(request.key, form, best, leader, (request.x, request.y)))
                break
    return placed


def _is_free(box: Box, bounds: Box, placed: list[Placement], centres: list[tuple[float, float]]) -> bool:
    """Inside the map, clear of every placed label and of every other labelled topic's centre."""
    if not box.within(bounds):
        return False
    if any(box.overlaps(p.box) for p in placed):
        return False
    return not any(box.contains(x, y) for x, y in centres)


def map_lines(label: str, one_line: int = ONE_LINE_CHARS) -> tuple[str, ...]:
    """A map label as one line, or two lines split at the space nearest the middle (a split right
    after a " / " separator wins when it is about as central). `" ".join(lines) == label`:
    nothing is cut, a label without a space stays one line."""
    if len(label) <= one_line:
        return (label,)
    spaces = [i for i, char in enumerate(label) if char == " "]
    if not spaces:
        return (label,)
    middle = len(label) / 2

    def imbalance(i: int) -> float:
        after_separator = label[max(0, i - 1) : i] == "/"
        return abs(i - middle) - (0.15 * len(label) if after_separator else 0.0)

    split = min(spaces, key=lambda i: (imbalance(i), i))
    return label[:split], label[split + 1 :]


def wrap_to_width(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Lines of at most `width` pixels, broken at spaces; a word wider than a line is broken
    between characters rather than cut or left to spill into the next column. Joined with
    spaces (and the broken words rejoined) the lines are the text."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        if measure(trial) <= width:
            current = trial
            continue
        if current:
            lines.append(current)
        current = word
        while measure(current) > width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and measure(current[:cut]) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    lines.append(current)
    return lines


def fill_columns(heights: Sequence[int], rows: int, columns: int) -> list[tuple[int, int]]:
    """Column-major layout of list entries `heights` rows tall in `columns` columns of `rows`
    rows; an entry never splits across columns. Returns (column, first row) for the leading
    entries that fit, in order."""
    spots: list[tuple[int, int]] = []
    column, row = 0, 0
    for height in heights:
        if row + height > rows:
            column, row = column + 1, 0
            if column >= columns or height > rows:
                break
        spots.append((column, row))
        row += height
    return spots
