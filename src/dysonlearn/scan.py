"""Scans from the library: every point of an experiment trained into one store, resumably.

    import dysonlearn as dl
    experiment = dl.load_experiment("scan.toml")         # or a dict of the same sections
    results = dl.run_experiment(experiment, "out")       # out/results.h5, one per point
    dl.analyze("out/results.h5")                         # summary.json, .md and figures

This is what ``dysonlearn run`` does, which only parses its arguments, calls these
functions and prints. A run records its root seed and every point's configuration and
seed in OUTDIR/results.h5; running the same experiment into the same OUTDIR again trains
only the replicas that are not saved yet (none, once it is complete), and the result is
bitwise that of an uninterrupted run. Point i of a scan is trained exactly as
``run_ensemble(point_config, replicas, seed=results[i].seed, ...)`` would train it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import backends, ensemble
from . import store as store_module
from .errors import ConfigError
from .experiment import Experiment, load_experiment
from .journal import Journal
from .progress import ScanPosition, ScanProgress
from .result import EnsembleResult
from .seeding import fresh_seed, point_seeds
from .store import PointSpec
from .validation import Problems

RESULTS_FILE = "results.h5"
NORMAL_METHOD = "ziggurat"  # experiments always draw normals with the package's ziggurat


@dataclass(frozen=True)
class Notice:
    """Something a run tells its caller, who decides how to show it.

    Parameters
    ----------
    kind : str
        "seed_drawn" (values: ``seed``): no seed was given, this one was drawn;
        "workers_capped" (``requested``, ``workers``): fewer workers than asked for, the
        cores available; "resuming" (``path``, ``saved``, ``total``, ``left``): a store of
        this run holds ``saved`` of its ``total`` replicas, only the ``left`` others are
        trained; "complete" (``path``, ``total``): a store of this run holds all of it,
        nothing is trained.
    values : dict
        The numbers of the notice.
    """

    kind: str
    values: dict

    def __str__(self) -> str:
        v = self.values
        if self.kind == "seed_drawn":
            return f"no seed given; this run's seed is {v['seed']}"
        if self.kind == "workers_capped":
            return (f"workers: {v['requested']} capped at {v['workers']}, the cores available "
                    "(oversubscribe=True allows more)")  # fmt: skip
        if self.kind == "complete":
            return f"{v['path']} holds this run complete ({v['total']} replicas): nothing to train"
        return (f"resuming the run in {v['path']}: {v['saved']} of {v['total']} replicas saved, "
                f"training the other {v['left']}")  # fmt: skip


def _tell(notify, notice: Notice) -> None:
    """Pass ``notice`` to ``notify``; without one, only a worker cap is said (a warning)."""
    if notify is not None:
        notify(notice)
    elif notice.kind == "workers_capped":
        warnings.warn(str(notice), RuntimeWarning, stacklevel=4)  # the caller of run_experiment


def point_specs(experiment: Experiment, seed: int) -> list[PointSpec]:
    """One PointSpec per scan point, each with its own seed derived from the root ``seed``.

    Parameters
    ----------
    experiment : Experiment
        The scan.
    seed : int
        The run's root seed (see :func:`dysonlearn.seeding.point_seeds`).

    Returns
    -------
    list of PointSpec
        Named ``point_000``, ``point_001``, ... in scan order.
    """
    seeds = point_seeds(seed, len(experiment.points))
    return [
        PointSpec(
            f"point_{i:03d}",
            config,
            experiment.replicas,
            seeds[i],
            experiment.bit_generator,
            NORMAL_METHOD,
            params=tuple(params.items()),
        )
        for i, (config, params) in enumerate(
            zip(experiment.points, experiment.point_params(), strict=True)
        )
    ]


def check_execution(
    backend: str = "process", workers: int | None = None, scheduler: str | None = None,
    scheduler_timeout: float = 10.0, progress=True,
) -> None:  # fmt: skip
    """Check where a run would train, before anything is written.

    With backend "dask", dask.distributed must be installed, and a ``scheduler`` must
    answer within ``scheduler_timeout`` seconds.

    Parameters
    ----------
    backend, workers, scheduler, scheduler_timeout, progress
        As for :func:`run_experiment`.

    Raises
    ------
    ConfigError
        Every invalid argument, one line each; or a scheduler that does not answer.
    """
    problems = Problems()
    ensemble.check_execution_arguments(
        problems, backend, workers, scheduler, scheduler_timeout, progress
    )
    problems.raise_if_any()
    if backend == "dask":
        backends.require_dask()  # before touching the store: a missing extra is bad input
        if scheduler is not None:
            backends.connect_dask(scheduler, scheduler_timeout).close()


def plan_workers(
    workers: int | None, backend: str = "process", oversubscribe: bool = False, notify=None
) -> int:
    """The workers a run starts: ``workers``, or all cores; at most the cores available
    unless ``oversubscribe`` (a cap is told through ``notify``). The pool of each point is
    further capped at its blocks.

    Parameters
    ----------
    workers : int or None
        Workers asked for.
    backend : str
        "serial" runs one.
    oversubscribe : bool
        Allow more workers than cores.
    notify : callable, optional
        Receives a :class:`Notice` "workers_capped" (default: a RuntimeWarning).

    Returns
    -------
    int
    """
    count = ensemble.worker_count(workers, backend, oversubscribe)
    if workers is not None and count < workers and backend != "serial":
        _tell(notify, Notice("workers_capped", {"requested": workers, "workers": count}))
    return count


def _root_seed(experiment: Experiment, path: Path, overwrite: bool, notify) -> int:
    """The experiment's seed; else the seed of the run being resumed; else fresh entropy,
    told through ``notify`` so that the run can be reproduced."""
    if experiment.seed is not None:
        return int(experiment.seed)
    if not overwrite:
        stored = store_module.stored_root_seed(path)
        if stored is not None:
            return stored
    seed = fresh_seed()
    _tell(notify, Notice("seed_drawn", {"seed": seed}))
    return seed


def _remove_old_outputs(outdir: Path) -> None:
    """overwrite: remove the summaries and figures a previous analysis wrote here."""
    from .plots import FIGURE_FORMATS, FIGURE_SOFTWARE

    for name in ("summary.json", "summary.md"):
        (outdir / name).unlink(missing_ok=True)
    for suffix in FIGURE_FORMATS:
        for figure in outdir.glob(f"*.{suffix}"):
            if _figure_software(figure).startswith(FIGURE_SOFTWARE):
                figure.unlink(missing_ok=True)


# Figures are small; a file larger than this is not one of ours (and is not read whole).
_MAX_FIGURE_BYTES = 64 << 20


def _figure_software(path: Path) -> str:
    """What drew a figure file ("" if unknown or unreadable): dysonlearn tags its figures
    (PNG "Software", PDF "/Creator", SVG ``<dc:creator>``), so that overwrite removes only
    them, never a user's own images."""
    if path.suffix == ".png":
        return _png_software(path)
    try:
        if path.stat().st_size > _MAX_FIGURE_BYTES:
            return ""
        data = path.read_bytes()
    except OSError:
        return ""
    if path.suffix == ".pdf":
        # matplotlib writes the document information dictionary uncompressed.
        found = re.search(rb"/Creator\s*\(([^)]*)\)", data)
    else:
        found = re.search(rb"<dc:creator>\s*<cc:Agent>\s*<dc:title>([^<]*)</dc:title>", data)
    return found.group(1).decode("utf-8", "replace") if found else ""


