"""Ensembles: plan replica blocks and seeds, run them on a backend, gather the spectra.

Replica i is trained from ``numpy.random.SeedSequence(seed).spawn(R)[i]`` alone (its
initial weights, chains and every draw of training come from that one stream), so the
arrays returned do not depend on block size, worker count, backend or how a run is cut
into time chunks: the same seed gives bitwise the same result.
"""

from __future__ import annotations

import math
import queue as queue_module
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from . import backends, kernels
from .models import model_for
from .progress import Progress
from .result import EnsembleResult
from .validation import Problems, check_choice, check_int, is_int

BIT_GENERATORS = ("SFC64", "PCG64", "PCG64DXSM", "Philox", "MT19937")

# An interrupted run loses at most the blocks in flight: keep each under about a minute.
_MAX_BLOCK_SECONDS = 60.0
_MAX_BLOCK_REPLICAS = 256
_BLOCKS_PER_WORKER = 4
# Progress is reported, and a block could be checkpointed, every this many seconds.
_CHUNK_SECONDS = 0.5
# A block's state (and per-replica data) stays below this many bytes.
_MAX_BLOCK_BYTES = 512e6
# Spawn key of the shared branch of the root seed; replicas have keys (i,), never length 2.
SHARED_KEY = (0x5EED, 0)


@dataclass(frozen=True)
class BlockTask:
    """Replicas [start, start + len(seeds)) of one ensemble, as sent to a worker."""

    config: object
    seeds: list
    start: int
    root_seed: int
    bit_generator: str
    normal_method: str
    keep_weights: bool
    chunk_steps: int


@dataclass
class BlockOutput:
    """What one block of replicas [start, stop) returns."""

    start: int
    stop: int
    eigenvalues: np.ndarray
    failed: np.ndarray
    fail_step: np.ndarray
    weights: np.ndarray | None


def plan_blocks(
    replicas: int,
    workers: int,
    seconds_per_replica: float,
    block_size: int | None = None,
    bytes_per_replica: float = 0.0,
) -> list[tuple[int, int]]:
    """Split replicas 0..R-1 into contiguous blocks [start, stop)."""
    if block_size is None:
        size = math.ceil(replicas / (workers * _BLOCKS_PER_WORKER))
        by_time = max(1, int(_MAX_BLOCK_SECONDS / max(seconds_per_replica, 1e-12)))
        by_memory = max(1, int(_MAX_BLOCK_BYTES / max(bytes_per_replica, 1.0)))
        block_size = max(1, min(size, by_time, by_memory, _MAX_BLOCK_REPLICAS))
    return [(i, min(i + block_size, replicas)) for i in range(0, replicas, block_size)]


def train_block(task: BlockTask, report=None) -> BlockOutput:
    """Train one block of replicas, each from its own seed; report replica-steps done."""
    config = task.config
    model = model_for(config)
    bit_gen_class = getattr(np.random, task.bit_generator)
    gens = [bit_gen_class(s) for s in task.seeds]
    # What all replicas share (a common data set) comes from its own branch of the root.
    shared_seed = np.random.SeedSequence(task.root_seed, spawn_key=SHARED_KEY)
    shared = np.random.Generator(bit_gen_class(shared_seed))
    state = model.initial_state(config, [np.random.Generator(g) for g in gens], shared)
    snaps = config.snapshot_steps
    n_rep = len(task.seeds)
    eigenvalues = np.full((n_rep, snaps.size, config.n_modes), np.nan)
    failed = np.zeros(n_rep, np.uint8)
    fail_step = np.full(n_rep, -1, np.int64)
    if report is None and backends.progress_queue is not None:
        report = backends.progress_queue.put
    step = 0
    while step < config.steps:
        stop = min(config.steps, step + task.chunk_steps)
        model.advance(config, state, gens, step, stop, snaps, eigenvalues, failed, fail_step,
                      task.normal_method)  # fmt: skip
        if report is not None:
            report(n_rep * (stop - step))
        step = stop
    weights = model.final_weights(state).copy() if task.keep_weights else None
    return BlockOutput(
        task.start, task.start + n_rep, eigenvalues, failed.astype(bool), fail_step, weights
    )


def _check_run_arguments(
    replicas, seed, backend, workers, block_size, bit_generator, normal_method
) -> None:
    problems = Problems()
    check_int(problems, "replicas", replicas, 1)
    if seed is not None and (not is_int(seed) or seed < 0):
        problems.add("seed", "must be an integer >= 0 or None", seed)
    check_choice(problems, "backend", backend, backends.BACKENDS)
    if workers is not None:
        check_int(problems, "workers", workers, 1)
    if block_size is not None:
        check_int(problems, "block_size", block_size, 1)
    check_choice(problems, "bit_generator", bit_generator, BIT_GENERATORS)
    check_choice(problems, "normal_method", normal_method, kernels.NORMAL_METHODS)
    problems.raise_if_any()


