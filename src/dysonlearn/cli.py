"""The ``dysonlearn`` command.

    dysonlearn run [CONFIG.toml] [-o OUTDIR] [--replicas N] [--seed S] [--workers N]
                   [--oversubscribe] [--backend serial|process|dask] [--scheduler ADDRESS]
                   [--scheduler-timeout SECONDS] [--quiet] [--overwrite] [--dry-run]
    dysonlearn analyze RESULTS.h5 [-o OUTDIR] [--pool-last N] [--quiet]
    dysonlearn reproduce {rbm,teacher_student,all,optimizers,large-n,deep-linear}
                   [--scale smoke|small|paper]
                   [--mode snapshots|timeseries] [-o OUTDIR] [--dry-run] [--quiet] and the
                   execution options of run
    dysonlearn config {default,list,show NAME}
    dysonlearn info RESULTS.h5
    dysonlearn repair OUTDIR [--quiet]

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
import textwrap
import warnings
from pathlib import Path

from ._version import __version__
from .errors import ConfigError
from .stopping import Stopped, handled

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
BACKENDS = ("serial", "process", "dask")  # backends.BACKENDS, without importing it here
REPRODUCE = ("rbm", "teacher_student", "teacher-student", "all", "optimizers", "large-n",
             "large_n", "deep-linear", "deep_linear")  # the dashed names: aliases


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
FORMATS = ("png", "pdf", "svg")  # plots.FIGURE_FORMATS, without importing it here
DPI_RANGE = (20, 1200)  # plots.DPI_RANGE


def _dpi(text: str) -> int:
    """An argparse type: a resolution in DPI_RANGE, with the rule in the error message."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not DPI_RANGE[0] <= value <= DPI_RANGE[1]:
        raise argparse.ArgumentTypeError(
            f"must be an integer from {DPI_RANGE[0]} to {DPI_RANGE[1]}, got {text!r}"
        )
    return value


def _add_output_options(parser: argparse.ArgumentParser, pool_last: bool = False) -> None:
    """The options of what an analysis writes (run, analyze, reproduce)."""
    parser.add_argument("--format", choices=FORMATS, default="png",
                        help="file format of the figures (default: png)")  # fmt: skip
    parser.add_argument("--dpi", type=_dpi, metavar="N",
                        help=f"resolution of the figures in dots per inch, {DPI_RANGE[0]} to "
                        f"{DPI_RANGE[1]} (default: 200)")  # fmt: skip
    if pool_last:
        parser.add_argument("--pool-last", type=_positive_int, metavar="N",
                            help="pool the last N snapshots of every replica in every "
                            "statistic (default: the experiment's [analysis] pool_last, kept "
                            "in the store; 1 if it has none)")  # fmt: skip


# The scales of `reproduce` (reproduce.SCALES, without importing it here), for its --help.
SCALES = {
    "smoke": "checks the pipeline end to end in about a minute (not stationary)",
    "small": "every setting stationary, about 10 minutes on two cores",
    "paper": "the published size (7500 RBM replicas x 1e5 steps per setting), for a "
    "cluster (--backend dask --scheduler ADDRESS)",
}

