"""Where partitioned work runs: in this process, or as tasks on Dask workers.

A stage that can be split hands `Compute.map` a pure, module-level function, the parts to apply
it to and the values every part shares. Without a scheduler (`compute.scheduler: none`) the parts
run here one after another and Dask is never imported; with one they run on the workers and come
back in order. Callers cut parts with `split`, whose boundaries do not depend on the scheduler, so
both ways give the same bytes.
"""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from cluster.errors import ConfigError

if TYPE_CHECKING:
    from cluster.config import ComputeConfig

log = logging.getLogger(__name__)

Part = TypeVar("Part")
Result = TypeVar("Result")

INSTALL_HINT = "pip install -e '.[dask]' (or pip install 'dask[dataframe]' distributed)"


def split(n: int, size: int, align: int = 1) -> list[slice]:
    """Consecutive slices covering range(n), each `size` long rounded up to a multiple of `align`
    (the last may be shorter), so that blocks of `align` items never straddle two parts."""
    step = max(align, -(-size // align) * align)
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


class Compute:
    """A context manager for one run's workers: `with Compute(cfg.compute) as compute: ...`.

    `scheduler` "none" runs everything in this process; "local" starts a `LocalCluster` of
    `workers` single-threaded worker processes; any other value is the address of a running
    scheduler (`dask scheduler`, then `dask worker ADDRESS` on each machine)."""

    def __init__(self, cfg: "ComputeConfig") -> None:
        self.cfg = cfg
        self.client_: Any = None
        self._cluster: Any = None

    @property
    def distributed(self) -> bool:
        return self.cfg.scheduler != "none"

    def __enter__(self) -> "Compute":
        if not self.distributed:
            return self
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(
                f"compute.scheduler {self.cfg.scheduler}: Dask is not installed; {INSTALL_HINT}"
            ) from None
        if self.cfg.scheduler == "local":
            log.info("starting a Dask LocalCluster with %d workers", self.cfg.workers)
            # The nannies set OMP/MKL/OPENBLAS_NUM_THREADS=1 in this process's environment so that
            # workers inherit them. Libraries loaded later here (scipy's BLAS, for UMAP's PCA start)
            # would then run single-threaded and round differently from an in-process run; the
            # fit runs here, so this process gets its environment back.
            saved = dict(os.environ)
            self._cluster = LocalCluster(
                n_workers=self.cfg.workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            os.environ.clear()
            os.environ.update(saved)
            self.client_ = Client(self._cluster)
        else:
            log.info("connecting to the Dask scheduler at %s", self.cfg.scheduler)
            try:
                self.client_ = Client(self.cfg.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"compute.scheduler: cannot reach a Dask scheduler at {self.cfg.scheduler} ({exc}); "
                    "start one with `dask scheduler` and workers with `dask worker ADDRESS`"
                ) from None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._cluster is not None:
            # a worker still unloading torch is killed at shutdown, which the nanny logs as a warning
            logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
        if self.client_ is not None:
            self.client_.close()
        if self._cluster is not None:
            self._cluster.close()
        self.client_ = self._cluster = None

    def workers_peak_rss_mb(self) -> list[float]:
        """Each worker's peak resident memory so far, in MB (in worker order); empty in-process."""
        if self.client_ is None:
            return []
        peaks = self.client_.run(peak_rss_mb)
        return [peaks[worker] for worker in sorted(peaks)]

    def map(
        self,
        func: Callable[..., Result],
        parts: Sequence[Part],
        shared: dict[str, Any] | None = None,
        done: Callable[[int], None] | None = None,
    ) -> list[Result]:
        """`[func(part, **shared) for part in parts]`, here or on the workers; `done(i)` is called
        as part i finishes (e.g. to move a progress bar)."""
        shared = shared or {}
        if self.client_ is None:
            results = []
            for i, part in enumerate(parts):
                results.append(func(part, **shared))
                if done is not None:
                    done(i)
            return results
        from distributed import as_completed

        # shared values go to every worker once, not once per task
        scattered = {key: self.client_.scatter(value, broadcast=True) for key, value in shared.items()}
        # submit, not map: map reserves keyword names (batch_size...) that a stage may use
        futures = [self.client_.submit(func, part, pure=False, **scattered) for part in parts]
        position = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            if future.status == "error":
                future.result()  # raises the worker's exception here
            if done is not None:
                done(position[future.key])
        return list(self.client_.gather(futures))


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)  # bytes on macOS, KB elsewhere


def in_process() -> Compute:
    """The default: everything in this process."""
    from cluster.config import ComputeConfig

    return Compute(ComputeConfig())
