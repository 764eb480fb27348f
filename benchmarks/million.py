"""Build a 1,000,000-row input of distinct, realistic headlines from the dev file, with story labels.

    python benchmarks/million.py                       # writes benchmarks/.cache/scale/million.csv.gz
    python benchmarks/million.py --rows 500000 --out /tmp/half.csv.gz

How: the dev file's rows are kept as they are. New rows are splices of two headlines of the same
story at a word they share ("Malaysia Airlines flight MH370 search moves south" + "New satellite
images of MH370 debris" → "Malaysia Airlines flight MH370 debris"): each reads like a headline of
that story, carries its `story`, `label` and the date of its first half, and is distinct from every
other row (case-insensitive). Splices are drawn with a fixed seed, story by story in proportion to
the story's size, so the mix of stories and days stays that of the dev file.

Then run the job on it with benchmarks/scale.py --input FILE. Embedding a million headlines on two
cores takes hours; fill the cache once and later runs measure every other stage.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEV_FILE = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
STOP = {"the", "a", "an", "of", "to", "in", "on", "for", "and", "or", "is", "at", "as", "with", "by", "from"}


def splice(first: str, second: str, rng: np.random.Generator) -> str | None:
    """`first` up to a word it shares with `second`, then `second` from that word; None when they
    share no word other than stop words, or when the result is one of the two."""
    a, b = first.split(), second.split()
    positions = {}
    for j, word in enumerate(b):
        key = re.sub(r"\W", "", word.lower())
        if key and key not in STOP:
            positions.setdefault(key, j)
    pivots = [(i, positions[k]) for i, w in enumerate(a) if (k := re.sub(r"\W", "", w.lower())) in positions]
    pivots = [(i, j) for i, j in pivots if 0 < i or 0 < j]
    if not pivots:
        return None
    i, j = pivots[int(rng.integers(len(pivots)))]
    words = a[:i] + b[j:]
    text = " ".join(words)
    if len(words) < 4 or text in (first, second):
        return None
    return text


def build(rows: int, seed: int) -> pd.DataFrame:
    """The dev file plus splices up to `rows` rows, every headline distinct (case-insensitive)."""
    frame = pd.read_csv(DEV_FILE, dtype=str, keep_default_na=False)
    frame = frame[~frame["headline"].str.lower().duplicated()].reset_index(drop=True)
    headlines = frame["headline"].tolist()
    seen = {h.lower() for h in headlines}
    rng = np.random.default_rng(seed)
    members = [np.asarray(rows_) for _, rows_ in sorted(frame.groupby("story").indices.items()) if len(rows_) >= 2]
    sizes = np.array([len(m) for m in members], dtype=float)
    parents: list[int] = []
    texts: list[str] = []
    attempts = 0
    while len(frame) + len(texts) < rows:
        attempts += 1
        if attempts > 50 * rows:
            raise SystemExit(f"only {len(frame) + len(texts)} distinct rows after {attempts} attempts")
        group = members[int(rng.choice(len(members), p=sizes / sizes.sum()))]
        first, second = rng.choice(group, size=2, replace=False)
        text = splice(headlines[first], headlines[second], rng)
        if text is None or text.lower() in seen:
            continue
        seen.add(text.lower())
        parents.append(int(first))
        texts.append(text)
    spliced = frame.iloc[parents].copy()
    spliced["id"] = [f"splice-{i}" for i in range(len(texts))]
    spliced["headline"] = texts
    return pd.concat([frame, spliced], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / ".cache" / "scale" / "million.csv.gz")
    args = parser.parse_args()
    frame = build(args.rows, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    spliced = frame["id"].str.startswith("splice-").sum()
    print(f"wrote {args.out}: {len(frame)} rows ({spliced} splices), {frame['story'].nunique()} stories")


if __name__ == "__main__":
    main()
