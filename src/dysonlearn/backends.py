"""Where blocks of replicas run: in this process, or in a pool of worker processes.

Each worker process caps its BLAS to one thread (threadpoolctl): the kernels call BLAS on
10 x 10 matrices, where threads only cost, and N workers must not run N x N threads.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from threadpoolctl import threadpool_limits

BACKENDS = ("serial", "process")

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


def process_pool(workers: int):
    """A process pool whose workers report progress on the returned queue."""
    methods = multiprocessing.get_all_start_methods()
    # forkserver: no fork of a process that already runs BLAS threads; spawn elsewhere.
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    queue = ctx.Queue()
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(queue,)
    )
    return pool, queue


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued work and end the workers now (they hold no state worth waiting for)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
