"""Ensembles: plan replica blocks and seeds, run them on a backend, gather the spectra.

Replica i is trained from ``numpy.random.SeedSequence(seed).spawn(R)[i]`` alone (its
initial weights, chains and every draw of training come from that one stream), so the
arrays returned do not depend on block size, worker count, backend or how a run is cut
into time chunks: the same seed gives bitwise the same result. That is also what makes an
interrupted run resumable exactly: the replicas of unfinished blocks are simply trained
again from their seeds.
"""

from __future__ import annotations

import math
import queue as queue_module
import warnings
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import backends, kernels, stopping
from . import store as store_module
from .config import check_replicas
from .errors import ConfigError, Problem
from .experiment import experiment_document, to_toml
from .models import model_for
from .progress import Progress, reporter
from .result import EnsembleResult

from .seeding import BIT_GENERATORS, fresh_seed, replica_seeds, shared_generator
from .store import PointSpec
from .validation import Problems, check_choice, check_int, is_int, is_real

# An interrupted run loses at most the blocks in flight: keep each under about a minute.
_MAX_BLOCK_SECONDS = 60.0
_MAX_BLOCK_REPLICAS = 256
_BLOCKS_PER_WORKER = 4
# Progress is reported, and a block could be checkpointed, every this many seconds.
_CHUNK_SECONDS = 0.5
# A block's state (and per-replica data) stays below this many bytes.
_MAX_BLOCK_BYTES = 512e6
# A block's recorded spectra stay below this many bytes (unless one replica alone records
# more): a block is held whole by its worker, sent to the main process, committed to the
# journal and read back into the view, each step with a transient copy of up to the same
# size, so this bounds the memory of a run with a store whatever the number of records x
# replicas (measured: the peak RSS of a serial run is about 3 budgets above the
# interpreter's). 16 MB is under a second of gzip per block, and 375 blocks for the largest
# recordings planned (7500 replicas x 10^4 records x 10 modes = 6 GB); a run of snapshots
# (a few per replica) never reaches it.
_MAX_BLOCK_RECORD_BYTES = 16e6


@dataclass(frozen=True)
class BlockTask:
    """Replicas [start, start + len(seeds)) of one ensemble, as sent to a worker.

    Attributes
    ----------
    config : object
        The model configuration.
    seeds : list of numpy.random.SeedSequence
        One per replica of the block.
    start : int
        Index of the block's first replica in the ensemble.
    root_seed : int
        The point's seed (its shared branch seeds what all replicas share).
    bit_generator, normal_method : str
        How random numbers are drawn.
    keep_weights : bool
        Return the final state too.
    chunk_steps : int
        Steps between progress reports.
    """

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
    """What one block of replicas [start, stop) returns.

    Attributes
    ----------
    start, stop : int
        The block's replicas.
    eigenvalues : numpy.ndarray
        (stop - start, S, N) spectra at the snapshot steps, ascending.
    failed : numpy.ndarray
        (stop - start,) bool.
    fail_step : numpy.ndarray
        (stop - start,) int64, -1 where the replica did not fail.
    weights : numpy.ndarray or None
        The final state, when asked for.
    optimizer_state : numpy.ndarray or None
        (stop - start, state size) the optimiser's final state, when the final state is
        asked for and the optimiser keeps one (momentum, Adam).
    records : dict of str to numpy.ndarray
        (stop - start, S, n_values) what the model records beside its spectrum
        (:meth:`Model.records <dysonlearn.models.Model.records>`); empty for most models.
    """

    start: int
    stop: int
    eigenvalues: np.ndarray
    failed: np.ndarray
    fail_step: np.ndarray
    weights: np.ndarray | None
    optimizer_state: np.ndarray | None = None
    records: dict = field(default_factory=dict)


