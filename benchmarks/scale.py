"""The job at archive sizes: wall time, peak memory, per-stage seconds and quality against `story`.

    python benchmarks/scale.py --rows 176055                      # the whole dev file, defaults
    python benchmarks/scale.py --rows 176055 --fit-sample 50000   # the sample path at 176k
    python benchmarks/scale.py --rows 25000 50000 100000 176055   # growth, one run per size
    python benchmarks/scale.py --rows 176055 --scheduler local    # the same on a Dask LocalCluster
    python benchmarks/scale.py --table --plot                     # growth table, docs/images/scale-growth.png

Each run is `cluster evaluate --label-column story --category-column label` in a fresh process
(peak memory is that child's), on the earliest N rows of the dev file in time order (a contiguous
stretch of news, as an archive would hold) or on `--input FILE` (e.g. benchmarks/million.py's).
Embeddings come from `--cache-dir` (default benchmarks/.cache/scale): fill it once, and later runs
measure everything but embedding; `embed` in the table is then the cache lookup. Every result is
appended as a JSON line to `--results` (default benchmarks/.cache/scale/results.jsonl); the run
folders are kept beside it, in runs/STAMP-N/run/ (compare two runs' CSVs with cmp).
"""

from __future__ import annotations

import argparse
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
DEV_FILE = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
CACHE = REPO / "benchmarks" / ".cache" / "scale"
STAGES = ("read_clean", "embed", "load_model", "reduce", "cluster", "assign", "label", "tables", "track", "write",
          "review")  # fmt: skip


def earliest_rows(data: Path, rows: int, folder: Path) -> Path:
    """The first `rows` rows of the dev file in time order, as a CSV (the whole file when it has fewer)."""
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    if rows >= len(frame):
        return data
    frame = frame.sort_values(["timestamp_ms", "id"], key=lambda c: pd.to_numeric(c), kind="stable").head(rows)
    path = folder / f"earliest-{rows}.csv"
    frame.to_csv(path, index=False)
    return path


def run_once(input_path: Path, args: argparse.Namespace, folder: Path, label: str) -> dict:
    """One `cluster evaluate` in a child process; its wall time, peak memory and manifest figures."""
    command = [sys.executable, "-m", "cluster", "evaluate", "--input", str(input_path), "--output-dir", str(folder),
               "--run-id", label, "--previous", "none", "--label-column", "story", "--category-column", "label",
               "--set", f"cache.dir={args.cache_dir}", "--set", "cache.max_size_mb=20000", "-q"]  # fmt: skip
    if args.fit_sample:
        command += ["--set", f"scale.fit_sample={'null' if args.fit_sample == 'none' else args.fit_sample}"]
    if args.scheduler:
        command += ["--scheduler", args.scheduler, "--set", f"compute.workers={args.workers}"]
    for setting in args.set:
        command += ["--set", setting]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"cluster evaluate failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    manifest = json.loads((folder / label / "run.json").read_text())
    scores = json.loads((folder / label / "evaluation.json").read_text())
    return {
        "rows": manifest["counts"]["accepted"],
        "distinct": manifest["counts"]["unique"],
        "fit": manifest["fit"],
        "reduction_cache": manifest["cache"].get("reduction"),
        "scheduler": args.scheduler or "none",
        "fit_sample": args.fit_sample,
        "settings": args.set,
        "wall_s": round(wall, 1),
        # the largest child so far: exact for the first run of this process, an upper bound after
        "peak_rss_mb": round(max(peak, before) / 1024),
        "run_json_peak_rss_mb": manifest["memory"]["peak_rss_mb"],
        "workers_peak_rss_mb": manifest["memory"].get("workers_peak_rss_mb"),
        "seconds": {stage: manifest["seconds"].get(stage, 0.0) for stage in STAGES},
        "topics": manifest["topics"],
        "unclustered_share": manifest["unclustered_share"],
        "nmi": round(scores["unassigned_as_one_cluster"]["nmi"], 4),
        "ari": round(scores["unassigned_as_one_cluster"]["ari"], 4),
        "category_homogeneity": round(scores["category_homogeneity"]["unassigned_as_one_cluster"], 4),
    }


GROWTH_STAGES = ("reduce", "cluster", "assign", "label", "tables", "write")


