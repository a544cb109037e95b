"""The ``dysonlearn`` command.

Exit status: 0 success, 2 bad input (one line per problem on stderr, no traceback),
1 anything else, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .backends import BACKENDS
from .ensemble import run_ensemble
from .errors import ConfigError
from .experiment import default_experiment_path, load_experiment
from .report import markdown, summarize, write_summary

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dysonlearn",
        description="Ensembles of learning weight matrices and their Dyson Brownian motion.",
    )
    parser.add_argument("--version", action="version", version=f"dysonlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="train an ensemble (the embedded default experiment without CONFIG)",
        description="Train the ensembles of an experiment and summarise their spectra.",
    )
    run.add_argument("config", nargs="?", metavar="CONFIG.toml", help="experiment file")
    run.add_argument("-o", "--outdir", type=Path, default=Path("dysonlearn-output"),
                     help="output directory (default: ./dysonlearn-output)")  # fmt: skip
    run.add_argument("--replicas", type=_positive_int, help="replicas per scan point")
    run.add_argument("--seed", type=_seed, help="root seed")
    run.add_argument("--workers", type=_positive_int, help="worker processes (default: all cores)")
    run.add_argument("--backend", choices=BACKENDS, default="process")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def command_run(args: argparse.Namespace) -> int:
    path = Path(args.config) if args.config else default_experiment_path()
    experiment = load_experiment(path).with_overrides(replicas=args.replicas, seed=args.seed)
    results = []
    for config in experiment.points:
        results.append(
            run_ensemble(
                config, replicas=experiment.replicas, seed=experiment.seed,
                backend=args.backend, workers=args.workers, progress=not args.quiet,
                bit_generator=experiment.bit_generator,
            )
        )  # fmt: skip
    summary = summarize(experiment, results)
    written = write_summary(args.outdir, summary)
    if not args.quiet:
        print(markdown(summary))
        print("wrote " + ", ".join(str(p) for p in written))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    try:
        return {"run": command_run}[args.command](args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"dysonlearn: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dysonlearn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