def plan_blocks(
    todo,
    workers: int,
    seconds_per_replica: float,
    block_size: int | None = None,
    bytes_per_replica: float = 0.0,
    record_bytes_per_replica: float = 0.0,
) -> list[tuple[int, int]]:
    """Blocks [start, stop) covering the replica indices in ``todo`` (or range(todo)).

    Each contiguous run of indices is cut into blocks of at most ``block_size`` replicas
    (default: about four blocks per worker, at most a minute of work, 512 MB of training
    state and 16 MB of recorded spectra each).

    Parameters
    ----------
    todo : int or array_like of int
        The replicas to train, ascending (an int R: all of range(R)).
    workers : int
        Workers that will share the blocks.
    seconds_per_replica : float
        Estimated time to train one replica.
    block_size : int, optional
        Replicas per block (default: sized as above).
    bytes_per_replica : float
        Memory of one replica's training state.
    record_bytes_per_replica : float
        Memory of one replica's recorded spectra (S x N doubles): a long time series
        makes blocks small, so that a block's spectra, which its worker holds and the
        store receives whole, stay at a few tens of MB.

    Returns
    -------
    list of (int, int)
    """
    todo = np.arange(todo) if np.ndim(todo) == 0 else np.asarray(todo, dtype=np.int64)
    if todo.size == 0:
        return []
    if block_size is None:
        size = math.ceil(todo.size / (workers * _BLOCKS_PER_WORKER))
        by_time = max(1, int(_MAX_BLOCK_SECONDS / max(seconds_per_replica, 1e-12)))
        by_memory = max(1, int(_MAX_BLOCK_BYTES / max(bytes_per_replica, 1.0)))
        by_records = max(1, int(_MAX_BLOCK_RECORD_BYTES / max(record_bytes_per_replica, 1.0)))
        block_size = max(1, min(size, by_time, by_memory, by_records, _MAX_BLOCK_REPLICAS))
    breaks = np.flatnonzero(np.diff(todo) != 1) + 1
    blocks = []
    for run in np.split(todo, breaks):
        first, last = int(run[0]), int(run[-1]) + 1
        blocks += [(i, min(i + block_size, last)) for i in range(first, last, block_size)]
    return blocks


def record_bytes(config) -> float:
    """Bytes of one replica's recorded spectra, S x N float64 and the model's other
    records (what sizes blocks by the records they hold, see :func:`plan_blocks`).

    Parameters
    ----------
    config : model configuration

    Returns
    -------
    float
    """
    extra = sum(record.n_values for record in model_for(config).records(config).values())
    return 8.0 * config.n_snapshots * (config.n_modes + extra)


def train_block(task: BlockTask, report=None) -> BlockOutput:
    """Train one block of replicas, each from its own seed.

    Parameters
    ----------
    task : BlockTask
        The block.
    report : callable, optional
        Called as ``report(n)`` with the replica-steps done, every ``task.chunk_steps``
        steps (in a worker process, the pool passes its queue's ``put``).

    Returns
    -------
    BlockOutput
    """
    config = task.config
    model = model_for(config)
    bit_gen_class = getattr(np.random, task.bit_generator)
    gens = [bit_gen_class(s) for s in task.seeds]
    # What all replicas share (a common data set) comes from its own branch of the seed.
    shared = shared_generator(task.root_seed, task.bit_generator)
    snaps = config.snapshot_steps
    n_rep = len(task.seeds)
    eigenvalues = np.full((n_rep, snaps.size, config.n_modes), np.nan)
    records = _allocate_records(model, config, n_rep)
    # Only a model that records something is handed `records` (the others' advance has no
    # such argument).
    extra = {"records": records} if records else {}
    failed = np.zeros(n_rep, np.uint8)
    fail_step = np.full(n_rep, -1, np.int64)
    with backends.single_threaded_blas():
        state = model.initial_state(config, [np.random.Generator(g) for g in gens], shared)
        step = 0
        while step < config.steps:
            stop = min(config.steps, step + task.chunk_steps)
            model.advance(config, state, gens, step, stop, snaps, eigenvalues, failed,
                          fail_step, task.normal_method, **extra)  # fmt: skip
            if report is not None:
                report(n_rep * (stop - step))
            step = stop
    weights = model.final_state(state).copy() if task.keep_weights else None
    # A model whose optimiser keeps state carries it as `opt_state` beside its weights.
    opt_state = getattr(state, "opt_state", None) if task.keep_weights else None
    return BlockOutput(
        task.start, task.start + n_rep, eigenvalues, failed.astype(bool), fail_step, weights,
        None if opt_state is None else np.array(opt_state, dtype=np.float64), records,
    )


