"""Ctrl-C at many moments of a run: every one must exit with 130 and leave nothing behind.

Starts `cluster run` on the shipped example with an empty cache, waits for the output folder's
lock, sends SIGINT after a delay, and checks the exit code and the output folder. The scenario test
(tests/test_scenario_interrupted.py) tries one moment; this tries many.

    python benchmarks/interrupt_scan.py                  # delays 0, 0.25, ..., 6 s after the lock
    python benchmarks/interrupt_scan.py --step 0.5 --until 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def interrupt_after(delay: float) -> tuple[int, list[str]]:
    """Exit code and what is left in the output folder when SIGINT comes `delay` s after the lock."""
    scratch = Path(tempfile.mkdtemp(prefix="interrupt-scan-"))
    out = scratch / "out"
    command = [sys.executable, "-m", "cluster", "run", "--config", str(REPO / "configs" / "example.yaml"),
               "--output-dir", str(out), "--run-id", "scan", "--set", f"cache.dir={scratch / 'cache'}"]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (out / ".cluster.lock").exists() and process.poll() is None:
        time.sleep(0.02)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=600)
    left = sorted(os.listdir(out)) if out.exists() else []
    shutil.rmtree(scratch, ignore_errors=True)
    return process.returncode, left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=0.25, help="seconds between tried delays")
    parser.add_argument("--until", type=float, default=6.0, help="the longest delay tried")
    args = parser.parse_args(argv)
    delays = [round(i * args.step, 3) for i in range(int(args.until / args.step) + 1)]
    wrong = []
    for delay in delays:
        code, left = interrupt_after(delay)
        if code != 130 or left:
            wrong.append((delay, code, left))
            print(f"after {delay} s: exit {code}, left {left}", flush=True)
    print(f"{len(delays) - len(wrong)} of {len(delays)} interrupts exited 130 with nothing left behind")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
