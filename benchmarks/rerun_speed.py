"""Cold run vs warm rerun of one real week, in one command.

Runs the weekly job (`cluster.run_week(week="2014-W13")`, what `cluster run --week 2014-W13` calls;
the 32,967 UCI headlines dated 2014-03-24..30) twice, each in a fresh process as cron would start
it (model load and numba compilation included), with a fresh temporary cache: first cold (empty
cache: embed + UMAP), then again with the same run id (a rerun of the week, which replaces the
run). Prints both wall times, their ratio, what the cache did, and whether the CSVs of the two runs are byte-identical.

    python benchmarks/rerun_speed.py
    python benchmarks/rerun_speed.py --week 2014-W16

Needs ../shared/data (see its README).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
FILES = ("topics.csv", "headlines.csv", "rejected.csv", "changes.csv")


def run_in_child(choices: dict) -> None:
    from cluster import run_week

    run_week(None, progress=False, **choices)


def timed_run(choices: dict) -> float:
    """`run_week(**choices)` in a fresh interpreter (spawn); its wall time."""
    print(f"run_week({choices})", flush=True)
    start = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(target=run_in_child, args=(choices,))
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(f"the run failed (exit code {child.exitcode})")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--week", default="2014-W13")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"data not found: {args.data} (see ../shared/data/README.md)")
    scratch = Path(tempfile.mkdtemp(prefix="rerun-speed-"))
    out = scratch / "out"
    choices = {
        "input": str(args.data),
        "week": args.week,
        "output_dir": str(out),
        "overrides": ["input.source_column=publisher", f"cache.dir={scratch / 'cache'}"],
    }
    cold = timed_run(choices)
    folder = out / args.week
    cold_files = {name: (folder / name).read_bytes() for name in FILES}
    cold_manifest = json.loads((folder / "run.json").read_text())
    warm = timed_run(choices)
    warm_manifest = json.loads((folder / "run.json").read_text())
    identical = all((folder / name).read_bytes() == cold_files[name] for name in FILES)
    result = {
        "week": args.week,
        "rows": cold_manifest["counts"]["accepted"],
        "distinct": cold_manifest["counts"]["unique"],
        "cold_s": round(cold, 1),
        "warm_s": round(warm, 1),
        "warm_over_cold": round(warm / cold, 3),
        "cold_stage_seconds": cold_manifest["seconds"],
        "warm_stage_seconds": warm_manifest["seconds"],
        "warm_cache": {k: warm_manifest["cache"][k] for k in ("hits", "misses", "reduction")},
        "csvs_identical": identical,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    print(json.dumps(result, indent=2))
    if not identical:
        sys.exit("the warm rerun's CSVs differ from the cold run's")


if __name__ == "__main__":
    main()
