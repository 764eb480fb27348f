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
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from cluster.errors import ConfigError

if TYPE_CHECKING:
    from cluster.config import ComputeConfig

log = logging.getLogger(__name__)

Part = TypeVar("Part")
Result = TypeVar("Result")

WAIT_FOR_WORKERS_S = 60
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
        try:
            if self.cfg.scheduler == "local":
                self._start_local(LocalCluster, Client)
            else:
                self._connect(Client)
        except BaseException:  # Ctrl-C while workers start included: nothing may be left running
            self.__exit__(None, None, None)
            raise
        return self

    def _start_local(self, local_cluster: Any, client: Any) -> None:
        log.info("starting a Dask LocalCluster with %d workers", self.cfg.workers)
        # The nannies set OMP/MKL/OPENBLAS_NUM_THREADS=1 in this process's environment so that
        # workers inherit them. Libraries loaded later here (scipy's BLAS, for UMAP's PCA start)
        # would then run single-threaded and round differently from an in-process run; the fit
        # runs here, so this process gets its environment back.
        saved = dict(os.environ)
        try:
            # silence_logs: a worker would print the traceback of a task that raised a user error
            # (a bad input file); the client reports it in one line
            self._cluster = local_cluster(
                n_workers=self.cfg.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.client_ = client(self._cluster)

    def _connect(self, client: Any) -> None:
        address = self.cfg.scheduler
        log.info("connecting to the Dask scheduler at %s", address)
        try:
            self.client_ = client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError, TypeError, ImportError) as exc:
            raise ConfigError(
                f"compute.scheduler: cannot reach a Dask scheduler at {address} ({exc}); "
                "start one with `dask scheduler` and workers with `dask worker ADDRESS`"
            ) from None
        try:
            self.client_.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
        except TimeoutError:
            raise ConfigError(
                f"compute.scheduler: the Dask scheduler at {address} has no workers after "
                f"{WAIT_FOR_WORKERS_S} s; start some with `dask worker {address}`"
            ) from None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        client, cluster = self.client_, self._cluster
        self.client_ = self._cluster = None
        try:
            if client is not None:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()

    def workers_peak_rss_mb(self) -> list[float]:
        """Each worker's peak resident memory so far, in MB (in worker order); empty in-process."""
        if self.client_ is None:
            return []
        peaks = self.client_.run(peak_rss_mb)
        return [peaks[worker] for worker in sorted(peaks)]

    def map(
        self,
        func: Callable[..., Result],
        parts: Iterable[Part],
        shared: dict[str, Any] | None = None,
        done: Callable[[int], None] | None = None,
        threads_as_here: bool = False,
    ) -> list[Result]:
        """`[func(part, **shared) for part in parts]`, here or on the workers; `done(i)` is called
        as part i finishes (e.g. to move a progress bar). `parts` may be a generator that makes
        each part when its turn comes (on Dask, each is submitted as soon as it is made).

        With `threads_as_here`, each part runs on its worker with this process's BLAS and OpenMP
        thread counts: a worker starts with one thread each, and a stage whose bits depend on
        them (UMAP's PCA start, HDBSCAN) must round as it would here (see `with_threads`)."""
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
        values = {key: self.client_.scatter(value, broadcast=True) for key, value in shared.items()}
        task: Callable[..., Any] = func
        if threads_as_here:  # two small values, sent with each task
            task, values = with_threads, {"stage": func, "threads": thread_counts(), **values}
        # submit, not map: map reserves keyword names (batch_size...) that a stage may use
        futures = [self.client_.submit(task, part, pure=False, **values) for part in parts]
        position = {future.key: i for i, future in enumerate(futures)}
        failed: list[int] = []
        for future in as_completed(futures):
            if future.status == "error":
                failed.append(position[future.key])
            elif done is not None:
                done(position[future.key])
        if failed:
            # the first failing part, as in-process, not whichever failed first
            futures[min(failed)].result()
        return list(self.client_.gather(futures))


def thread_counts() -> dict[str, int]:
    """The BLAS and OpenMP thread counts this process's libraries use, by threadpoolctl's user
    API ("blas", "openmp"). scikit-learn's HDBSCAN is imported first, so that the libraries a fit
    loads (scipy's BLAS, OpenMP) are counted even before this process has fitted anything."""
    import sklearn.cluster  # noqa: F401
    from threadpoolctl import threadpool_info

    counts: dict[str, int] = {}
    for pool in threadpool_info():
        api = str(pool["user_api"])
        counts[api] = max(counts.get(api, 0), int(pool["num_threads"]))
    return counts


def with_threads(part: Any, stage: Callable[..., Any], threads: dict[str, int], **shared: Any) -> Any:
    """`stage(part, **shared)` with the BLAS and OpenMP libraries held at `threads` (a task on a
    worker, whose nanny started it with one thread each). The libraries are loaded first, as
    `thread_counts` loads them: a limit holds only for a library already loaded."""
    import sklearn.cluster  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return stage(part, **shared)


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


def memory_report(compute: Compute | None) -> dict[str, Any]:
    """Peak resident memory of this process (and of the Dask workers, when they did work), in MB."""
    report: dict[str, Any] = {"peak_rss_mb": peak_rss_mb()}
    if compute is not None and compute.distributed:
        report["workers_peak_rss_mb"] = compute.workers_peak_rss_mb()
    return report