def _png_software(path: Path) -> str:
    """The "Software" text of a PNG file ("" if none or unreadable)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return str(image.info.get("Software", ""))
    except OSError:
        return ""


# Scan parameters in the label of a progress bar, by the symbols of the documentation.
_SYMBOLS = {"batch_size": "B", "noise": "A"}


def _point_desc(spec: PointSpec) -> str:
    """A point's label for progress: ``lr=0.1 B=16``."""
    text = " ".join(f"{_SYMBOLS.get(k, k)}={v}" for k, v in spec.params)
    return text or "dysonlearn"


def _scan_progress(progress, specs: list[PointSpec], run_store) -> list:
    """The ``progress`` argument of each point: with ``progress=True`` and several points,
    each point's bar says its place in the scan and the scan's time left."""
    if progress is not True or len(specs) < 2:
        return [progress] * len(specs)
    from .models import model_for

    work = [
        int((~run_store.done(spec.name)).sum()) * spec.config.steps
        * model_for(spec.config).cost_per_replica_step(spec.config)
        for spec in specs
    ]  # fmt: skip
    scan = ScanProgress(work)
    return [ScanPosition(scan, i) for i in range(len(specs))]


def run_experiment(
    experiment,
    outdir,
    backend: str = "process",
    workers: int | None = None,
    progress=True,
    overwrite: bool = False,
    seed: int | None = None,
    scheduler: str | None = None,
    scheduler_timeout: float = 10.0,
    replicas: int | None = None,
    oversubscribe: bool = False,
    notify=None,
    command: str | None = None,
    load: bool = True,
) -> list[EnsembleResult] | None:
    """Train every point of an experiment into ``OUTDIR/results.h5``, resuming what is saved.

    Parameters
    ----------
    experiment : Experiment, dict, str or path-like
        The experiment, or what :func:`load_experiment` reads one from.
    outdir : path-like
        The output directory (created if needed); the store is ``outdir/results.h5``.
    backend : {"process", "serial", "dask"}
        Where blocks train, as for :func:`dysonlearn.run_ensemble`.
    workers : int, optional
        Worker processes (default: all cores; at most the cores available unless
        ``oversubscribe``, and at most the blocks of a point).
    progress : bool or callable
        True: a bar (or log lines) per point, labelled with its place in the scan and its
        parameters (``[3/6] lr=0.1 B=16``), with the time left for the whole scan;
        False: nothing; a callable: called as
        ``progress(n)`` with each increment n of replica-steps done, over all points. An
        exception it raises stops the run, with the finished blocks saved.
    overwrite : bool
        Replace a store in ``outdir`` that holds a different run (and remove the summaries
        and figures written from it); by default such a store is refused.
    seed : int, optional
        Root seed, instead of the experiment's. Without either, the seed of the run being
        resumed, else fresh entropy (told through ``notify``; recorded in the store).
    scheduler : str, optional
        Address of a running dask.distributed scheduler (backend "dask").
    scheduler_timeout : float
        Seconds to wait for that scheduler.
    replicas : int, optional
        Replicas per point, instead of the experiment's.
    oversubscribe : bool
        Allow more workers than cores.
    notify : callable, optional
        Receives each :class:`Notice` of the run (a drawn seed, a worker cap, a resume).
        Default: a worker cap is a RuntimeWarning, the others are not shown.
    command : str, optional
        The command line that started the run, recorded in the store (``dysonlearn run``
        passes its own); None means called from Python. Like the experiment's TOML text,
        it is a record only: a resume is matched on what defines the run.
    load : bool
        Read the stored results back and return them (default). Training holds only the
        blocks in flight; reading back holds every point's spectra whole, replicas x S x N
        doubles (6 GB for 7500 replicas recording 10^4 spectra of 10 modes): False
        returns None instead (``dysonlearn run`` trains so, then analyses the store).

    Returns
    -------
    list of EnsembleResult or None
        One per scan point, in scan order, as stored (``result.seed`` is the point's seed,
        ``result.params`` its scanned values); None when ``load`` is False.

    Raises
    ------
    ConfigError
        Invalid arguments, or a scheduler that does not answer (before anything is written).
    StoreError
        ``outdir`` cannot be written, or its store holds a different run (and not
        ``overwrite``), or is damaged, or in use by another run.
    KeyboardInterrupt
        Interrupted (or raised by ``progress``): the finished blocks are saved, a note on
        the exception says how many; the same call resumes.
    """
    experiment = load_experiment(experiment)
    if replicas is not None or seed is not None:
        experiment = experiment.with_overrides(replicas=replicas, seed=seed)
    check_execution(backend, workers, scheduler, scheduler_timeout, progress)
    outdir = Path(outdir)
    path = outdir / RESULTS_FILE
    root_seed = _root_seed(experiment, path, overwrite, notify)
    specs = point_specs(experiment, root_seed)
    workers = plan_workers(workers, backend, oversubscribe, notify)
    settings = {"pool_last": experiment.pool_last}
    metadata = store_module.RunMetadata(experiment.toml(), command, backend, workers)
    with store_module.RunStore(path, specs, root_seed, overwrite=overwrite,
                               analysis=settings, metadata=metadata) as run_store:  # fmt: skip
        if overwrite:
            _remove_old_outputs(outdir)
        saved, total = run_store.saved()
        if run_store.resumed and saved < total:
            _tell(notify, Notice("resuming", {"path": path, "saved": saved, "total": total,
                                              "left": total - saved}))  # fmt: skip
        elif run_store.resumed:
            _tell(notify, Notice("complete", {"path": path, "total": total}))
        try:
            for spec, shown in zip(specs, _scan_progress(progress, specs, run_store),
                                   strict=True):  # fmt: skip
                ensemble.execute_point(
                    spec, ensemble.StoreSink(run_store, spec), backend=backend,
                    workers=workers, progress=shown, scheduler=scheduler,
                    scheduler_timeout=scheduler_timeout, desc=_point_desc(spec),
                )  # fmt: skip
                run_store.consolidate()
        except BaseException as exc:
            saved, total = run_store.saved()
            exc.add_note(f"{saved} of {total} replicas are saved in {path}")
            raise
    if not load:
        return None
    return [store_module.load_point(path, spec.name) for spec in specs]


