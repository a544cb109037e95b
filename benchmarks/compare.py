"""Compare two commits for a pull request: benchmark both in asv's own environments, then
exit non-zero when a benchmark of the package got worse beyond the noise.

    python benchmarks/compare.py main HEAD                     # every suite (long)
    python benchmarks/compare.py main HEAD --bench PCDStep     # a regular expression
    python benchmarks/compare.py main HEAD --no-run            # results already there

It runs ``asv run --show-stderr --record-samples [--bench REGEX] <commit>^!`` for each
commit (asv builds the commit's wheel and installs it with its dependencies; results
already stored are kept unless ``--rerun``), then ``asv compare --factor FACTOR BASE
HEAD``, and reads its table:

- a benchmark asv marks ``+`` (larger after) is a regression, ``-`` an improvement, except
  for the figures where larger is better (``track_speedup``, ``track_gain``,
  ``track_samples_per_core_second``, ``track_dgemm_gflops``: asv marks every increase
  ``+``), which count the other way round; ``!`` (it failed after, not before) is a
  regression too;
- asv marks a time_* change only when its ratio exceeds the factor AND the samples of the
  two commits differ (Mann-Whitney), and a track_* change (one value each) on the factor
  alone; the families whose run-to-run spread is larger than the default factor leaves
  room for have their own factor here (``FACTORS``, from the spread measured in the user
  guide's benchmarks page), which their ratio must exceed as well;
- ``benchmark_numpy_baselines`` measures the machine, not the package: a change there is
  reported as drift of the machine (the comparison is then less trustworthy), never as a
  regression.

Exit status: 0 when nothing regressed, 1 on a regression, 2 when asv failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass

#: Figures where larger is better: asv compare marks their increase "+".
HIGHER_IS_BETTER = ("track_speedup", "track_gain", "track_samples_per_core_second",
                    "track_dgemm_gflops")  # fmt: skip
#: Suites that measure the machine (NumPy, its BLAS), not the package.
MACHINE_SUITES = ("benchmark_numpy_baselines.",)
DEFAULT_FACTOR = 1.2
#: Benchmarks (regular expressions on the name) whose run-to-run spread needs a larger
#: factor than the default: a change must exceed it as well to count.
FACTORS = {
    r"^benchmark_store\.CommitBlock\.": 2.0,  # an fsync: the disk's latency, shared
    r"^benchmark_rbm\.EnsembleThroughput\.": 1.3,  # two processes on a shared machine
    r"^benchmark_timeseries\.": 1.3,  # tau_int estimated from a finite series
}


@dataclass(frozen=True)
class Row:
    """One line of ``asv compare``'s table.

    Attributes
    ----------
    mark : str
        asv's change mark: "+", "-", "!", "*", "x" or "".
    before, after : str
        The figures as asv printed them.
    ratio : float or None
        After / before (None when asv printed "n/a").
    significant : bool
        False when asv printed the ratio with "~" (beyond the factor, within the noise).
    name : str
        Benchmark name with its parameters.
    """

    mark: str
    before: str
    after: str
    ratio: float | None
    significant: bool
    name: str


def parse_compare(text: str) -> list[Row]:
    """The rows of the tables ``asv compare`` printed (its "github" table format).

    Parameters
    ----------
    text : str
        asv compare's standard output.

    Returns
    -------
    list of Row
    """
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.match(r"^\|[-| ]+\|$", line):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) < 5 or cells[0] == "Change":
            continue
        mark, before, after, ratio_text = cells[:4]
        name = "|".join(cells[4:]).strip()
        significant = not ratio_text.startswith("~")
        try:
            ratio = float(ratio_text.lstrip("~"))
        except ValueError:
            ratio = None
        rows.append(Row(mark, before, after, ratio, significant, name))
    return rows


def factor_for(name: str, default: float = DEFAULT_FACTOR) -> float:
    """The factor a change of benchmark ``name`` must exceed: the largest of ``default``
    and the ``FACTORS`` entries that match it.

    Parameters
    ----------
    name : str
    default : float

    Returns
    -------
    float
    """
    return max([default, *(f for pattern, f in FACTORS.items() if re.search(pattern, name))])


def classify(rows: list[Row], factor: float = DEFAULT_FACTOR) -> dict[str, list[Row]]:
    """Sort asv's marked rows into regressions, improvements and drift of the machine.

    Parameters
    ----------
    rows : list of Row
        From :func:`parse_compare` of an ``asv compare --factor factor`` output.
    factor : float
        The default factor (the one asv compare was given).

    Returns
    -------
    dict
        ``"regressions"``, ``"improvements"``, ``"machine"`` (baselines that changed),
        each a list of Row.
    """
    out = {"regressions": [], "improvements": [], "machine": []}
    for row in rows:
        if row.mark == "!":
            out["regressions"].append(row)
            continue
        if row.mark not in ("+", "-") or row.ratio is None:
            continue
        # asv already required ratio > factor (and the samples to differ); a noisy
        # family must also exceed its own factor.
        change = row.ratio if row.mark == "+" else 1.0 / row.ratio
        if change <= factor_for(row.name, factor):
            continue
        if row.name.startswith(MACHINE_SUITES):
            out["machine"].append(row)
            continue
        larger_is_worse = not any(f".{name}" in row.name for name in HIGHER_IS_BETTER)
        worse = (row.mark == "+") == larger_is_worse
        out["regressions" if worse else "improvements"].append(row)
    return out


def report(result: dict[str, list[Row]]) -> str:
    """A short text of :func:`classify`'s result."""
    titles = {"regressions": "Regressions", "improvements": "Improvements",
              "machine": "The machine changed (NumPy baselines; not the package)"}  # fmt: skip
    lines = []
    for key, title in titles.items():
        if result[key]:
            lines.append(f"{title}:")
            lines += [f"  {r.ratio if r.ratio is not None else 'failed'!s:>6}  {r.before:>14}"
                      f" -> {r.after:<14} {r.name}" for r in result[key]]  # fmt: skip
    if result["machine"]:
        lines.append("(the baselines moved: rerun on a quieter machine before trusting this)")
    lines.append(f"{len(result['regressions'])} regression(s), "
                 f"{len(result['improvements'])} improvement(s)")  # fmt: skip
    return "\n".join(lines)


