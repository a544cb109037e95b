"""The ``dysonlearn`` command.

    dysonlearn run [CONFIG.toml] [-o OUTDIR] [--replicas N] [--seed S] [--workers N]
                   [--oversubscribe] [--backend serial|process|dask] [--scheduler ADDRESS]
                   [--scheduler-timeout SECONDS] [--quiet] [--overwrite] [--dry-run]
    dysonlearn analyze RESULTS.h5 [-o OUTDIR]
    dysonlearn reproduce {rbm,teacher_student,all} [--scale smoke|small|paper] [-o OUTDIR]
    dysonlearn info RESULTS.h5
    dysonlearn repair OUTDIR

Exit status: 0 success, 2 bad input (one line per problem on stderr, no traceback),
1 anything else, 128 + the signal when stopped by a signal (130 Ctrl-C, 143 SIGTERM,
129 SIGHUP; the completed blocks are kept and the same command resumes).

This module imports only the standard library at first: the numerical stack is imported
inside :func:`main`, after the signal handlers are in place, so that even Ctrl-C during
start-up ends in one line.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

from ._version import __version__
from .errors import ConfigError
from .stopping import Stopped, handled

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
BACKENDS = ("serial", "process", "dask")  # backends.BACKENDS, without importing it here
REPRODUCE = ("rbm", "teacher_student", "teacher-student", "all")  # the dashed name: an alias


def _int_at_least(minimum: int):
    """An argparse type: an integer >= minimum, with the rule in the error message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


_positive_int = _int_at_least(1)
_seed = _int_at_least(0)


