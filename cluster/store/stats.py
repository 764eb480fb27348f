"""What the cache did in one run, for run.json."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass
class CacheStats:
    """Counters the stores and the stages that use them fill in during one run."""

    enabled: bool = True
    dir: str = ""
    hits: int = 0
    misses: int = 0
    stored: int = 0
    bad_entries: int = 0
    recovered: list[str] = dataclasses.field(default_factory=list)
    pruned: int = 0
    reduction: str = "not used"  # "hit", "miss", "not used"
    clustering: str = "not used"  # the HDBSCAN pieces: "hit", "miss", "not used"
