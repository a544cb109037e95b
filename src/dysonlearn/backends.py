"""Where blocks of replicas run: in this process, or in a pool of worker processes.

Each worker process caps its BLAS to one thread (threadpoolctl): the kernels call BLAS on
10 x 10 matrices, where threads only cost, and N workers must not run N x N threads.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import select
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Self

from threadpoolctl import threadpool_limits

from . import stopping
from .stopping import STOP_SIGNALS

BACKENDS = ("serial", "process", "dask")

# In a worker process, set by _init_worker: where the blocks it trains report replica-steps
# done (the pool's queue; see _call_reporting). None in the main process.
_worker_report = None


def available_cores() -> int:
    """Cores this process may run on.

    Returns
    -------
    int
        At least 1.
    """
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def single_threaded_blas():
    """Limit BLAS to one thread in this process, for the duration of a ``with`` block.

    Returns
    -------
    threadpoolctl.threadpool_limits
        The context manager.
    """
    return threadpool_limits(limits=1, user_api="blas")


@contextlib.contextmanager
def stop_signals_blocked():
    """Hold back stop signals while child processes start.

    A child inherits the signal mask: one started now cannot be interrupted by Ctrl-C
    during its own start-up (where it would print a traceback of its imports). Signals
    that arrive meanwhile are delivered to this process when the block ends.
    """
    with stopping.deferred():  # and no Stopped raised half-way through starting one
        if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
            yield
            return
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _init_worker(queue, parent_pid: int) -> None:
    """Set up a worker process: its progress queue, one BLAS thread, stop signals ignored,
    and an exit when the main process ``parent_pid`` exits."""
    global _worker_report
    _worker_report = queue.put
    # threadpoolctl limits the BLAS libraries loaded so far: load the kernels (and with them
    # SciPy's OpenBLAS, which they call through scipy.linalg.cython_blas, a library apart
    # from NumPy's) first. A worker whose parent's main module had not imported SciPy
    # (under asv, for one) otherwise kept SciPy's BLAS at one thread per core, and two
    # workers on two cores ran four BLAS threads, slower than one worker.
    from . import kernels  # noqa: F401

    threadpool_limits(limits=1, user_api="blas")  # for the life of the worker
    # Ctrl-C reaches the whole process group, a batch scheduler's SIGTERM every process of
    # the job: the main process decides what to do (save, say so, stop the workers), so
    # the workers ignore these and are ended by the main process with SIGKILL.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # started with them blocked (see above)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    exit_with(parent_pid)


def exit_with(pid: int, poll_seconds: float = 1.0) -> threading.Thread:
    """End this process as soon as process ``pid`` has exited, however it exited.

    A worker process would otherwise outlive a main process killed with SIGKILL (its
    queues never close) and keep computing. A daemon thread waits on a pidfd where the
    platform has them (Linux >= 5.3), else polls every ``poll_seconds``; the kernels run
    without the GIL, so the thread gets to run while a block trains.

    Parameters
    ----------
    pid : int
        The process to outlive by at most about ``poll_seconds``.
    poll_seconds : float
        Polling interval where pidfds are not available.

    Returns
    -------
    threading.Thread
        The (daemon) watching thread.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            select.select([fd], [], [])  # readable once the process has exited
            os._exit(1)
        while True:
            time.sleep(poll_seconds)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - the pid is alive, someone else's
                pass

    thread = threading.Thread(target=watch, name="dysonlearn-exit-with-parent", daemon=True)
    thread.start()
    return thread


def _call_reporting(function, task):
    """In a worker: ``function(task, report=...)``, reporting to the pool's queue."""
    return function(task, report=_worker_report)


class WorkerDied(RuntimeError):
    """A worker process of the process backend died (killed, or out of memory).

    Parameters
    ----------
    cause : str
        What happened (which worker, how it died).
    hint : str
        What a script calling the library may do about it, appended to the message;
        the command line, whose workers never import a user's script, leaves it out.

    Attributes
    ----------
    cause, hint : str
    """

    def __init__(self, cause: str, hint: str = ""):
        super().__init__(cause + hint)
        self.cause, self.hint = cause, hint