def _allocate_records(model, config, n_rep: int) -> dict[str, np.ndarray]:
    """The model's records (:meth:`Model.records`) for n_rep replicas, NaN-filled."""
    n_snap = config.snapshot_steps.size
    return {name: np.full((n_rep, n_snap, record.n_values), np.nan)
            for name, record in model.records(config).items()}  # fmt: skip


class MemorySink:
    """Collects the blocks of one point in memory.

    What :func:`run_ensemble` without a store uses: the whole point's spectra, replicas x
    S x N float64 (``replicas * config.result_bytes_per_replica`` bytes: 6 GB for 7500
    replicas recording 10^4 spectra of 10 modes), are allocated at once and held to the
    end. A run with a store (:class:`StoreSink`) holds only the blocks in flight.

    Parameters
    ----------
    spec : PointSpec
        The point whose blocks this sink receives.
    """

    def __init__(self, spec: PointSpec):
        self.spec = spec
        n_rep, config = spec.replicas, spec.config
        self.eigenvalues = np.full((n_rep, config.snapshot_steps.size, config.n_modes), np.nan)
        self.failed = np.zeros(n_rep, bool)
        self.fail_step = np.full(n_rep, -1, np.int64)
        self.records = _allocate_records(model_for(config), config, n_rep)
        self.weights = None
        self.optimizer_state = None
        self._done = np.zeros(n_rep, bool)

    def done(self) -> np.ndarray:
        """(R,) bool: the replicas received so far."""
        return self._done

    def write(self, out: BlockOutput) -> None:
        """Keep one finished block."""
        rows = slice(out.start, out.stop)
        self.eigenvalues[rows] = out.eigenvalues
        self.failed[rows] = out.failed
        self.fail_step[rows] = out.fail_step
        for name, values in out.records.items():
            self.records[name][rows] = values
        if out.weights is not None:
            if self.weights is None:
                self.weights = np.empty((self.spec.replicas, *out.weights.shape[1:]))
            self.weights[rows] = out.weights
        if out.optimizer_state is not None:
            if self.optimizer_state is None:
                self.optimizer_state = np.empty((self.spec.replicas,
                                                 *out.optimizer_state.shape[1:]))  # fmt: skip
            self.optimizer_state[rows] = out.optimizer_state
        self._done[rows] = True

    def result(self) -> EnsembleResult:
        """The point's result (complete once every block was written)."""
        spec = self.spec
        return EnsembleResult(
            config=spec.config, seed=spec.seed, steps=spec.config.snapshot_steps,
            eigenvalues=self.eigenvalues, failed=self.failed, fail_step=self.fail_step,
            weights=self.weights, optimizer_state=self.optimizer_state,
            records=self.records, bit_generator=spec.bit_generator,
            normal_method=spec.normal_method, point=spec.name, params=dict(spec.params),
        )  # fmt: skip


class StoreSink:
    """Commits the blocks of one point to a results store as they finish.

    Parameters
    ----------
    run_store : dysonlearn.store.RunStore
        The open (locked) store of the run.
    spec : PointSpec
        The point whose blocks this sink receives.
    """

    def __init__(self, run_store: store_module.RunStore, spec: PointSpec):
        self.run_store, self.spec = run_store, spec

    def done(self) -> np.ndarray:
        """(R,) bool: the replicas committed to the store so far."""
        return self.run_store.done(self.spec.name)

    def write(self, out: BlockOutput) -> None:
        """Commit one finished block."""
        self.run_store.write_block(self.spec.name, out)


