"""What the same-bytes-on-Dask design rests on, checked on this machine (docs/scaling.md).

    python benchmarks/determinism.py

1. torch's float32 matrix product gives the same bits with 1 and 2 threads and for row blocks of
   equal height (the vote uses it); numpy's BLAS does not promise either.
2. The shipped example's UMAP layout under OPENBLAS_NUM_THREADS=1 (what a Dask LocalCluster sets in
   the client's environment) against the default thread count, each in a fresh process: the reason
   the job gives the client its environment back after starting the workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def products() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((3072, 384)).astype(np.float32)
    sample = rng.standard_normal((5000, 384)).astype(np.float32)
    a, b = torch.from_numpy(rows), torch.from_numpy(sample)
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results[threads] = (a @ b.T).numpy()
        results[(threads, "blocks")] = np.concatenate([(a[i : i + 256] @ b.T).numpy() for i in range(0, 3072, 256)])
    same_threads = np.array_equal(results[1], results[2])
    same_blocks = np.array_equal(results[1], results[(1, "blocks")]) and np.array_equal(
        results[2], results[(2, "blocks")]
    )
    print(f"torch: 1 vs 2 threads identical: {same_threads}; 256-row blocks identical to one product: {same_blocks}")
    with threadpool_limits(1):
        single = rows @ sample.T
    default = rows @ sample.T
    blocks = np.concatenate([rows[i : i + 256] @ sample.T for i in range(0, 3072, 256)])
    print(f"numpy: 1 vs default threads identical: {np.array_equal(single, default)}; "
          f"256-row blocks identical to one product: {np.array_equal(blocks, default)}")  # fmt: skip


LAYOUT = """
import hashlib, numpy as np
from cluster.plan import plan_week
from cluster.pipeline import prepare_input
from cluster.embed import embed_texts, route_for
from cluster.reduce import reduce_embeddings
plan = plan_week("configs/example.yaml", overrides=["cache.enabled=false"])
prepared = prepare_input(plan.config, plan.window)
vectors = embed_texts(prepared.unique.texts, route_for(plan.config.embedding), progress=False)
reduction = reduce_embeddings(vectors, plan.config.reduction, prepared.unique.texts)
print(hashlib.sha256(reduction.points.tobytes()).hexdigest()[:16])
"""


def layouts() -> None:
    digests = {}
    for name, extra in (("default threads", {}), ("OPENBLAS_NUM_THREADS=1", {"OPENBLAS_NUM_THREADS": "1"})):
        environment = {**os.environ, **extra}
        completed = subprocess.run([sys.executable, "-c", LAYOUT], cwd=REPO, env=environment, capture_output=True,
                                   text=True, check=True)  # fmt: skip
        digests[name] = completed.stdout.strip().splitlines()[-1]
        print(f"UMAP layout of the example, {name}: sha256 {digests[name]}")
    print(f"identical: {len(set(digests.values())) == 1}")


if __name__ == "__main__":
    products()
    layouts()