class WorkerPool:
    """Worker processes that train blocks and report progress on a queue.

    A context manager: leaving it waits for the workers to finish cleanly, unless
    :meth:`stop` ended them first (interruption, failure).

    Parameters
    ----------
    workers : int
        Number of worker processes (started on first use).

    Attributes
    ----------
    reports : multiprocessing.Queue
        Replica-steps done, as reported by the blocks running in the workers.
    executor : concurrent.futures.ProcessPoolExecutor
    """

    def __init__(self, workers: int):
        self.workers = workers
        methods = multiprocessing.get_all_start_methods()
        # forkserver: no fork of a process that already runs BLAS threads; spawn elsewhere.
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.reports = ctx.Queue()
        self.executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker,
            initargs=(self.reports, os.getpid()),
        )  # fmt: skip
        # The executor's own table of its processes (it drops its reference on shutdown).
        table = getattr(self.executor, "_processes", None)
        self._process_table = table if table is not None else {}
        self._stopped = False

    def submit(self, function, task):
        """Run ``function(task, report=...)`` in a worker, ``report`` putting its counts on
        :attr:`reports`; returns the future."""
        return self.executor.submit(_call_reporting, function, task)

    def processes(self) -> list:
        """The worker processes started so far (multiprocessing.Process objects)."""
        return list(self._process_table.values())

    def died(self, hint: str = "") -> WorkerDied:
        """The error to raise when the pool broke: which worker died and how, and ``hint``.

        Parameters
        ----------
        hint : str
            Advice appended to the message (see :class:`WorkerDied`).

        Returns
        -------
        WorkerDied
        """
        codes = [p.exitcode for p in self.processes() if p.exitcode not in (None, 0)]
        how = ""
        if codes and codes[0] < 0:
            try:
                how = f" (killed by {signal.Signals(-codes[0]).name})"
            except ValueError:
                how = f" (killed by signal {-codes[0]})"
        elif codes:
            how = f" (exit status {codes[0]})"
        return WorkerDied(f"a worker process died{how}, perhaps killed or out of memory", hint)

    def stop(self) -> None:
        """Cancel queued work and end the workers now (they hold no state worth keeping)."""
        if self._stopped:
            return
        self._stopped = True
        # Kill first, shut down after: shutting down releases the queues' semaphores, and a
        # worker still starting up would fail to attach to them, loudly.
        self._kill_workers()
        manager = getattr(self.executor, "_executor_manager_thread", None)
        self.executor.shutdown(wait=False, cancel_futures=True)
        if manager is not None:  # it may still start a worker; let it finish, then kill that
            manager.join(timeout=5)
        self._kill_workers()

    def _kill_workers(self) -> None:
        processes = list(self._process_table.values())
        for process in processes:
            if process.is_alive():
                process.kill()  # they ignore SIGTERM (see _init_worker)
        for process in processes:
            process.join(timeout=5)

    @property
    def stopped(self) -> bool:
        """Whether the pool was stopped or closed (it cannot run blocks any more)."""
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
    starts worker processes (about half a second) once.

    Replaced when the number of workers changes or after an interruption stopped it,
    closed at exit.

    Parameters
    ----------
    workers : int
        Number of worker processes.

    Returns
    -------
    WorkerPool
    """
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
    """Check that dask.distributed, an optional extra, is installed.

    Raises
    ------
    ConfigError
        It is missing; the message names the extra to install.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        from .errors import ConfigError

        raise ConfigError(
            "backend: 'dask' needs dask.distributed, an optional extra: "
            'pip install "dysonlearn[dask]"'
        ) from None


def check_scheduler_address(address: str) -> None:
    """Refuse a scheduler address that is not an address (before connecting).

    Raises
    ------
    ConfigError
        The address has no host, an unknown scheme, or a port that is not a number.
    """
    from urllib.parse import urlsplit

    from .errors import ConfigError

    text = str(address)
    parts = urlsplit(text if "://" in text else "tcp://" + text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if (
        parts.scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss")
        or not host
        or any(c.isspace() for c in host)
        or (parts.scheme in ("tcp", "tls") and (port is None or not 0 < port < 65536))
    ):
        raise ConfigError(
            f"scheduler: must be a dask.distributed address such as tcp://host:8786, got {text!r}"
        )


def connect_dask(scheduler: str, timeout: float):
    """A dask.distributed Client of the scheduler at ``scheduler``, or a ConfigError.

    Parameters
    ----------
    scheduler : str
        Address of a running scheduler.
    timeout : float
        Seconds to wait for the connection (and the scheduler's first answer): an address
        where nothing listens, or a listener that never answers, is refused after it.

    Returns
    -------
    distributed.Client

    Raises
    ------
    ConfigError
        Not an address, or no answer within ``timeout``.
    """
    from distributed import Client

    from .errors import ConfigError

    check_scheduler_address(scheduler)
    outcome: dict = {}

    def connect() -> None:
        try:
            outcome["client"] = Client(scheduler, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - reported below, in the caller's thread
            outcome["error"] = exc

    # Client's own timeout covers connecting, not a listener that accepts and then never
    # answers the handshake: wait for it in a thread, at most a little past the timeout.
    thread = threading.Thread(target=connect, name="dysonlearn-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 2.0)
    if "client" in outcome:
        return outcome["client"]
    error = outcome.get("error")
    detail = "no answer" if error is None else (str(error).splitlines() or [""])[0]
    raise ConfigError(
        f"scheduler: cannot connect to {scheduler!r} within {timeout:g} s "
        f"({detail or type(error).__name__}); check the address, or give more time with "
        "--scheduler-timeout"
    )


def run_on_dask(tasks, function, workers: int, scheduler: str | None, bar, gather,
                timeout: float = 10.0) -> None:  # fmt: skip
    """Run ``function(task)`` for every task on a dask.distributed cluster.

    Connects to ``scheduler`` when given (waiting at most ``timeout`` seconds), else
    starts a LocalCluster of ``workers`` single-threaded worker processes for the duration
    of the call. Progress advances as blocks finish (workers of a remote cluster cannot
    reach this process's queue).

    Parameters
    ----------
    tasks : list of BlockTask
        The blocks to train.
    function : callable
        ``function(task)`` trains one block and returns its output.
    workers : int
        Workers of the LocalCluster (unused with ``scheduler``).
    scheduler : str or None
        Address of a running scheduler; None starts a LocalCluster.
    bar : Progress
        Advanced by each finished block's replica-steps.
    gather : callable
        Receives each block's output, in order of completion.
    timeout : float
        Seconds to wait for ``scheduler``.

    Raises
    ------
    ConfigError
        dask.distributed is missing, or the scheduler does not answer.
    """
    require_dask()
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        # silence_logs: a stopped run's workers otherwise log every cancelled task.
        with stop_signals_blocked():
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.CRITICAL,
            )  # fmt: skip
        client = Client(cluster)
    else:
        client = connect_dask(scheduler, timeout)
    try:
        futures = [client.submit(function, task, pure=False) for task in tasks]
        sizes = {f.key: len(t.seeds) * t.config.steps for f, t in zip(futures, tasks, strict=True)}
        try:
            for future in as_completed(futures):
                gather(future.result())
                bar.update(sizes[future.key])
        except BaseException:
            # Interrupted: the cluster's shutdown logs its workers' tracebacks at length;
            # the run says in one line what happened.
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
            client.cancel(futures)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