def check_execution_arguments(
    problems: Problems, backend, workers, scheduler, scheduler_timeout, progress
) -> None:
    """Record the problems of where and how a run would train (the arguments that
    :func:`run_ensemble` and ``run_experiment`` share).

    Parameters
    ----------
    problems : Problems
        Where problems are recorded.
    backend, workers, scheduler, scheduler_timeout, progress
        As for :func:`run_ensemble`; ``progress`` must be True, False or a callable.
    """
    check_choice(problems, "backend", backend, backends.BACKENDS)
    if workers is not None:
        check_int(problems, "workers", workers, 1)
    if scheduler is not None and backend != "dask":
        problems.add("scheduler", f"is used only by backend 'dask' (backend is {backend!r})",
                     scheduler)  # fmt: skip
    if not is_real(scheduler_timeout) or not scheduler_timeout > 0:
        problems.add("scheduler_timeout", "must be a number of seconds > 0", scheduler_timeout)
    if not (isinstance(progress, bool | np.bool_) or callable(progress)):
        problems.add("progress", "must be True, False or a callable", progress)


def _check_run_arguments(
    replicas, seed, backend, workers, block_size, bit_generator, normal_method,
    scheduler=None, scheduler_timeout=10.0, progress=True,
) -> None:  # fmt: skip
    problems = Problems()
    check_int(problems, "replicas", replicas, 1)
    if seed is not None and (not is_int(seed) or seed < 0):
        problems.add("seed", "must be an integer >= 0 or None", seed)
    if block_size is not None:
        check_int(problems, "block_size", block_size, 1)
    check_choice(problems, "bit_generator", bit_generator, BIT_GENERATORS)
    check_choice(problems, "normal_method", normal_method, kernels.NORMAL_METHODS)
    check_execution_arguments(problems, backend, workers, scheduler, scheduler_timeout, progress)
    problems.raise_if_any()
    if backend == "dask":
        backends.require_dask()
        if scheduler is not None:
            backends.check_scheduler_address(scheduler)