def growth_rows(results: Path) -> list[dict]:
    """The latest in-process run with default settings of each size whose UMAP ran (not a cache
    hit, which says nothing about how reduce grows), smallest first."""
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    fresh = [r for r in rows if r.get("reduction_cache", "miss") != "hit" and r["seconds"]["reduce"] > 10]
    by_size = {
        r["distinct"]: r for r in fresh if r["scheduler"] == "none" and not r["settings"] and not r.get("fit_sample")
    }
    return [by_size[n] for n in sorted(by_size)]


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """The slope of log(seconds) against log(size), least squares."""
    import numpy as np

    kept = [(n, s) for n, s in zip(sizes, seconds) if s > 0]
    if len(kept) < 2:
        return float("nan")
    return float(np.polyfit(np.log([k[0] for k in kept]), np.log([k[1] for k in kept]), 1)[0])


def table(results: Path) -> None:
    """A markdown table of seconds per stage by size, with each stage's growth exponent."""
    rows = growth_rows(results)
    sizes = [r["distinct"] for r in rows]
    print("| stage | " + " | ".join(f"{n:,}" for n in sizes) + " | exponent |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for stage in GROWTH_STAGES:
        seconds = [r["seconds"].get(stage, 0.0) for r in rows]
        cells = " | ".join(f"{s:.1f}" for s in seconds)
        print(f"| {stage} | {cells} | {exponent(sizes, seconds):.2f} |")
    rest = [sum(r["seconds"].get(stage, 0.0) for stage in GROWTH_STAGES) for r in rows]
    print(f"| all but embedding | {' | '.join(f'{s:.1f}' for s in rest)} | {exponent(sizes, rest):.2f} |")
    print(f"| fit | {' | '.join(r['fit']['mode'] for r in rows)} | |")
    print(f"| peak RSS (MB) | {' | '.join(str(r['peak_rss_mb']) for r in rows)} | |")


def plot(results: Path, image: Path) -> None:
    """Log-log seconds per stage against distinct headlines, one line per stage (in-process runs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = growth_rows(results)
    sizes = [r["distinct"] for r in rows]
    figure, axes = plt.subplots(figsize=(9.5, 5))
    for stage in GROWTH_STAGES:
        seconds = [r["seconds"].get(stage, 0.0) for r in rows]
        kept = [(n, s) for n, s in zip(sizes, seconds) if s > 0]
        if not kept:
            continue
        label = f"{stage} (exponent {exponent(sizes, seconds):.2f})" if len(kept) > 1 else f"{stage} (sample path only)"
        axes.plot([k[0] for k in kept], [k[1] for k in kept], marker="o", label=label)
    from cluster.config import ScaleConfig

    axes.axvline(ScaleConfig().fit_sample or 0, color="grey", linestyle="--", linewidth=1)
    axes.text(ScaleConfig().fit_sample or 0, axes.get_ylim()[0] * 1.2, " scale.fit_sample", color="grey", fontsize=8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("distinct headlines")
    axes.set_ylabel("seconds")
    axes.set_title("Seconds per stage by input size (2 cores, embeddings cached)")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(image, dpi=110)
    print(f"wrote {image}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="*", default=[176_055])
    parser.add_argument("--input", type=Path, help="a headline file with id, headline, story and label columns")
    parser.add_argument("--fit-sample", help="scale.fit_sample for these runs (a number or none)")
    parser.add_argument("--scheduler", help="compute.scheduler: local or an address")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="any other setting, as for cluster run")
    parser.add_argument("--cache-dir", type=Path, default=CACHE / "embeddings")
    parser.add_argument("--results", type=Path, default=CACHE / "results.jsonl")
    parser.add_argument("--plot", action="store_true", help="draw the growth plot from --results and stop")
    parser.add_argument("--table", action="store_true", help="print the growth table from --results and stop")
    parser.add_argument("--image", type=Path, default=REPO / "docs" / "images" / "scale-growth.png")
    args = parser.parse_args()
    if args.plot or args.table:
        if args.table:
            table(args.results)
        if args.plot:
            plot(args.results, args.image)
        return
    args.results.parent.mkdir(parents=True, exist_ok=True)
    runs = args.results.parent / "runs"  # kept, to look into after the figures are printed
    stamp = time.strftime("%Y%m%dT%H%M%S")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        inputs = [args.input] if args.input else [earliest_rows(DEV_FILE, n, folder) for n in args.rows]
        for i, input_path in enumerate(inputs):
            # an output folder each: topic keys are numbered on from the runs already in a folder
            result = run_once(input_path, args, runs / f"{stamp}-{i}", "run")
            print(json.dumps(result), flush=True)
            with args.results.open("a") as handle:
                handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