def _add_execution_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--outdir", type=Path, default=Path("dysonlearn-output"),
                        help="output directory (default: ./dysonlearn-output)")  # fmt: skip
    parser.add_argument("--workers", type=_positive_int,
                        help="worker processes (default: all cores; at most the cores "
                        "available and the blocks to train)")  # fmt: skip
    parser.add_argument("--oversubscribe", action="store_true",
                        help="allow more workers than cores")  # fmt: skip
    parser.add_argument("--backend", choices=BACKENDS, default="process")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask.distributed scheduler to use (backend dask)")  # fmt: skip
    parser.add_argument("--scheduler-timeout", type=_positive_seconds, default=10.0,
                        metavar="SECONDS",
                        help="how long to wait for the scheduler (default: 10)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace results of a different run in OUTDIR")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dysonlearn`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="dysonlearn",
        description="Ensembles of learning weight matrices and their Dyson Brownian motion.",
    )
    parser.add_argument("--version", action="version", version=f"dysonlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="train an experiment (the embedded default without CONFIG) and analyse it",
        description="Train the ensembles of an experiment, store them in OUTDIR/results.h5 "
        "(resuming an interrupted run), and write summaries and figures.",
    )  # fmt: skip
    run.add_argument("config", nargs="?", metavar="CONFIG.toml", help="experiment file")
    run.add_argument("--replicas", type=_positive_int, help="replicas per scan point")
    run.add_argument("--seed", type=_seed, help="root seed")
    run.add_argument("--dry-run", action="store_true",
                     help="validate, print the plan and an estimated wall time; write nothing")  # fmt: skip
    _add_execution_options(run)

    analyze = commands.add_parser("analyze", help="fits, summaries and figures of a store")
    analyze.add_argument("results", type=Path, metavar="RESULTS.h5")
    analyze.add_argument("-o", "--outdir", type=Path,
                         help="output directory (default: the store's directory)")  # fmt: skip

    info = commands.add_parser("info", help="what a results store holds")
    info.add_argument("results", type=Path, metavar="RESULTS.h5")

    repair = commands.add_parser(
        "repair", help="rebuild OUTDIR/results.h5 from what a crashed run committed",
        description="Rebuild the results store of OUTDIR (or the given results file) from "
        "its journal of committed blocks, after a crash or a full disk.",
    )  # fmt: skip
    repair.add_argument("outdir", type=Path, metavar="OUTDIR")

    reproduce = commands.add_parser(
        "reproduce", help="the article's experiments, figures and comparison table"
    )
    reproduce.add_argument("which", choices=REPRODUCE,
                           help="teacher-student is an alias of teacher_student")  # fmt: skip
    reproduce.add_argument("--scale", choices=("smoke", "small", "paper"), default="small")
    _add_execution_options(reproduce)
    return parser


def _note(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"dysonlearn: {message}", file=sys.stderr)


# What the library tells a run's caller (scan.Notice), in the words of the command line.
_NOTICES = {
    "seed_drawn": "no seed given; this run's seed is {seed} (--seed {seed} reproduces it)",
    "workers_capped": "--workers {requested} capped at {workers}, the cores available "
    "(--oversubscribe allows more)",
    "resuming": "resuming the run in {path} ({saved} of {total} replicas saved)",
}


def _notify(args):
    """A notify callback for the library: its notices as notes on stderr."""

    def notify(notice) -> None:
        _note(args, _NOTICES[notice.kind].format(**notice.values))

    return notify


def _check_options(args) -> None:
    """Options that only make sense together, checked before anything is done."""
    if args.scheduler is not None and args.backend != "dask":
        raise ConfigError(
            f"--scheduler: is used only with --backend dask (backend is {args.backend!r}), "
            f"got {args.scheduler!r}"
        )


def _execution(args) -> dict:
    """The library's execution arguments from the command line's options."""
    return {"backend": args.backend, "workers": args.workers, "scheduler": args.scheduler,
            "scheduler_timeout": args.scheduler_timeout}  # fmt: skip


def _train(experiment, outdir: Path, args) -> Path:
    """Train every point of ``experiment`` into OUTDIR/results.h5, resuming what a store
    there holds; returns the store's path. Raises :class:`Stopped` (with the store saved,
    as a note) when a stop signal arrives."""
    from .scan import RESULTS_FILE, run_experiment

    _check_options(args)
    run_experiment(experiment, outdir, **_execution(args), progress=not args.quiet,
                   overwrite=args.overwrite, oversubscribe=args.oversubscribe,
                   notify=_notify(args), command=args.command_line)  # fmt: skip
    return outdir / RESULTS_FILE


def _run_and_analyze(
    experiment, outdir: Path, args, snapshots: int = 1, per_point: bool = True
) -> int:
    """Train every point into OUTDIR/results.h5 (resuming), then analyse it, pooling the
    last ``snapshots`` snapshots (``per_point``: figures for every scan point too)."""
    path = _train(experiment, outdir, args)
    return _analyze_store(path, outdir, args.quiet, snapshots, per_point)


def _analyze_store(
    path: Path, outdir: Path, quiet: bool = False, snapshots: int = 1, per_point: bool = True
) -> int:
    """Summaries (JSON, Markdown) and figures of every point of a store, printed unless
    ``quiet``."""
    from .scan import analyze

    analysis = analyze(path, outdir, snapshots, per_point)
    if not quiet:
        print(analysis.markdown)
        print("wrote " + ", ".join(str(p) for p in analysis.written))
    return EXIT_OK


def _command_run(args) -> int:
    from .experiment import default_experiment_path
    from .experiment import load_experiment

    path = Path(args.config) if args.config else default_experiment_path()
    experiment = load_experiment(path).with_overrides(replicas=args.replicas, seed=args.seed)
    if args.dry_run:
        return _dry_run(experiment, path, args)
    return _run_and_analyze(experiment, args.outdir, args)


def _dry_run(experiment, path: Path, args) -> int:
    """Print what ``run`` would do and about how long it would take; write nothing."""
    from .dryrun import describe_plan, plan
    from .report import point_label
    from .scan import RESULTS_FILE, check_execution, plan_workers

    _check_options(args)
    check_execution(**_execution(args))
    workers = plan_workers(args.workers, args.backend, args.oversubscribe, _notify(args))
    labels = [point_label(p) for p in experiment.point_params()]
    print(f"dysonlearn: dry run of {path.name}: {len(experiment.points)} point(s) x "
          f"{experiment.replicas} replicas on {workers} worker(s), backend "
          f"{args.backend}, output {args.outdir / RESULTS_FILE}")  # fmt: skip
    for line in describe_plan(plan(experiment, labels, workers), workers):
        print(line)
    return EXIT_OK


def _command_analyze(args) -> int:
    outdir = args.outdir if args.outdir is not None else args.results.parent
    return _analyze_store(args.results, outdir)


def _command_info(args) -> int:
    from .report import point_label
    from .store import describe, root_summary

    root, infos = describe(args.results)
    print(f"{args.results}: dysonlearn results (format {root.get('format_version')})")
    print("\n".join(root_summary(root)))
    for info in infos:
        state = "complete" if info.done == info.replicas else "incomplete"
        pending = (f", {info.pending} more committed in the journal (run the same command, "
                   "or dysonlearn repair, to merge them)") if info.pending else ""  # fmt: skip
        print(f"  {info.name}: {info.config.kind}, {point_label(info.params)}; "
              f"{info.done}/{info.replicas} replicas done ({state}), {info.failed} diverged"
              f"{pending}")  # fmt: skip
    return EXIT_OK


def _command_repair(args) -> int:
    from .scan import repair_outdir

    path, saved, total = repair_outdir(args.outdir)
    state = "complete" if saved == total else "run the same command to train the rest"
    print(f"dysonlearn: {path} holds {saved} of {total} replicas ({state})")
    return EXIT_OK


def _command_reproduce(args) -> int:
    from .reproduce import article_experiments, write_comparison

    outcomes = []
    for name, experiment in article_experiments(args.which, args.scale):
        # Pool the last three of the five late snapshots; a smoke run skips per-setting
        # figures (it checks the pipeline, and they are most of its time).
        code = _run_and_analyze(experiment, args.outdir / name, args, snapshots=3,
                               per_point=args.scale != "smoke")  # fmt: skip
        if code != EXIT_OK:
            return code
        outcomes.append((name, args.outdir / name))
    written = write_comparison(outcomes, args.outdir)
    if not args.quiet:
        print(written.read_text(encoding="utf-8"))
    return EXIT_OK


COMMANDS = {
    "run": _command_run,
    "analyze": _command_analyze,
    "info": _command_info,
    "repair": _command_repair,
    "reproduce": _command_reproduce,
}


def _notes(exc: BaseException) -> str:
    notes = getattr(exc, "__notes__", None)
    return f"; {'; '.join(notes)}" if notes else ""


def main(argv: list[str] | None = None) -> int:
    """Run the ``dysonlearn`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 2 bad input, 1 failure, 128 + signal number when stopped by a signal.
    """
    with handled():
        try:
            parser = build_parser()
            args = parser.parse_args(argv)  # exits 2 on a usage error
            # Recorded in the results store: how this run was started.
            given = sys.argv[1:] if argv is None else argv
            args.command_line = shlex.join(["dysonlearn", *given])
            return COMMANDS[args.command](args)
        except ConfigError as exc:
            for problem in exc.problems:
                print(f"dysonlearn: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
            name = signal.Signals(signum).name
            saved = _notes(exc)
            resume = ". Run the same command again to resume." if saved else ""
            print(f"dysonlearn: stopped by {name}{saved}{resume}", file=sys.stderr)
            return 128 + signum
        except Exception as exc:  # the command line never shows a traceback
            from .backends import WorkerDied

            if isinstance(exc, WorkerDied):
                # Its hint is for scripts; the command's workers never import one.
                print(f"dysonlearn: error: {exc.cause}{_notes(exc)}; run the same command to "
                      "resume", file=sys.stderr)  # fmt: skip
                return EXIT_FAILURE
            raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