# Optimisers the compiled kernels apply. Until the kernels take the optimiser state (issue
# 13), any other optimiser is refused here rather than silently trained as SGD:
def run_ensemble(
    config,
    replicas: int,
    seed: int | None = None,
    backend: str = "process",
    workers: int | None = None,
    progress=True,
    keep_weights: bool = False,
    block_size: int | None = None,
    bit_generator: str = "SFC64",
    normal_method: str = "ziggurat",
    store: str | Path | None = None,
    overwrite: bool = False,
    scheduler: str | None = None,
    scheduler_timeout: float = 10.0,
) -> EnsembleResult:
    """Train ``replicas`` independent copies of the model in ``config`` and record spectra.

    Parameters
    ----------
    config : RBMConfig, TeacherStudentConfig or DysonConfig
        The model configuration.
    replicas : int
        Number R of independent replicas.
    seed : int, optional
        Root seed (>= 0); None draws fresh entropy, recorded in ``result.seed``.
    backend : {"process", "serial", "dask"}
        "process": a pool of worker processes (default); "serial": this process; "dask":
        a dask.distributed cluster at ``scheduler``, or a LocalCluster (needs the optional
        extra ``pip install "dysonlearn[dask]"``).
    workers : int, optional
        Worker processes (default: all cores; for dask, LocalCluster workers). More than
        the cores available are capped, with a RuntimeWarning.
    progress : bool or callable
        True: a bar on a terminal, log lines otherwise; False: nothing; a callable:
        called as ``progress(n)`` with each increment n of replica-steps done (in the
        main process; with the process backend every ~0.5 s of a block, with dask as
        blocks finish). An exception it raises stops the run (KeyboardInterrupt too).
    keep_weights : bool
        Also return the final state: weights (R, N_h, N_v) of the RBM, students (R, N, N)
        of the teacher-student model, levels (R, N) of Dyson.
    block_size : int, optional
        Replicas per block (default: sized for load balance and so that one block is at
        most about a minute of work). Never changes the results.
    bit_generator : str
        NumPy bit generator per replica, one of :data:`dysonlearn.seeding.BIT_GENERATORS`
        ("SFC64", the fastest, by default).
    normal_method : {"ziggurat", "numpy"}
        How standard normals are drawn from it: "ziggurat" (the package's, fast, default)
        or "numpy" (NumPy's own, the stream of ``Generator.standard_normal``).
    store : path-like, optional
        An HDF5 file to stream finished blocks into (see :mod:`dysonlearn.store`). If it
        exists and holds this same run, only the unfinished replicas are trained, and the
        result is exactly that of an uninterrupted run. Training holds only the blocks in
        flight (a few tens of MB of spectra each), however long the recording; the result
        returned is then read back whole, as :func:`dysonlearn.load` reads it.
    overwrite : bool
        Replace a ``store`` that holds a different run (default: refuse it).
    scheduler : str, optional
        Address of a running dask.distributed scheduler (backend "dask").
    scheduler_timeout : float
        Seconds to wait for that scheduler before giving up.

    Returns
    -------
    EnsembleResult
        With eigenvalues (R, S, N), steps (S,), failed (R,), fail_step (R,).

    Raises
    ------
    ConfigError
        Invalid arguments (the configuration validated itself already).
    StoreError
        A ``store`` that cannot be written, or holds a different run.
    """
    _check_run_arguments(
        replicas, seed, backend, workers, block_size, bit_generator, normal_method,
        scheduler, scheduler_timeout, progress,
    )  # fmt: skip
    model_for(config)
    problems = check_replicas(config, replicas)  # memory of the gathered results, int64
    if problems:
        raise ConfigError(problems)
    requested = workers
    workers = worker_count(workers, backend)
    if requested is not None and workers < requested and backend == "process":
        warnings.warn(
            f"workers: {requested} capped at {workers}, the cores available",
            RuntimeWarning, stacklevel=2,
        )  # fmt: skip
    if seed is None:
        seed = fresh_seed()
    spec = PointSpec("point_000", config, replicas, int(seed), bit_generator, normal_method,
                     keep_weights)  # fmt: skip
    if store is None:
        sink = MemorySink(spec)
        execute_point(spec, sink, backend, workers, progress, block_size, scheduler,
                      scheduler_timeout=scheduler_timeout)  # fmt: skip
        return sink.result()
    store = Path(store)
    document = experiment_document(config, replicas, spec.seed, bit_generator)
    metadata = store_module.RunMetadata(to_toml(document), None, backend, workers)
    with store_module.RunStore(store, [spec], spec.seed, overwrite=overwrite,
                               metadata=metadata) as run_store:  # fmt: skip
        execute_point(spec, StoreSink(run_store, spec), backend, workers, progress,
                      block_size, scheduler, scheduler_timeout=scheduler_timeout)  # fmt: skip
    return store_module.load_point(store, spec.name)


def worker_count(workers: int | None, backend: str, oversubscribe: bool = False) -> int:
    """Workers to run: all cores by default, at most the cores available.

    Parameters
    ----------
    workers : int or None
        Workers asked for (None: all cores).
    backend : str
        "serial" always runs one.
    oversubscribe : bool
        Allow more workers than cores (more processes than cores only slow each other
        down, hence the cap by default).

    Returns
    -------
    int
    """
    cores = backends.available_cores()
    if backend == "serial":
        return 1
    if workers is None:
        return cores
    return workers if oversubscribe else min(workers, cores)


def _block_tasks(spec: PointSpec, todo: np.ndarray, workers: int,
                 block_size: int | None) -> list[BlockTask]:  # fmt: skip
    """The blocks that train the replicas ``todo`` of a point, each with its seeds."""
    config = spec.config
    model = model_for(config)
    cost = model.cost_per_replica_step(config)
    blocks = plan_blocks(todo, workers, cost * config.steps, block_size,
                         model.bytes_per_replica(config), record_bytes(config))  # fmt: skip
    seeds = replica_seeds(spec.seed, spec.replicas)

    def chunk_steps(n_rep: int) -> int:
        return max(1, int(_CHUNK_SECONDS / max(cost * n_rep, 1e-12)))

    return [
        BlockTask(
            config=config,
            seeds=seeds[start:stop],
            start=start,
            root_seed=spec.seed,
            bit_generator=spec.bit_generator,
            normal_method=spec.normal_method,
            keep_weights=spec.keep_weights,
            chunk_steps=chunk_steps(stop - start),
        )
        for start, stop in blocks
    ]