@dataclass(frozen=True)
class Analysis:
    """What :func:`analyze` wrote.

    Parameters
    ----------
    summary : dict
        The summary (as in summary.json).
    markdown : str
        The summary as Markdown (as in summary.md).
    written : list of pathlib.Path
        The files written: summaries, then figures.
    pool_last : int
        How many final snapshots of every replica were pooled.
    stored_pool_last : int
        What the experiment kept in the store asks for (``pool_last`` differs when the
        caller overrode it).
    """

    summary: dict
    markdown: str
    written: list
    pool_last: int = 1
    stored_pool_last: int = 1


def analyze(store, outdir=None, snapshots: int | None = None, per_point: bool = True,
            format: str = "png", dpi: int | None = None, *,
            figures: bool = True) -> Analysis:  # fmt: skip
    """Summaries (JSON, Markdown) and figures of every point of a results store.

    Parameters
    ----------
    store : path-like
        The results file (``OUTDIR/results.h5``).
    outdir : path-like, optional
        Where to write (default: the store's directory); created if needed.
    snapshots : int, optional
        Pool the last this many snapshots of each replica. Default: the experiment's
        ``[analysis] pool_last``, kept in the store (1 for a store without it), so that
        every analysis of a store gives the same numbers unless told otherwise.
    per_point : bool
        Figures for every scan point too (not only those of the whole scan).
    format : {"png", "pdf", "svg"}
        The figures' file format.
    dpi : int, optional
        Resolution of the figures (default :data:`dysonlearn.plots.DPI`).
    figures : bool, optional
        Draw the figures (default); False writes the summaries only (the figures draw
        every level: at hundreds of levels they take minutes).

    Returns
    -------
    Analysis

    Raises
    ------
    ConfigError, StoreError
        A missing, foreign or damaged store, an output directory that cannot be written,
        or ``snapshots``, ``format`` or ``dpi`` out of their range.
    """
    from .analysis.summary import point_fits
    from .experiment import check_pool_last
    from .plots import check_figure_options, save_figures
    from .report import build_summary, markdown, write_summary

    path = Path(store)
    outdir = path.parent if outdir is None else Path(outdir)
    root, infos = store_module.describe(path)
    stored = store_module.analysis_settings(root)["pool_last"]
    problems = Problems()
    pool_last = stored if snapshots is None else snapshots
    check_pool_last(problems, "pool_last", pool_last, [info.config for info in infos])
    check_figure_options(problems, format, dpi)
    problems.raise_if_any()
    store_module.check_output_dir(outdir)
    # A time series is read as far as it is pooled (its analysis looks no further back), so
    # that a recording larger than memory can be analysed in its last records (--pool-last).
    results = [store_module.load_point(path, info.name,
                                       last=pool_last if info.config.is_time_series else None)
               for info in infos]  # fmt: skip
    fits = [point_fits(result, pool_last) for result in results]  # one fit a point
    summary = build_summary(results, [info.params for info in infos], pool_last, fits)
    written = write_summary(outdir, summary)
    if figures:
        written += save_figures(results, outdir, snapshots=pool_last, per_point=per_point,
                                fits=fits, format=format, dpi=dpi,
                                summary=summary)  # fmt: skip
    return Analysis(summary, markdown(summary), written, pool_last, stored)


def repair_outdir(target) -> tuple[Path, int, int]:
    """Rebuild the store of an output directory from what a crashed run committed.

    Parameters
    ----------
    target : path-like
        An output directory (its ``results.h5``), or a results file.

    Returns
    -------
    (path, saved, total) : tuple
        The store, the replicas it holds now, and the replicas in the run.

    Raises
    ------
    ConfigError
        There is no store there (neither a file nor a journal).
    StoreError
        Nothing can be recovered, or another run holds the store.
    """
    target = Path(target)
    path = target / RESULTS_FILE if target.is_dir() or not target.suffix else target
    if not path.exists() and not Journal(path).exists():
        raise ConfigError(f"repair: no results store in {str(target)!r} (no {path.name})")
    saved, total = store_module.repair(path)
    return path, saved, total


__all__ = [
    "RESULTS_FILE",
    "Analysis",
    "Notice",
    "analyze",
    "check_execution",
    "plan_workers",
    "point_specs",
    "repair_outdir",
    "run_experiment",
]