def run_ensemble(
    config,
    replicas: int,
    seed: int | None = None,
    backend: str = "process",
    workers: int | None = None,
    progress: bool = True,
    keep_weights: bool = False,
    block_size: int | None = None,
    bit_generator: str = "SFC64",
    normal_method: str = "ziggurat",
) -> EnsembleResult:
    """Train ``replicas`` independent copies of the model in ``config`` and record spectra.

    Args:
        config: a model configuration: :class:`dysonlearn.RBMConfig`,
            :class:`dysonlearn.TeacherStudentConfig` or :class:`dysonlearn.DysonConfig`.
        replicas: number R of independent replicas.
        seed: root seed (int >= 0); None draws fresh entropy, recorded in ``result.seed``.
        backend: "process" (a pool of worker processes, default) or "serial".
        workers: worker processes for the process backend (default: all cores).
        progress: show progress (a bar on a terminal, log lines otherwise).
        keep_weights: also return the final state: weights (R, N_h, N_v) of the RBM,
            students (R, N, N) of the teacher-student model, levels (R, N) of Dyson.
        block_size: replicas per block (default: sized for load balance and so that one
            block is at most about a minute of work). Never changes the results.
        bit_generator: NumPy bit generator per replica ("SFC64", the fastest, by default).
        normal_method: how standard normals are drawn from it: "ziggurat" (the package's,
            fast, default) or "numpy" (NumPy's own, the stream of Generator.standard_normal).

    Returns:
        EnsembleResult with eigenvalues (R, S, N), steps (S,), failed (R,), fail_step (R,).

    Raises:
        ConfigError: invalid arguments (the configuration validated itself already).
    """
    _check_run_arguments(
        replicas, seed, backend, workers, block_size, bit_generator, normal_method
    )
    model = model_for(config)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    workers = backends.available_cores() if workers is None else workers
    if backend == "serial":
        workers = 1
    cost = model.cost_per_replica_step(config)
    blocks = plan_blocks(
        replicas, workers, cost * config.steps, block_size, model.bytes_per_replica(config)
    )
    seeds = np.random.SeedSequence(seed).spawn(replicas)
    snaps = config.snapshot_steps

    eigenvalues = np.full((replicas, snaps.size, config.n_modes), np.nan)
    failed = np.zeros(replicas, bool)
    fail_step = np.full(replicas, -1, np.int64)
    weights = None

    def gather(out: BlockOutput) -> None:
        nonlocal weights
        eigenvalues[out.start : out.stop] = out.eigenvalues
        failed[out.start : out.stop] = out.failed
        fail_step[out.start : out.stop] = out.fail_step
        if out.weights is not None:
            if weights is None:
                weights = np.empty((replicas, *out.weights.shape[1:]))
            weights[out.start : out.stop] = out.weights

    def chunk_steps(n_rep: int) -> int:
        return max(1, int(_CHUNK_SECONDS / max(cost * n_rep, 1e-12)))

    tasks = [
        BlockTask(
            config=config,
            seeds=seeds[start:stop],
            start=start,
            root_seed=seed,
            bit_generator=bit_generator,
            normal_method=normal_method,
            keep_weights=keep_weights,
            chunk_steps=chunk_steps(stop - start),
        )
        for start, stop in blocks
    ]
    with Progress(replicas * config.steps, enabled=progress) as bar:
        if backend == "serial":
            with backends.single_threaded_blas():
                for task in tasks:
                    gather(train_block(task, report=bar.update))
        else:
            _run_in_pool(tasks, workers, bar, gather)

    return EnsembleResult(
        config=config, seed=int(seed), steps=snaps, eigenvalues=eigenvalues, failed=failed,
        fail_step=fail_step, weights=weights, bit_generator=bit_generator,
        normal_method=normal_method,
    )  # fmt: skip


def _run_in_pool(tasks: list[BlockTask], workers: int, bar: Progress, gather) -> None:
    pool, reports = backends.process_pool(min(workers, len(tasks)))

    def drain() -> None:
        while True:
            try:
                bar.update(reports.get_nowait())
            except queue_module.Empty:
                return

    try:
        pending = {pool.submit(train_block, task) for task in tasks}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for future in done:
                gather(future.result())
        drain()
    except BrokenProcessPool:
        backends.stop_pool(pool)
        raise RuntimeError(
            "a worker process of the 'process' backend died. If run_ensemble is called "
            'from a script, put the call under `if __name__ == "__main__":` (worker '
            'processes import the main module); or use backend="serial".'
        ) from None
    except BaseException:
        # Interrupted (Ctrl-C) or a block raised: drop queued blocks, stop the workers.
        backends.stop_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        reports.close()


__all__ = ["BlockOutput", "BlockTask", "plan_blocks", "run_ensemble", "train_block"]
