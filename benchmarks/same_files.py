"""Compare two run folders file by file: byte for byte, except run.json, whose timings,
timestamps, memory, cache counters and library versions differ from run to run by nature and
are left out (every other entry must be equal).

    python benchmarks/same_files.py BEFORE_FOLDER AFTER_FOLDER

Used to show that a change of the code's structure leaves what a run writes as it was: run the
same input, config and run id before and after, e.g.

    cluster run --config configs/example.yaml --run-id same --previous none --output-dir /tmp/before
    (change the code)
    cluster run --config configs/example.yaml --run-id same --previous none --output-dir /tmp/after
    python benchmarks/same_files.py /tmp/before/same /tmp/after/same

Exits 1 and names the files that differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

VOLATILE = ("started_at", "finished_at", "seconds", "review_seconds", "memory", "cache", "versions")


def stable_manifest(path: Path) -> dict[str, Any]:
    """run.json without the entries that differ from one identical run to the next."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in manifest.items() if key not in VOLATILE}


def differences(before: Path, after: Path) -> list[str]:
    """What differs between two run folders, one line each (empty: the same)."""
    names_before = {p.name for p in before.iterdir() if p.is_file()}
    names_after = {p.name for p in after.iterdir() if p.is_file()}
    found = [f"only in {before}: {name}" for name in sorted(names_before - names_after)]
    found += [f"only in {after}: {name}" for name in sorted(names_after - names_before)]
    for name in sorted(names_before & names_after):
        if name == "run.json":
            old, new = stable_manifest(before / name), stable_manifest(after / name)
            found += [f"run.json: {key} differs" for key in sorted({*old, *new}) if old.get(key) != new.get(key)]
        elif (before / name).read_bytes() != (after / name).read_bytes():
            found.append(f"{name} differs")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    found = differences(args.before, args.after)
    for line in found:
        print(line)
    if not found:
        count = sum(1 for p in args.before.iterdir() if p.is_file())
        print(f"the same: {count} files (run.json without {', '.join(VOLATILE)})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
