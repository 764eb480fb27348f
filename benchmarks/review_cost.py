"""What the review files cost on a real 33k-headline week, and how big and fast the map is.

    python benchmarks/review_cost.py [--data PATH] [--since 2014-03-24 --until 2014-03-30]

Runs the real job in-process (read, clean, embed, UMAP, HDBSCAN, label, write) on one week of the
UCI News Aggregator data in ../shared/data, with the review files on, exactly as `cluster run`
does. Then:

1. Cost within that one run: run.json's `seconds.review` (time spent writing topics.xlsx, the two
   maps and report.html) against `seconds.total` minus it (the run without review files).
2. Each review writer again, `--repeat` times on the same in-memory tables (median), as a check
   on the single in-run timing.
3. topic_map.html size, and the seconds until it has drawn every point in headless Chromium
   (network cut off), when Chromium is installed.

Timings are wall-clock on whatever else the machine is doing; the ratio compares two parts of
one run, so load from other processes affects both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--since", default="2014-03-24")
    parser.add_argument("--until", default="2014-03-30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--output-dir", type=Path, default=None, help="where the run folder goes (default: a temporary folder)"
    )
    parser.add_argument(
        "--from-run",
        type=Path,
        default=None,
        help="skip the run: take the timings from this run folder's run.json (a run of this script or of "
        "`cluster run` on the same week) and its tables for the reruns and the browser",
    )
    args = parser.parse_args()
    if args.from_run is None and not args.data.exists():
        print(f"error: {args.data} not found; pass --data", file=sys.stderr)
        return 2

    from cluster import run_week
    from cluster.config import ReviewConfig
    from cluster.runs import MAP_HTML, read_run, review_file_writers

    sys.path.insert(0, str(REPO / "tests"))  # the headless-Chromium driver is a test helper
    from browser import MAP_PROBE, MAP_READY, Chromium, find_chromium

    if args.from_run is not None:
        folder = args.from_run
        tables = read_run(folder)
        manifest = tables.manifest
        output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="review-cost-"))
        output_dir.mkdir(parents=True, exist_ok=True)
    else:
        output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="review-cost-"))
        overrides = [f"input.since={args.since}", f"input.until={args.until}", "input.source_column=publisher"]
        week = run_week(None, input=args.data, output_dir=output_dir, run_id="review-cost", overrides=overrides)
        folder = week.folder
        tables = week.result
        manifest = tables.manifest
    seconds = manifest["seconds"]
    total, review = seconds["total"], seconds["review"]
    without = total - review
    # the embedding stage is the one most stretched by other processes on a shared machine; the
    # run without it is a floor no real run goes under, so this share is an upper bound
    floor = without - seconds.get("embed", 0.0)

    repeats: dict[str, list[float]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="review-cost-files-"))
    for _ in range(args.repeat):
        for name, writer in review_file_writers(tables, ReviewConfig()).items():
            start = time.perf_counter()
            writer(scratch / name)
            repeats.setdefault(name, []).append(time.perf_counter() - start)
    medians = {name: statistics.median(times) for name, times in repeats.items()}
    repeat_total = sum(medians.values())

    html_mb = (folder / MAP_HTML).stat().st_size / 1e6
    browser_line = "Chromium not installed: load time not measured"
    if find_chromium():
        with Chromium() as browser:
            check = browser.check(
                folder / MAP_HTML, MAP_READY, MAP_PROBE, output_dir / "topic_map_screenshot.png", timeout=120
            )
        browser_line = (
            f"drawn after {check.seconds_to_ready} s (navigation to every point on screen), "
            f"{check.probe['points']:,} points as {', '.join(check.probe['traceTypes'])}, "
            f"{len(check.probe['labels'])} labels, problems: {check.problems or 'none'}"
        )

    counts = manifest["counts"]
    window = manifest.get("window") or {}
    print(
        f"week {window.get('since')}..{window.get('until')}: "
        f"{counts['accepted']:,} headlines ({counts['unique']:,} distinct), "
        f"{manifest['topics']} topics; run folder {folder}"
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| run wall time (`seconds.total`) | {total:.1f} s |")
    print(f"| of which review files (`seconds.review`) | {review:.2f} s |")
    print(f"| review files added to the run without them | **{review / without:.1%}** |")
    for name, value in manifest.get("review_seconds", {}).items():
        print(f"| {name}: in the run / median of {args.repeat} reruns | {value:.2f} s / {medians[name]:.2f} s |")
    print(f"| all review files, median reruns, as a share of the run without them | {repeat_total / without:.1%} |")
    print(
        "| upper bound: in-run review seconds against the run without them and without embedding "
        f"| {review / floor:.1%} |"
    )
    print(f"| topic_map.html size | {html_mb:.1f} MB |")
    print(f"| topic_map.html in headless Chromium | {browser_line} |")
    print(f"| stages (s) | {', '.join(f'{k} {v}' for k, v in seconds.items())} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