# The modes of `reproduce` (reproduce.MODES, without importing it here), for its --help.
MODES = {
    "snapshots": "every replica trained from scratch, its last snapshots pooled",
    "timeseries": "the same points recorded as time series (the presets "
    "<experiment>-<scale>-timeseries): fewer replicas, each burnt in and then recorded for "
    "long, every record pooled; rbm, teacher_student and all only",
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Paragraphs of descriptions and epilogs wrapped to the terminal, but blocks with
    indented lines (the examples) kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.strip("\n").split("\n\n"):
            if any(line.startswith(" ") for line in block.splitlines()):
                blocks.append("\n".join(indent + line for line in block.splitlines()))
            else:
                blocks.append(textwrap.fill(" ".join(block.split()), width,
                                            initial_indent=indent, subsequent_indent=indent))  # fmt: skip
        return "\n\n".join(blocks) + "\n"


def _quiet_parent() -> argparse.ArgumentParser:
    """The --quiet option, shared by every sub-command that prints as it works."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-q", "--quiet", action="store_true",
                        help="print no progress, notes or summaries; errors are still printed "
                        "(default: print them)")  # fmt: skip
    return parent


def _add_execution_options(parser: argparse.ArgumentParser) -> None:
    """Where and how a run trains: output, workers, backend; shared by run and reproduce."""
    group = parser.add_argument_group("execution")
    group.add_argument("-o", "--outdir", type=Path, default=Path("dysonlearn-output"),
                       help="output directory (default: ./dysonlearn-output)")  # fmt: skip
    group.add_argument("--workers", type=_positive_int, metavar="N",
                       help="worker processes (default: all cores; at most the cores "
                       "available and the blocks to train)")  # fmt: skip
    group.add_argument("--oversubscribe", action="store_true",
                       help="allow more workers than cores (default: capped at the cores)")  # fmt: skip
    group.add_argument("--backend", choices=BACKENDS, default="process",
                       help="serial: one process, for debugging; process: a pool of worker "
                       "processes on this machine; dask: a dask.distributed cluster "
                       "(default: process)")  # fmt: skip
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running dask.distributed scheduler, e.g. "
                       "tcp://host:8786 (backend dask; default: a local cluster)")  # fmt: skip
    group.add_argument("--scheduler-timeout", type=_positive_seconds, default=10.0,
                       metavar="SECONDS",
                       help="how long to wait for the scheduler (default: 10)")  # fmt: skip
    group.add_argument("--overwrite", action="store_true",
                       help="replace the results of a different run in OUTDIR, with the "
                       "summaries and figures drawn from them (default: refuse)")  # fmt: skip
    group.add_argument("--dry-run", action="store_true",
                       help="validate everything, print the plan (points, replicas, "
                       "replica-steps, blocks, memory) and a wall time estimated from a "
                       "short calibration; write nothing")  # fmt: skip


_RUN_EPILOG = """\
examples:
  dysonlearn run                         the default experiment, into ./dysonlearn-output
  dysonlearn config default > my.toml    start from a file: edit it, then
  dysonlearn run my.toml -o my-output
  dysonlearn run my.toml --dry-run       the plan and an estimated wall time; writes nothing
  dysonlearn run my.toml --replicas 100 --seed 1 --workers 2
  dysonlearn run my.toml --backend dask --scheduler tcp://host:8786

The same command again resumes an interrupted run (Ctrl-C, a crash, a full disk) and gives
bitwise what an uninterrupted run gives; on a complete run it only analyses again.
Outputs: OUTDIR/results.h5 (every spectrum), summary.json, summary.md and figures.
"""

_ANALYZE_EPILOG = """\
examples:
  dysonlearn analyze dysonlearn-output/results.h5
  dysonlearn analyze results.h5 -o figures/

Writes summary.json, summary.md and the figures (next to the store unless -o is given).
"""

_REPRODUCE_EPILOG = """\
examples:
  dysonlearn reproduce all --scale smoke        check the pipeline (about a minute)
  dysonlearn reproduce rbm --dry-run            the plan of the RBM scan, writes nothing
  dysonlearn reproduce all -o article/          both scans, small scale (about 10 minutes)
  dysonlearn reproduce optimizers --scale smoke  lr^a B^-b under SGD, momentum and Adam
  dysonlearn reproduce large-n --scale smoke    N = 100 bulk spacings, MP at N = 1000
  dysonlearn reproduce deep-linear --scale smoke  end-to-end spacing of L = 1, 2, 3 layers
  dysonlearn reproduce all --mode timeseries    both scans as time series (a few minutes)
  dysonlearn config show rbm-small > rbm.toml   the same RBM scan as a file to edit

The experiments are the embedded files <experiment>-<scale> (dysonlearn config list),
or <experiment>-<scale>-timeseries with --mode timeseries.
Each goes to OUTDIR/<experiment>/; OUTDIR/reproduce.md puts the fitted slopes, spacings
and Binder cumulants beside the analytic predictions (for optimizers: the exponents a, b
of <S> = c lr^a B^-b for each optimiser, and OUTDIR/optimizer_scaling.png; for large-n:
the unfolded spacing KS p-values, the gap ratio against GOE and Poisson, the
Marchenko-Pastur KS p-values, and OUTDIR/large_n.png; for deep-linear: each depth's
end-to-end spacing against its prediction, the spacing law of every pair, and
OUTDIR/deep_linear.png).
"""

_CONFIG_EPILOG = """\
examples:
  dysonlearn config default > my.toml    the default experiment of run, to edit
  dysonlearn config list                 the embedded experiments, one line each
  dysonlearn config show rbm-small       the article's RBM scan at the small scale
  dysonlearn run my.toml                 runs exactly the points the file lists
"""

_INFO_EPILOG = """\
example:
  dysonlearn info dysonlearn-output/results.h5

Says which run a store holds (seed, versions) and, for each point, its parameters and how
many replicas are done or diverged; also for a damaged or interrupted store.
"""

_REPAIR_EPILOG = """\
example:
  dysonlearn repair dysonlearn-output

Needed only when the same run cannot simply be run again: running the same command
repairs and resumes by itself.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dysonlearn`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="dysonlearn", formatter_class=_HelpFormatter,
        description="Ensembles of learning weight matrices and their Dyson Brownian motion: "
        "train them, store their spectra, and compare the statistics with the theory.",
        epilog="dysonlearn COMMAND --help describes a command, with examples.",
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"dysonlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quiet = _quiet_parent()

    run = commands.add_parser(
        "run", parents=[quiet], formatter_class=_HelpFormatter, epilog=_RUN_EPILOG,
        help="train an experiment (the embedded default without CONFIG) and analyse it",
        description="Train the ensembles of every point of an experiment, store their "
        "spectra in OUTDIR/results.h5 (resuming an interrupted run), and write summaries "
        "and figures. Without CONFIG.toml, the embedded default experiment "
        "(dysonlearn config default prints it).",
    )  # fmt: skip
    run.add_argument("config", nargs="?", metavar="CONFIG.toml",
                     help="experiment file (default: the embedded default experiment)")  # fmt: skip
    run.add_argument("--replicas", type=_positive_int, metavar="N",
                     help="replicas per scan point (default: the file's [ensemble] replicas)")  # fmt: skip
    run.add_argument("--seed", type=_seed, metavar="S",
                     help="root seed (default: the file's [ensemble] seed; without one, "
                     "a seed is drawn, printed and kept in the store)")  # fmt: skip
    _add_execution_options(run)
    _add_output_options(run)

    analyze = commands.add_parser(
        "analyze", parents=[quiet], formatter_class=_HelpFormatter, epilog=_ANALYZE_EPILOG,
        help="fits, summaries and figures of a results store",
        description="Fit and summarise every point of a results store (what run does after "
        "training) and draw the figures.",
    )  # fmt: skip
    analyze.add_argument("results", type=Path, metavar="RESULTS.h5",
                         help="the results store of a run (OUTDIR/results.h5)")  # fmt: skip
    analyze.add_argument("-o", "--outdir", type=Path,
                         help="output directory (default: the store's directory)")  # fmt: skip
    _add_output_options(analyze, pool_last=True)

    reproduce = commands.add_parser(
        "reproduce", parents=[quiet], formatter_class=_HelpFormatter,
        epilog=_REPRODUCE_EPILOG,
        help="the article's experiments, figures and comparison table",
        description="Run the experiments of Aarts, Lucini and Park, Phys. Rev. E 111, "
        "015303 (2025): the RBM scan (ten settings of lr and B) and the teacher-student "
        "scan (eleven settings of lr, B and A), then compare the fitted numbers with the "
        "analytic predictions.",
    )  # fmt: skip
    reproduce.add_argument("which", choices=REPRODUCE,
                           help="the experiment: rbm, teacher_student (or teacher-student), "
                           "all (both), optimizers (the teacher-student lr x B grid under "
                           "SGD, momentum and Adam; scales smoke and small), or large-n (or "
                           "large_n: unfolded bulk statistics of an RBM with 100 visible "
                           "units, Marchenko-Pastur at N = 1000; scales smoke and small), or "
                           "deep-linear (or deep_linear: deep linear networks of 1, 2 and 3 "
                           "layers at one teacher, lr x B grids; scales smoke and small)")  # fmt: skip
    reproduce.add_argument(
        "--scale", choices=tuple(SCALES), default="small",
        help="how large: " + "; ".join(f"{k}: {v}" for k, v in SCALES.items())
        + " (default: small)",
    )  # fmt: skip
    reproduce.add_argument(
        "--mode", choices=tuple(MODES), default="snapshots",
        help="how each replica is sampled: " + "; ".join(f"{k}: {v}" for k, v in MODES.items())
        + " (default: snapshots)",
    )  # fmt: skip
    _add_execution_options(reproduce)
    _add_output_options(reproduce)

    config = commands.add_parser(
        "config", formatter_class=_HelpFormatter, epilog=_CONFIG_EPILOG,
        help="print the embedded experiments (TOML), to start from a file",
        description="Print the experiments embedded in dysonlearn as TOML: the default of "
        "run and the article's experiments behind reproduce. Redirect one to a file, edit "
        "it, and run it with dysonlearn run FILE.",
    )  # fmt: skip
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("default", help="print the default experiment of run",
                       description="Print the default experiment of dysonlearn run.")  # fmt: skip
    actions.add_parser("list", help="list the embedded experiments, one line each",
                       description="List the embedded experiments with a one-line "
                       "description each.")  # fmt: skip
    show = actions.add_parser("show", help="print one embedded experiment",
                              description="Print one embedded experiment, exactly as run "
                              "or reproduce reads it.")  # fmt: skip
    show.add_argument("name", metavar="NAME", help="a name of dysonlearn config list, or "
                      "the group optimizers[-SCALE], large-n[-SCALE] or deep-linear[-SCALE] "
                      "(all its files)")  # fmt: skip

    info = commands.add_parser(
        "info", formatter_class=_HelpFormatter, epilog=_INFO_EPILOG,
        help="what a results store holds",
        description="Describe a results store: its run and, for each point, the replicas "
        "done and diverged.",
    )  # fmt: skip
    info.add_argument("results", type=Path, metavar="RESULTS.h5",
                      help="the results store of a run (OUTDIR/results.h5)")  # fmt: skip

    repair = commands.add_parser(
        "repair", parents=[quiet], formatter_class=_HelpFormatter, epilog=_REPAIR_EPILOG,
        help="rebuild OUTDIR/results.h5 from what a crashed run committed",
        description="Rebuild the results store of OUTDIR (or the given results file) from "
        "its journal of committed blocks, after a crash or a full disk.",
    )  # fmt: skip
    repair.add_argument("outdir", type=Path, metavar="OUTDIR",
                        help="the output directory of the run (or its results file)")  # fmt: skip
    return parser


def _note(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"dysonlearn: {message}", file=sys.stderr)


# What the library tells a run's caller (scan.Notice), in the words of the command line.
_NOTICES = {
    "seed_drawn": "no seed given; this run's seed is {seed} (--seed {seed} reproduces it)",
    "workers_capped": "--workers {requested} capped at {workers}, the cores available "
    "(--oversubscribe allows more)",
    "resuming": "resuming the run in {path}: {saved} of {total} replicas saved, training "
    "the other {left}",
    "complete": "{path} holds this run complete ({total} replicas): nothing to train, "
    "analysing it again",
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
                   notify=_notify(args), command=args.command_line, load=False)  # fmt: skip
    return outdir / RESULTS_FILE


def _run_and_analyze(experiment, outdir: Path, args, per_point: bool = True) -> int:
    """Train every point into OUTDIR/results.h5 (resuming), then analyse it as the
    experiment says (``per_point``: figures for every scan point too)."""
    path = _train(experiment, outdir, args)
    return _analyze_store(path, outdir, args, per_point=per_point)


def _analyze_store(path: Path, outdir: Path, args, per_point: bool = True,
                   headline: bool = True, figures: bool = True) -> int:  # fmt: skip
    """Summaries (JSON, Markdown) and figures (unless not ``figures``) of every point of a
    store; unless ``--quiet``, a short summary (where the files are, the headline numbers,
    the warnings)."""
    from .report import headline as headline_lines
    from .scan import analyze

    analysis = analyze(path, outdir, getattr(args, "pool_last", None), per_point,
                       format=args.format, dpi=args.dpi, figures=figures)  # fmt: skip
    if analysis.pool_last != analysis.stored_pool_last:
        _note(args, f"--pool-last {analysis.pool_last} overrides the experiment's pool_last = "
              f"{analysis.stored_pool_last}")  # fmt: skip
    if headline and not args.quiet:
        for line in headline_lines(analysis.summary, outdir, analysis.written):
            print(line)
    return EXIT_OK


def _command_run(args) -> int:
    from .experiment import default_experiment_path
    from .experiment import load_experiment

    path = Path(args.config) if args.config else default_experiment_path()
    experiment = load_experiment(path).with_overrides(replicas=args.replicas, seed=args.seed)
    if args.dry_run:
        return _dry_run([(path.name, experiment, args.outdir)], args)
    return _run_and_analyze(experiment, args.outdir, args)


def _dry_run(runs: list, args) -> int:
    """Print what ``run`` (or ``reproduce``) would do and about how long it would take,
    for each ``(name, experiment, outdir)`` of ``runs``; write nothing. The plan is printed
    even with --quiet: it is what was asked for."""
    from .dryrun import describe_plan, plan
    from .report import point_label
    from .scan import RESULTS_FILE, check_execution, plan_workers

    _check_options(args)
    check_execution(**_execution(args))
    workers = plan_workers(args.workers, args.backend, args.oversubscribe, _notify(args))
    for name, experiment, outdir in runs:
        labels = [point_label(p) for p in experiment.point_params()]
        print(f"dysonlearn: dry run of {name}: {len(experiment.points)} point(s) x "
              f"{experiment.replicas} replicas on {workers} worker(s), backend "
              f"{args.backend}, output {outdir / RESULTS_FILE}")  # fmt: skip
        for line in describe_plan(plan(experiment, labels, workers), workers):
            print(line)
    return EXIT_OK


def _command_analyze(args) -> int:
    outdir = args.outdir if args.outdir is not None else args.results.parent
    return _analyze_store(args.results, outdir, args)


def _command_config(args) -> int:
    from .experiment import embedded_experiment_path, embedded_experiments

    if args.action == "list":
        described = embedded_experiments()
        width = max(map(len, described))
        for name, description in described.items():
            print(f"{name:<{width}}  {description}")
        return EXIT_OK
    name = "default" if args.action == "default" else args.name
    from .reproduce import group_presets

    members = group_presets(name) if args.action == "show" else None
    if members is not None:
        # A group is several files: each printed as stored, under a line that names it.
        print(f"# {name}: {len(members)} embedded experiments, each a file of its own "
              "(dysonlearn config show NAME > NAME.toml saves one)")  # fmt: skip
        for member in members:
            print(f"\n# ==== {member} ====")
            sys.stdout.write(embedded_experiment_path(member).read_text(encoding="utf-8"))
        return EXIT_OK
    # Printed as stored, byte for byte: what run and reproduce read is what is shown.
    sys.stdout.write(embedded_experiment_path(name).read_text(encoding="utf-8"))
    return EXIT_OK


def _command_info(args) -> int:
    from .dryrun import recording_text
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
        if info.config.is_time_series:
            print(f"    {recording_text(info.config, info.replicas)}")
    return EXIT_OK


def _command_repair(args) -> int:
    from .scan import repair_outdir

    path, saved, total = repair_outdir(args.outdir)
    state = "complete" if saved == total else "run the same command to train the rest"
    if not args.quiet:
        print(f"dysonlearn: {path} holds {saved} of {total} replicas ({state})")
    return EXIT_OK


def _command_reproduce(args) -> int:
    from .reproduce import SUMMARY_ONLY, article_experiments, comparison_headline
    from .reproduce import preset_name, write_comparison

    experiments = article_experiments(args.which, args.scale, args.mode)
    if args.dry_run:
        return _dry_run([(preset_name(name, args.scale, args.mode), experiment,
                          args.outdir / name)
                         for name, experiment in experiments], args)  # fmt: skip
    outcomes = []
    for name, experiment in experiments:
        # The experiment says how many snapshots to pool, as for run; a smoke run skips
        # per-setting figures (it checks the pipeline, and they are most of its time).
        path = _train(experiment, args.outdir / name, args)
        code = _analyze_store(path, args.outdir / name, args, per_point=args.scale != "smoke",
                              headline=False, figures=name not in SUMMARY_ONLY)  # fmt: skip
        if code != EXIT_OK:
            return code
        outcomes.append((name, args.outdir / name))
    written = write_comparison(outcomes, args.outdir)
    if not args.quiet:
        for line in comparison_headline(written):
            print(line)
    return EXIT_OK


COMMANDS = {
    "run": _command_run,
    "analyze": _command_analyze,
    "info": _command_info,
    "repair": _command_repair,
    "reproduce": _command_reproduce,
    "config": _command_config,
}


def _optimizer_warnings_as_notes() -> None:
    """Show the configurations' optimiser warnings (momentum beyond its stability bound) as
    notes of the command line, "dysonlearn: note: optimizer: ...", not as Python warnings
    with a file and line; other warnings are shown as before. Call inside
    ``warnings.catch_warnings()``."""
    shown = warnings.showwarning
    noted = set()  # a configuration built twice (validation, then the run) notes once

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if issubclass(category, UserWarning) and text.startswith("optimizer:"):
            if text not in noted:
                noted.add(text)
                print(f"dysonlearn: note: {text}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


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
    with handled(), warnings.catch_warnings():
        _optimizer_warnings_as_notes()
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
