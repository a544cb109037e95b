"""Compare two commits for a pull request: benchmark both in asv's own environments, then
exit non-zero when a benchmark of the package got worse beyond the noise.

    python benchmarks/compare.py main HEAD                     # every suite (long)
    python benchmarks/compare.py main HEAD --bench PCDStep     # a regular expression
    python benchmarks/compare.py main HEAD --no-run            # results already there
    python benchmarks/compare.py main HEAD --separate          # asv run each, keep results

It runs ``asv continuous --interleave-rounds --factor FACTOR [--bench REGEX] BASE HEAD``
(asv builds each commit's wheel, installs it with its dependencies, and runs the two
commits' rounds in turn, base, head, base, head, with their raw samples; ``--separate``:
``asv run --record-samples --skip-existing-successful <commit>^!`` for each instead, which
keeps results already stored), then ``asv compare --factor FACTOR BASE HEAD``, and reads
its table:

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
  reported as drift of the machine, never as a regression, and the absolute figures of
  the compute suites (times, times per replica-step) are divided by the median drift of
  the baselines before they are judged (on a shared machine whole runs go 25% faster or
  slower with the load) and must then exceed ``ABSOLUTE_FACTOR`` (1.3) too; the ratios to
  the baseline are timed interleaved, need no correction, and are judged on the factor.

Exit status: 0 when nothing regressed, 1 on a regression, 2 when asv failed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass

#: Figures where larger is better: asv compare marks their increase "+".
HIGHER_IS_BETTER = ("track_speedup", "track_gain", "track_samples_per_core_second",
                    "track_dgemm_gflops")  # fmt: skip
#: Suites that measure the machine (NumPy, its BLAS), not the package.
MACHINE_SUITES = ("benchmark_numpy_baselines.",)
#: Suites of compute kernels, whose absolute times are corrected for the machine's drift.
CORRECTED_SUITES = ("benchmark_rbm.", "benchmark_teacher_student.", "benchmark_deep_linear.",
                    "benchmark_large_n.")  # fmt: skip
DEFAULT_FACTOR = 1.2
#: The least factor of an absolute figure of a compute suite, once divided by the machine's
#: drift: two runs of identical code differed by up to 1.24x so (the ratios to the baseline,
#: timed interleaved, by up to 1.12x, and are judged on the factor).
ABSOLUTE_FACTOR = 1.3
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


def _larger_is_worse(name: str) -> bool:
    return not any(f".{figure}" in name for figure in HIGHER_IS_BETTER)


def machine_drift(rows: list[Row]) -> dict[str, float]:
    """How much slower the machine ran the NumPy baselines after than before: the median
    after / before of the baselines' ``time_*`` rows and of their ``track_*`` rows.

    Parameters
    ----------
    rows : list of Row

    Returns
    -------
    dict
        ``"time"`` and ``"track"`` (each only when such baseline rows have a ratio).
    """
    ratios: dict[str, list[float]] = {}
    for row in rows:
        if (row.name.startswith(MACHINE_SUITES) and row.ratio is not None
                and _larger_is_worse(row.name)):  # fmt: skip
            ratios.setdefault("time" if ".time_" in row.name else "track", []).append(row.ratio)
    return {kind: statistics.median(values) for kind, values in ratios.items()}


def classify(rows: list[Row], factor: float = DEFAULT_FACTOR) -> dict[str, list]:
    """Sort the rows into regressions, improvements and drift of the machine.

    - ``!`` (failed after, not before) is a regression.
    - A NumPy baseline that changed beyond the factor is drift of the machine.
    - An absolute figure of a compute suite (a ``time_*`` or a time per replica-step of
      ``CORRECTED_SUITES``) is judged on its ratio divided by the machine's drift
      (:func:`machine_drift`, ``time_*`` by ``time_*``, ``track_*`` by ``track_*``): the
      same machine running everything 25% faster during the second run must not hide a
      30% slower kernel, nor a slower machine pass for a regression. A change asv found
      within the noise of its samples ("~") is not counted.
    - Any other figure (the ratios to the baseline, which are timed interleaved and need no
      correction; the store's; figures with no baseline run) by asv's mark.

    A change counts when it exceeds the benchmark's factor (:func:`factor_for`), in the
    direction that is worse for that figure (larger, except ``HIGHER_IS_BETTER``).

    Parameters
    ----------
    rows : list of Row
        From :func:`parse_compare` of an ``asv compare --factor factor`` output.
    factor : float
        The default factor (the one asv compare was given).

    Returns
    -------
    dict
        ``"regressions"``, ``"improvements"``, ``"machine"``: lists of (Row, change) with
        change the ratio judged (after / before, corrected for the machine where it
        applies); ``"drift"``: the result of :func:`machine_drift`.
    """
    drift = machine_drift(rows)
    out = {"regressions": [], "improvements": [], "machine": [], "drift": drift}
    for row in rows:
        if row.mark == "!":
            out["regressions"].append((row, None))
            continue
        if row.ratio is None or row.mark == "x":
            continue
        kind = "time" if ".time_" in row.name else "track"
        absolute = row.name.startswith(CORRECTED_SUITES) and (
            kind == "time" or ".track_us_per_replica_step" in row.name)
        if row.name.startswith(MACHINE_SUITES):
            change = row.ratio if row.mark in ("+", "-") else 1.0
            bucket = "machine"
        elif absolute and kind in drift:
            if not row.significant:
                continue
            change = row.ratio / drift[kind]
            if max(change, 1.0 / change) <= max(factor_for(row.name, factor), ABSOLUTE_FACTOR):
                continue
            bucket = None
        elif row.mark in ("+", "-"):
            change = row.ratio
            bucket = None
        else:
            continue
        if max(change, 1.0 / change) <= factor_for(row.name, factor):
            continue
        if bucket is None:
            worse = (change > 1.0) == _larger_is_worse(row.name)
            bucket = "regressions" if worse else "improvements"
        out[bucket].append((row, change))
    return out


def report(result: dict) -> str:
    """A short text of :func:`classify`'s result."""
    titles = {"regressions": "Regressions", "improvements": "Improvements",
              "machine": "The machine changed (NumPy baselines; not the package)"}  # fmt: skip
    lines = []
    drift = result.get("drift", {})
    if drift:
        lines.append("The machine ran the NumPy baselines "
                     + ", ".join(f"{kind}_* {ratio:.2f}x" for kind, ratio in drift.items())
                     + " as long after as before (absolute figures are divided by it)")
    for key, title in titles.items():
        if result[key]:
            lines.append(f"{title}: (judged ratio, asv's ratio, before -> after)")
            for row, change in result[key]:
                judged = "failed" if change is None else f"{change:.2f}"
                ratio = "n/a" if row.ratio is None else f"{row.ratio:.2f}"
                lines.append(f"  {judged:>6} {ratio:>6}  {row.before:>14} -> {row.after:<14}"
                             f" {row.name}")  # fmt: skip
    if result["machine"]:
        lines.append("(the baselines moved: rerun on a quieter machine to be sure)")
    lines.append(f"{len(result['regressions'])} regression(s), "
                 f"{len(result['improvements'])} improvement(s)")  # fmt: skip
    return "\n".join(lines)


def _asv(args: list[str], capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m asv ARGS`` (its output shown, or captured when ``capture``)."""
    command = [sys.executable, "-m", "asv", *args]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, text=True, stdout=subprocess.PIPE if capture else None)


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
    parser.add_argument("--separate", action="store_true",
                        help="asv run each commit in turn, keeping results already stored, "
                             "instead of asv continuous with interleaved rounds")  # fmt: skip
    args = parser.parse_args(argv)
    bench = [f"--bench={b}" for b in args.bench]
    if not args.no_run and args.separate:
        for commit in (args.base, args.head):
            # --record-samples: asv compare's Mann-Whitney test needs the raw samples.
            run = ["run", "--show-stderr", "--record-samples", "--skip-existing-successful",
                   f"{commit}^!", *bench]  # fmt: skip
            if _asv(run).returncode not in (0, 2):  # 2: some benchmark failed
                return 2
    elif not args.no_run:
        # Both commits, their rounds interleaved (base, head, base, head): a change of the
        # machine's load during the run falls on both. Its exit status is 1 when it found a
        # change; the verdict is ours, from asv compare below.
        run = ["continuous", "--show-stderr", "--interleave-rounds", f"--factor={args.factor}",
               *bench, args.base, args.head]  # fmt: skip
        if _asv(run).returncode not in (0, 1, 2):
            return 2
    compared = _asv(["compare", f"--factor={args.factor}", args.base, args.head], capture=True)
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