def execute_point(
    spec: PointSpec, sink, backend: str = "process", workers: int | None = None,
    progress=True, block_size: int | None = None, scheduler: str | None = None,
    desc: str = "dysonlearn", pool: backends.WorkerPool | None = None,
    scheduler_timeout: float = 10.0,
) -> int:  # fmt: skip
    """Train the replicas of one point that ``sink`` does not hold yet.

    Parameters
    ----------
    spec : PointSpec
        The point.
    sink : MemorySink or StoreSink
        Says which replicas are done (``sink.done()``) and receives each finished block
        (``sink.write(block)``).
    backend, workers, progress, block_size, scheduler, scheduler_timeout
        As for :func:`run_ensemble` (arguments checked already).
    desc : str
        Label of the progress bar.
    pool : backends.WorkerPool, optional
        A running pool to use (the process backend); by default the pool kept between
        calls (:func:`backends.shared_pool`), so that the points of a scan or repeated
        calls do not each pay for starting worker processes. The pool started by default
        has at most one worker per block.

    Returns
    -------
    int
        Replicas trained (0 when the sink held them all: nothing runs).
    """
    workers = backends.available_cores() if workers is None else workers
    if backend == "serial":
        workers = 1
    todo = np.flatnonzero(~sink.done())
    if todo.size == 0:
        return 0
    tasks = _block_tasks(spec, todo, workers, block_size)
    with reporter(progress, todo.size * spec.config.steps, desc) as bar:
        if backend == "serial":
            for task in tasks:
                sink.write(train_block(task, report=bar.update))
                stopping.check()
        elif backend == "dask":
            backends.run_on_dask(tasks, train_block, min(workers, len(tasks)), scheduler, bar,
                                 sink.write, timeout=scheduler_timeout)  # fmt: skip
        else:
            pool = pool or backends.shared_pool(min(workers, len(tasks)))
            _run_in_pool(tasks, pool, bar, sink.write)
    return int(todo.size)


# Said when the workers die before any block finished, most often because a script without
# a `__main__` guard is imported again by every worker process.
_MAIN_GUARD_HINT = (
    ". If run_ensemble or run_experiment is called from a script, put the call under "
    '`if __name__ == "__main__":` (worker processes import the main module), or use '
    'backend="serial"'
)


def _run_in_pool(tasks: list[BlockTask], pool: backends.WorkerPool, bar: Progress,
                 gather) -> None:  # fmt: skip
    # Every block reports n_rep x steps in all; what a worker put just before its block
    # returned may reach this process a moment after the result does.
    expected = sum(len(task.seeds) * task.config.steps for task in tasks)
    received = 0

    def drain(timeout: float | None = None) -> None:
        nonlocal received
        while received < expected:
            try:
                n = pool.reports.get(timeout=timeout) if timeout else pool.reports.get_nowait()
            except queue_module.Empty:
                return
            received += n
            bar.update(n)

    finished = 0
    try:
        with backends.stop_signals_blocked():  # submitting starts the worker processes
            pending = {pool.submit(train_block, task) for task in tasks}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            stopping.check()  # a stop whose Stopped was lost (see stopping.check)
            drain()
            for future in done:
                gather(future.result())
                finished += 1
        drain(timeout=5.0)  # the last reports of blocks that have all returned
    except BrokenProcessPool:
        error = pool.died(_MAIN_GUARD_HINT if finished == 0 else "")
        pool.stop()
        raise error from None
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or a block raised: drop queued blocks, stop the workers.
        pool.stop()
        raise


__all__ = [
    "BlockOutput",
    "BlockTask",
    "MemorySink",
    "StoreSink",
    "execute_point",
    "plan_blocks",
    "record_bytes",
    "run_ensemble",
    "train_block",
    "worker_count",
]
