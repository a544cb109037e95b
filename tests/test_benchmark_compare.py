"""benchmarks/compare.py reads asv compare's table and judges it (no asv run here)."""

import sys
from pathlib import Path

import pytest
from bench_helpers import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
# asv compare's output for two --quick runs of the same package code (6a943e8c, 774b3253:
# only asv.conf.json and tests differ) on a loaded machine: noise marked as changes.
CAPTURED = (ROOT / "tests" / "data" / "asv_compare_quick.txt").read_text()


@pytest.fixture(scope="module")
def compare():
    name = "benchmarks_compare"
    try:
        yield load_benchmark("compare", name)
    finally:
        sys.modules.pop(name, None)


def test_parse_the_captured_table(compare):
    rows = compare.parse_compare(CAPTURED)
    assert len(rows) == 6
    first = rows[0]
    assert first.mark == "+" and first.before == "621±0ms" and first.after == "719±0ms"
    assert first.ratio == 1.16 and first.significant
    assert first.name == "benchmark_teacher_student.DysonStep.time_steps(10, 'kernel')"
    assert [r.mark for r in rows] == ["+", "", "+", "-", "+", "+"]
    assert rows[3].name.endswith("track_time_vs_numpy(2, 'kernel')") and rows[3].ratio == 0.63


def test_the_captured_noise_is_flagged_at_a_factor_of_1_2(compare):
    # --quick gives one sample: asv marks on the ratio alone, and noise looks like changes
    result = compare.classify(compare.parse_compare(CAPTURED), factor=1.2)
    # no baseline ran here, so no drift correction: asv's marks beyond the factor count
    assert len(result["regressions"]) == 3 and len(result["improvements"]) == 1
    # time_steps(10) moved by 1.16 < 1.2: asv marked it, the factor does not let it count
    assert all(row.ratio != 1.16 for row, _ in result["regressions"])
    assert not compare.classify(compare.parse_compare(CAPTURED), factor=2.2)["regressions"]


# The other marks, in asv compare's format: "~" (beyond the factor, within the noise),
# "!" (failed after), "x" (benchmark changed), a larger-is-better figure, a baseline.
SYNTHETIC = """
| Change   | Before [aaaaaaaa] <main>   | After [bbbbbbbb] <pr>   | Ratio   | Benchmark (Parameter)                                   |
|----------|----------------------------|-------------------------|---------|---------------------------------------------------------|
|          | 10.0±0.5ms                 | 13.0±4ms                | ~1.30   | benchmark_rbm.PCDStep.time_pcd(1, 'gibbs', 'SFC64')      |
| !        | 1.00s                      | failed                  | n/a     | benchmark_rbm.OptimizerCost.time_pcd('adam')            |
| x        | 1.00                       | 2.00                    | 2.00    | benchmark_rbm.NormalsFloor.track_us_per_replica_step('ziggurat', 'SFC64') |
| +        | 3.1                        | 4.2                     | 1.35    | benchmark_large_n.RBMLargeN.track_speedup(100, 'auto')   |
| -        | 2.0                        | 1.5                     | 0.75    | benchmark_large_n.DysonLargeN.track_speedup(10, 'kernel') |
| +        | 11.1                       | 15.0                    | 1.35    | benchmark_numpy_baselines.PCDStepNumpy.track_us_per_replica_step(256, 'numpy', 'SFC64') |
| +        | 1.0±0.1ms                  | 1.5±0.1ms               | 1.50    | benchmark_store.CommitBlock.time_commit_block           |
| +        | 100±1ms                    | 130±1ms                 | 1.30    | benchmark_teacher_student.DysonStep.time_steps(2, 'kernel') |
"""


