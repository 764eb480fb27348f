"""Run `cluster run` on a real UCI week twice: wall time, peak memory, row accounting and
byte-identical CSVs.

    python benchmarks/real_week.py                        # the week of 2014-03-24 (~33k headlines)
    python benchmarks/real_week.py --monday 2014-03-17 --runs 1

Each run is a fresh process (model load and numba compilation included), as cron would start it,
with its own output folder (so topic tracking does not compare the runs). Both share a cache
folder that starts empty: the first run is cold, the second a warm rerun. Peak memory is the
largest resident set size of any child so far.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
CSVS = ("topics.csv", "headlines.csv", "rejected.csv")


def run_once(
    data: Path, monday: dt.date, output_dir: Path, run_id: str, extra: list[str], cache_dir: Path
) -> tuple[Path, float, float]:
    """One `cluster run` in a child process; returns the run folder, seconds and peak MiB."""
    command = [
        sys.executable,
        "-m",
        "cluster",
        "run",
        "--input",
        str(data),
        "--output-dir",
        str(output_dir),
        "--run-id",
        run_id,
        "--set",
        f"input.since={monday}",
        "--set",
        f"input.until={monday + dt.timedelta(days=6)}",
        *extra,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    environment = {**os.environ, "HEADLINE_CLUSTER_CACHE_DIR": str(cache_dir)}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"cluster run failed ({completed.returncode}): {completed.stderr.strip().splitlines()[-1:]}")
    peak_mib = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024  # Linux: KiB
    return Path(completed.stdout.strip().splitlines()[-1]), seconds, peak_mib


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--monday", type=dt.date.fromisoformat, default=dt.date(2014, 3, 24))
    parser.add_argument("--runs", type=int, default=2, choices=[1, 2])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args(argv)
    extra = [item for override in args.overrides for item in ("--set", override)]

    with tempfile.TemporaryDirectory() as scratch:
        folders = []
        for number in range(args.runs):
            folder, seconds, peak = run_once(
                args.data,
                args.monday,
                Path(scratch) / f"out{number + 1}",
                f"run{number + 1}",
                extra,
                Path(scratch) / "cache",
            )
            manifest = json.loads((folder / "run.json").read_text())
            counts = manifest["counts"]
            headlines = pd.read_csv(folder / "headlines.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
            rejected = pd.read_csv(folder / "rejected.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
            accounted = counts["read"] == counts["outside_window"] + len(rejected) + len(headlines)
            print(
                f"run {number + 1} ({'cold' if number == 0 else 'warm'}): "
                f"{seconds:.0f} s wall, peak RSS {peak:.0f} MiB; "
                f"{counts['read']} read = {counts['outside_window']} outside window + {len(rejected)} rejected "
                f"+ {len(headlines)} accepted ({'ok' if accounted else 'MISMATCH'}); {counts['unique']} distinct; "
                f"{manifest['topics']} topics, {manifest['unclustered_share']:.1%} unclustered"
            )
            print("  seconds per stage:", json.dumps(manifest["seconds"]))
            folders.append(folder)
        if len(folders) == 2:
            same = all((folders[0] / name).read_bytes() == (folders[1] / name).read_bytes() for name in CSVS)
            print("CSV files byte-identical across the two runs:", "yes" if same else "NO")
            return 0 if same else 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