def _asv(args: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "asv", *args]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, text=True, stdout=subprocess.PIPE)


def main(argv=None) -> int:
    """Run both commits, compare, print, and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the reference commit (a branch, tag or hash)")
    parser.add_argument("head", help="the commit to judge")
    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                        help="a change must exceed this ratio (default 1.2)")  # fmt: skip
    parser.add_argument("--bench", "-b", action="append", default=[],
                        help="benchmarks to run (regular expression; repeatable)")  # fmt: skip
    parser.add_argument("--no-run", action="store_true", help="compare stored results only")
    parser.add_argument("--rerun", action="store_true",
                        help="run again commits that have results (--no-skip-existing)")
    args = parser.parse_args(argv)
    if not args.no_run:
        for commit in (args.base, args.head):
            # --record-samples: asv compare's Mann-Whitney test needs the raw samples.
            run = ["run", "--show-stderr", "--record-samples", f"{commit}^!"]
            run += [f"--bench={b}" for b in args.bench]
            if not args.rerun:
                run.append("--skip-existing-successful")
            if _asv(run).returncode not in (0, 2):  # 2: some benchmark failed
                return 2
    compared = _asv(["compare", f"--factor={args.factor}", args.base, args.head])
    print(compared.stdout)
    if compared.returncode != 0:
        return 2
    rows = parse_compare(compared.stdout)
    if args.bench:
        rows = [r for r in rows if any(re.search(b, r.name) for b in args.bench)]
    result = classify(rows, args.factor)
    print(report(result))
    return 1 if result["regressions"] else 0


if __name__ == "__main__":
    sys.exit(main())