def test_marks_directions_baselines_and_noisy_families(compare):
    rows = compare.parse_compare(SYNTHETIC)
    assert rows[0].ratio == 1.3 and not rows[0].significant and rows[1].ratio is None
    result = compare.classify(rows, factor=1.2)
    names = {key: [r.name.split("(")[0] for r, _ in result[key]]
             for key in ("regressions", "improvements", "machine")}  # fmt: skip
    assert names["regressions"] == [
        "benchmark_rbm.OptimizerCost.time_pcd",  # failed after
        "benchmark_large_n.DysonLargeN.track_speedup",  # a speed-up that fell
        "benchmark_teacher_student.DysonStep.time_steps",
    ]
    assert names["improvements"] == ["benchmark_large_n.RBMLargeN.track_speedup"]
    assert names["machine"] == ["benchmark_numpy_baselines.PCDStepNumpy.track_us_per_replica_step"]
    # CommitBlock (an fsync) needs more than 2x: its 1.5x is not counted anywhere
    assert compare.factor_for("benchmark_store.CommitBlock.time_commit_block") == 2.0
    text = compare.report(result)
    assert "3 regression(s), 1 improvement(s)" in text and "baselines moved" in text
    # one baseline time_* row would give the drift: here only a track_* one, 1.35
    assert result["drift"] == {"track": 1.35}


def test_exit_status(compare, monkeypatch):
    outputs = iter([SYNTHETIC, CAPTURED])

    class Done:
        returncode = 0

        def __init__(self):
            self.stdout = next(outputs)

    monkeypatch.setattr(compare, "_asv", lambda args, capture=False: Done())
    assert compare.main(["main", "HEAD", "--no-run"]) == 1
    # only the DysonStep time_steps rows: 1.16 and 1.07, within the factor
    assert compare.main(["main", "HEAD", "--no-run", "--bench", r"time_steps"]) == 0


def _captured(name):
    return (ROOT / "tests" / "data" / name).read_text()


def test_a_slowed_kernel_is_found_under_a_faster_machine(compare):
    # The kernel 30% slower, the machine ~20% faster during the second run: asv's ratio of
    # time_steps(10) is 1.09, within the factor; divided by the baselines' drift it is 1.35.
    rows = compare.parse_compare(_captured("asv_compare_slowed.txt"))
    result = compare.classify(rows, factor=1.2)
    assert result["drift"]["time"] == pytest.approx((0.87 + 0.75) / 2)
    judged = {row.name: change for row, change in result["regressions"]}
    assert judged["benchmark_teacher_student.DysonStep.time_steps(10, 'kernel')"] == (
        pytest.approx(1.09 / 0.81))
    assert "benchmark_teacher_student.DysonStep.track_time_vs_numpy(10, 'kernel')" in judged


def test_identical_code_gives_no_time_regression(compare):
    # the same package code twice: no time_* figure counts once the drift is taken out
    # (asv itself marked DysonStep.time_steps(2) +1.22)
    rows = compare.parse_compare(_captured("asv_compare_same.txt"))
    marked = [r for r in rows if r.mark == "+" and ".time_" in r.name]
    assert [r.name for r in marked] == ["benchmark_teacher_student.DysonStep.time_steps(2, 'kernel')"]
    result = compare.classify(rows, factor=1.2)
    assert not [row for row, _ in result["regressions"] if ".time_" in row.name]


def test_with_the_current_suites_the_slowed_kernel_fails_and_identical_code_passes(compare):
    # the suites as they are (2 s track windows, 2000-step calls at N = 2), captured runs
    slowed = compare.classify(compare.parse_compare(_captured("asv_compare_slowed_2.txt")))
    judged = {row.name: change for row, change in slowed["regressions"]}
    # the ratios to the baseline, timed interleaved: the 30% slower kernel as 1.29x, 1.33x
    assert judged["benchmark_teacher_student.DysonStep.track_time_vs_numpy(10, 'kernel')"] == 1.29
    assert judged["benchmark_teacher_student.DysonStep.track_time_vs_numpy(2, 'kernel')"] == 1.33
    assert all(name.startswith("benchmark_teacher_student.DysonStep.") for name in judged)
    same = compare.classify(compare.parse_compare(_captured("asv_compare_same_2.txt")))
    assert same["regressions"] == []
