"""Worker processes run every BLAS library on one thread, SciPy's included.

The kernels call BLAS through scipy.linalg.cython_blas, SciPy's own OpenBLAS (not NumPy's).
threadpoolctl limits only the libraries loaded when it is called: a worker started by a
parent whose main module had not imported SciPy (pytest's, asv's) used to limit NumPy's
BLAS alone, and SciPy's then ran one thread per core in every worker (two workers on two
cores: four threads, and two workers slower than one under asv).
"""

import threadpoolctl

from dysonlearn import backends


def test_every_blas_library_of_a_worker_runs_one_thread():
    with backends.WorkerPool(1) as pool:
        infos = pool.executor.submit(threadpoolctl.threadpool_info).result(timeout=120)
    blas = [(info["filepath"], info["num_threads"]) for info in infos
            if info["user_api"] == "blas"]  # fmt: skip
    # NumPy's and SciPy's (the same library on some installations)
    assert blas and all(threads == 1 for _, threads in blas), blas
