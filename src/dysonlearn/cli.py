"""The ``dysonlearn`` command.

    dysonlearn run [CONFIG.toml] [-o OUTDIR] [--replicas N] [--seed S] [--workers N]
                   [--backend serial|process|dask] [--scheduler ADDRESS] [--quiet] [--overwrite]
    dysonlearn analyze RESULTS.h5 [-o OUTDIR]
    dysonlearn reproduce {rbm,teacher-student,all} [--scale smoke|small|paper] [-o OUTDIR]
    dysonlearn info RESULTS.h5

Exit status: 0 success, 2 bad input (one line per problem on stderr, no traceback),
1 anything else, 130 interrupted (completed blocks are kept; the same command resumes).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

from . import store as store_module
from ._version import __version__
from .backends import BACKENDS, WorkerPool, available_cores, require_dask
from .ensemble import StoreSink, execute_point
from .errors import ConfigError
from .experiment import Experiment, default_experiment_path, load_experiment
from .report import build_summary, markdown, point_label, write_summary
from .store import PointSpec

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
RESULTS_FILE = "results.h5"


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


_positive_int = _int_at_least(1)
_seed = _int_at_least(0)


def _add_execution_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--outdir", type=Path, default=Path("dysonlearn-output"),
                        help="output directory (default: ./dysonlearn-output)")  # fmt: skip
    parser.add_argument("--workers", type=_positive_int, help="workers (default: all cores)")
    parser.add_argument("--backend", choices=BACKENDS, default="process")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask.distributed scheduler to use (backend dask)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace results of a different run in OUTDIR")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
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
    _add_execution_options(run)

    analyze = commands.add_parser("analyze", help="fits, summaries and figures of a store")
    analyze.add_argument("results", type=Path, metavar="RESULTS.h5")
    analyze.add_argument("-o", "--outdir", type=Path,
                         help="output directory (default: the store's directory)")  # fmt: skip

    info = commands.add_parser("info", help="what a results store holds")
    info.add_argument("results", type=Path, metavar="RESULTS.h5")

    reproduce = commands.add_parser(
        "reproduce", help="the article's experiments, figures and comparison table"
    )
    reproduce.add_argument("which", choices=("rbm", "teacher-student", "all"))
    reproduce.add_argument("--scale", choices=("smoke", "small", "paper"), default="small")
    _add_execution_options(reproduce)
    return parser


def point_specs(experiment: Experiment, seed: int) -> list[PointSpec]:
    """One PointSpec per scan point. Points get independent seeds derived from the root one
    (their replicas would otherwise share random streams across the scan)."""
    n = len(experiment.points)
    if n == 1:
        seeds = [seed]
    else:
        children = np.random.SeedSequence(seed).spawn(n)
        seeds = [int.from_bytes(c.generate_state(4, np.uint32).tobytes(), "little")
                 for c in children]  # fmt: skip
    return [
        PointSpec(
            f"point_{i:03d}",
            config,
            experiment.replicas,
            seeds[i],
            experiment.bit_generator,
            "ziggurat",
            params=tuple(params.items()),
        )
        for i, (config, params) in enumerate(
            zip(experiment.points, experiment.point_params(), strict=True)
        )
    ]


def _stored_seed(path: Path) -> int | None:
    """The root seed of the run in an existing store (to resume a run without a seed)."""
    if not path.exists():
        return None
    root, _ = store_module.describe(path)
    return int(root["seed"]) if root.get("seed") not in (None, "") else None


def run_experiment(
    experiment: Experiment, outdir: Path, args, snapshots: int = 1, per_point: bool = True
) -> int:
    """Train every point into OUTDIR/results.h5 (resuming), then analyse it, pooling the
    last ``snapshots`` snapshots (``per_point``: figures for every scan point too)."""
    if args.backend == "dask":
        require_dask()  # before touching the store: a missing extra is bad input
    path = outdir / RESULTS_FILE
    seed = experiment.seed
    if seed is None:
        seed = None if args.overwrite else _stored_seed(path)
        seed = int(np.random.SeedSequence().entropy) if seed is None else seed
    specs = point_specs(experiment, seed)
    resumed = store_module.prepare(path, specs, overwrite=args.overwrite)
    if resumed and not args.quiet:
        print(f"dysonlearn: resuming the run in {path}", file=sys.stderr)
    try:
        with contextlib.ExitStack() as stack:
            pool = None
            if args.backend == "process":
                workers = args.workers or available_cores()
                pool = stack.enter_context(WorkerPool(workers))
            for spec in specs:
                execute_point(
                    spec, StoreSink(path, spec), backend=args.backend, workers=args.workers,
                    progress=not args.quiet, scheduler=args.scheduler, pool=pool,
                    desc=point_label(dict(spec.params)) if spec.params else "dysonlearn",
                )  # fmt: skip
    except KeyboardInterrupt:
        _, infos = store_module.describe(path)
        done, total = sum(i.done for i in infos), sum(i.replicas for i in infos)
        print(
            f"dysonlearn: interrupted; {done} of {total} replicas are saved in {path}. "
            "Run the same command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return analyze_store(path, outdir, args.quiet, snapshots, per_point)


def analyze_store(
    path: Path, outdir: Path, quiet: bool = False, snapshots: int = 1, per_point: bool = True
) -> int:
    """Summaries (JSON, Markdown) and figures of every point of a store."""
    _, infos = store_module.describe(path)
    results = [store_module.load_point(path, info.name) for info in infos]
    summary = build_summary(results, [info.params for info in infos], snapshots)
    written = write_summary(outdir, summary)
    written += _figures(results, outdir, snapshots, per_point)
    if not quiet:
        print(markdown(summary))
        print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def _figures(results, outdir: Path, snapshots: int = 1, per_point: bool = True) -> list[Path]:
    from .plots import save_figures

    return save_figures(results, outdir, snapshots=snapshots, per_point=per_point)


def command_run(args) -> int:
    path = Path(args.config) if args.config else default_experiment_path()
    experiment = load_experiment(path).with_overrides(replicas=args.replicas, seed=args.seed)
    return run_experiment(experiment, args.outdir, args)


def command_analyze(args) -> int:
    outdir = args.outdir if args.outdir is not None else args.results.parent
    store_module.describe(args.results)  # a clear error for a missing or foreign file
    return analyze_store(args.results, outdir)


def command_info(args) -> int:
    root, infos = store_module.describe(args.results)
    print(f"{args.results}: dysonlearn results (format {root.get('format_version')}), "
          f"written by dysonlearn {root.get('dysonlearn_version')} on {root.get('created')}")  # fmt: skip
    print(f"root seed {root.get('seed')}; numpy {root.get('numpy_version')}, "
          f"scipy {root.get('scipy_version')}, h5py {root.get('h5py_version')}")  # fmt: skip
    for info in infos:
        state = "complete" if info.done == info.replicas else "incomplete"
        print(f"  {info.name}: {info.config.kind}, {point_label(info.params)}; "
              f"{info.done}/{info.replicas} replicas done ({state}), {info.failed} diverged")  # fmt: skip
    return EXIT_OK


def command_reproduce(args) -> int:
    from .reproduce import article_experiments, write_comparison

    outcomes = []
    for name, experiment in article_experiments(args.which, args.scale):
        # Pool the last three of the five late snapshots; a smoke run skips per-setting
        # figures (it checks the pipeline, and they are most of its time).
        code = run_experiment(experiment, args.outdir / name, args, snapshots=3,
                              per_point=args.scale != "smoke")  # fmt: skip
        if code != EXIT_OK:
            return code
        outcomes.append((name, args.outdir / name))
    written = write_comparison(outcomes, args.outdir)
    if not args.quiet:
        print(written.read_text(encoding="utf-8"))
    return EXIT_OK


COMMANDS = {
    "run": command_run,
    "analyze": command_analyze,
    "info": command_info,
    "reproduce": command_reproduce,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"dysonlearn: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dysonlearn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
