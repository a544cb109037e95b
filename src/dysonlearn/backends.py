"""Where blocks of replicas run: in this process, or in a pool of worker processes.

Each worker process caps its BLAS to one thread (threadpoolctl): the kernels call BLAS on
10 x 10 matrices, where threads only cost, and N workers must not run N x N threads.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Self

from threadpoolctl import threadpool_limits

BACKENDS = ("serial", "process", "dask")

# Set in worker processes by _init_worker: where train_block reports replica-steps done.
progress_queue = None
_blas_limit = None


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def single_threaded_blas():
    """Context manager limiting BLAS to one thread in this process."""
    return threadpool_limits(limits=1, user_api="blas")


def _init_worker(queue) -> None:
    global progress_queue, _blas_limit
    progress_queue = queue
    _blas_limit = threadpool_limits(limits=1, user_api="blas")


class WorkerPool:
    """Worker processes that train blocks and report progress on a queue.

    A context manager: leaving it waits for the workers to finish cleanly, unless
    :meth:`stop` ended them first (interruption, failure).
    """

    def __init__(self, workers: int):
        self.workers = workers
        methods = multiprocessing.get_all_start_methods()
        # forkserver: no fork of a process that already runs BLAS threads; spawn elsewhere.
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.reports = ctx.Queue()
        self.executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker,
            initargs=(self.reports,),
        )  # fmt: skip
        self._stopped = False

    def stop(self) -> None:
        """Cancel queued work and end the workers now (they hold no state worth keeping)."""
        if self._stopped:
            return
        self._stopped = True
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def close(self) -> None:
        """Let the workers finish and exit."""
        if not self._stopped:
            self._stopped = True
            self.executor.shutdown(wait=True)
        self.reports.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_shared: WorkerPool | None = None


def shared_pool(workers: int) -> WorkerPool:
    """A pool kept between calls of run_ensemble, so that a script calling it many times
    starts worker processes (about half a second) once; replaced when the number of
    workers changes or after an interruption stopped it, closed at exit."""
    global _shared
    if _shared is not None and (_shared.stopped or _shared.workers != workers):
        _shared.close()
        _shared = None
    if _shared is None:
        _shared = WorkerPool(workers)
    return _shared


@atexit.register
def _close_shared_pool() -> None:
    if _shared is not None:
        _shared.stop()


def require_dask() -> None:
    """Raise a ConfigError naming the extra to install when dask.distributed is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        from .errors import ConfigError

        raise ConfigError(
            "backend: 'dask' needs dask.distributed, an optional extra: "
            'pip install "dysonlearn[dask]"'
        ) from None


def run_on_dask(tasks, function, workers: int, scheduler: str | None, bar, gather) -> None:
    """Run ``function(task)`` for every task on a dask.distributed cluster.

    Connects to ``scheduler`` when given, else starts a LocalCluster of ``workers``
    single-threaded worker processes for the duration of the call. Progress advances as
    blocks finish (workers of a remote cluster cannot reach this process's queue).
    """
    require_dask()
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    client = Client(scheduler if scheduler is not None else cluster)
    try:
        futures = [client.submit(function, task, pure=False) for task in tasks]
        sizes = {f.key: len(t.seeds) * t.config.steps for f, t in zip(futures, tasks, strict=True)}
        try:
            for future in as_completed(futures):
                gather(future.result())
                bar.update(sizes[future.key])
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
