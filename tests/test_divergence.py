"""Divergence in every model (issue 10, section 4): flagged in the kernels, skipped and counted
by the summary, the fits, the Markdown and the figures."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest

import dysonlearn as dl
from dysonlearn import analysis, kernels, plots, report
from dysonlearn.models import dyson as dyson_model
from dysonlearn.models import teacher_student as ts_model

TS, DY = dl.TeacherStudentConfig, dl.DysonConfig


def run(config, replicas=64, seed=1):
    return dl.run_ensemble(config, replicas=replicas, seed=seed, backend="serial",
                           progress=False)  # fmt: skip


def unvalidated(config, **fields):
    """``config`` with fields set around validation (which refuses them), as a configuration
    read from an old store or built by hand could carry them."""
    for name, value in fields.items():
        object.__setattr__(config, name, value)
    return config


def generators(replicas, seed):
    return [np.random.SFC64(s) for s in np.random.SeedSequence(seed).spawn(replicas)]


# --- the kernels flag what leaves the region of meaningful dynamics -------------------------

# Valid settings (lr < 2) where lr lambda_max(C_B) > 2 is frequent enough that the dynamics
# expand for some replicas: about half have crossed the escape bound by the last step.
TS_DIVERGING = {
    "explicit": TS(lr=1.95, batch_size=1, sampler="explicit", steps=45, snapshots=4),
    "wishart": TS(lr=1.9, batch_size=2, steps=90, snapshots=4),
    "reference": TS(
        lr=1.9,
        batch_size=2,
        protocol="reference",
        dataset_size=40,
        dataset_shared=False,
        steps=55,
        snapshots=5,
    ),
}


@pytest.mark.parametrize("name", sorted(TS_DIVERGING))
def test_teacher_student_replicas_fail_at_the_first_step_beyond_the_bound(name):
    """fail_step is exactly the first step at which max |W_ij| exceeds the escape bound, found
    by stepping the same replicas one step at a time without a bound (the bound changes no
    arithmetic, so both runs follow the same paths); survivors stay finite and inside."""
    config, replicas, seed = TS_DIVERGING[name], 48, 11
    bound = ts_model.escape_bound(config)
    snaps = config.snapshot_steps

    def start():
        gens = generators(replicas, seed)
        shared = np.random.default_rng(seed)
        state = ts_model.initial_state(config, [np.random.Generator(g) for g in gens], shared)
        return state, gens

    state, gens = start()
    eigenvalues = np.full((replicas, snaps.size, config.n_modes), np.nan)
    failed, fail_step = np.zeros(replicas, np.uint8), np.full(replicas, -1, np.int64)
    ts_model.advance(config, state, gens, 0, config.steps, snaps, eigenvalues, failed,
                     fail_step)  # fmt: skip

    oracle, oracle_gens = start()
    first = np.full(replicas, -1)
    for t in range(1, config.steps + 1):
        kernels.teacher_student(
            oracle.weights, oracle.teachers, oracle_gens, lr=config.lr, noise=config.noise,
            batch_size=config.batch_size, start=t - 1, stop=t, sampler=config.sampler,
            dataset=oracle.dataset, shuffle=config.shuffle,
        )  # fmt: skip
        out = ~np.all(np.abs(oracle.weights) <= bound, axis=(1, 2))
        first[out & (first < 0)] = t

    assert 0 < failed.sum() < replicas  # a known fraction: the oracle's
    np.testing.assert_array_equal(failed.astype(bool), first >= 0)
    np.testing.assert_array_equal(fail_step, first)
    assert np.all((fail_step[failed == 1] >= 1) & (fail_step[failed == 1] <= config.steps))
    alive = failed == 0
    assert np.all(np.isfinite(state.weights[alive]))
    assert np.all(np.abs(state.weights[alive]) <= bound)
    assert np.all(np.isfinite(eigenvalues[alive]))
    for r in np.flatnonzero(failed):  # spectra up to the failure, NaN after it
        before = snaps < fail_step[r]
        assert np.all(np.isfinite(eigenvalues[r, before]))
        assert np.all(np.isnan(eigenvalues[r, ~before]))


def test_teacher_student_divergence_through_run_ensemble():
    config = TS_DIVERGING["explicit"]
    res = run(config)
    assert 0 < res.failed.sum() < res.n_replicas
    assert np.all((res.fail_step[res.failed] >= 1) & (res.fail_step[res.failed] <= config.steps))
    assert np.all(res.fail_step[~res.failed] == -1)
    assert np.all(np.isfinite(res.eigenvalues[~res.failed]))
    assert np.all(np.abs(res.eigenvalues[~res.failed]) <= ts_model.escape_bound(config))


def test_dyson_rbm_drift_replicas_that_reach_mu_squared_are_flagged():
    """A valid (lr c < 2) RBM-drift setting whose noise carries some levels to mu^2
    :eq:`rbm-kernel`."""
    config = DY(kappa=(4.0, 4.382, 4.382), drift="rbm", mu=3.0, lr=0.2, batch_size=1,
                noise=3.0, steps=300, snapshots=6)  # fmt: skip
    res = run(config)
    assert 0 < res.failed.sum() < res.n_replicas
    steps = res.fail_step[res.failed]
    assert np.all((steps >= 1) & (steps <= config.steps))
    alive = res.eigenvalues[~res.failed]
    assert np.all(np.isfinite(alive)) and np.all((alive >= 0) & (alive < config.mu**2))
    assert dyson_model.escape_bound(config) is None  # [0, mu^2) is its bound


def test_dyson_linear_bound_catches_an_expanding_drift():
    """lr > 2 (refused by validation, allowed by the array API) multiplies x - kappa by
    |1 - lr| > 1 each step: every replica crosses the bound, at the step an unbounded
    one-step-at-a-time run says it does."""
    replicas, lr, bound = 16, 2.5, 1e4
    kappa = np.array([1.0, 2.0, 2.0])

    def start():
        levels = np.tile(np.array([0.5, 1.0, 3.0]), (replicas, 1))
        return levels, generators(replicas, 5)

    levels, gens = start()
    failed, fail_step = np.zeros(replicas, np.uint8), np.full(replicas, -1, np.int64)
    kernels.dyson(levels, kappa, gens, lr=lr, noise=0.3, batch_size=4, stop=200, failed=failed,
                  fail_step=fail_step, bound=bound)  # fmt: skip
    oracle, oracle_gens = start()
    first = np.full(replicas, -1)
    for t in range(1, 60):
        kernels.dyson(oracle, kappa, oracle_gens, lr=lr, noise=0.3, batch_size=4, start=t - 1,
                      stop=t)  # fmt: skip
        first[(np.abs(oracle).max(axis=1) > bound) & (first < 0)] = t
    assert failed.all()
    np.testing.assert_array_equal(fail_step, first)


def test_configurations_past_validation_diverge_by_the_bound():
    """lr >= 2 built around validation: the adapters' bound (without the stationary width,
    which does not exist there) stops every replica long before overflow."""
    for config, model in [
        (unvalidated(TS(steps=400, snapshots=2), lr=2.5), ts_model),
        (unvalidated(DY(steps=400, snapshots=2), lr=2.5), dyson_model),
    ]:
        bound = model.escape_bound(config)
        assert 1e6 <= bound < 1e8
        gens = generators(8, 2)
        state = model.initial_state(config, [np.random.Generator(g) for g in gens],
                                    np.random.default_rng(2))  # fmt: skip
        snaps = config.snapshot_steps
        eigenvalues = np.full((8, snaps.size, config.n_modes), np.nan)
        failed, fail_step = np.zeros(8, np.uint8), np.full(8, -1, np.int64)
        model.advance(config, state, gens, 0, config.steps, snaps, eigenvalues, failed,
                      fail_step)  # fmt: skip
        assert failed.all() and np.all((fail_step > 1) & (fail_step < 100))
        assert np.all(np.isfinite(model.MODEL.final_state(state)))


def test_escape_bound_scales_with_the_configuration():
    assert ts_model.escape_bound(TS()) == 1e6 * 2.0  # max(1, |kappa|, init, A, width) = 2
    assert ts_model.escape_bound(TS(teacher=(-30.0, 1.0))) == 3e7
    # Near lr = 2 with B = 1 the stationary width :eq:`level-width` exceeds A itself: it sets the
    # scale.
    wide = TS(noise=10.0, lr=1.9, batch_size=1, sampler="explicit")
    assert ts_model.escape_bound(wide) == pytest.approx(1e6 * 10.0 * np.sqrt(1.9 / 0.05))
    assert dyson_model.escape_bound(DY(init_levels=(100.0, -400.0))) == 4e8
    # A stable ensemble never comes near it: the default setting's students stay within a
    # few widths of the teacher, a millionth of the bound.
    res = run(TS(steps=300, snapshots=1), replicas=32)
    assert not res.failed.any() and np.abs(res.eigenvalues).max() < 1e-5 * 2e6


def test_bound_argument_is_checked():
    w, t = np.zeros((1, 2, 2)), np.eye(2)[None]
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="bound"):
            kernels.teacher_student(w, t, [np.random.SFC64(0)], lr=0.1, noise=0.1,
                                    batch_size=4, stop=1, bound=bad)  # fmt: skip
        with pytest.raises(ValueError, match="bound"):
            kernels.dyson(np.zeros((1, 2)), np.ones(2), [np.random.SFC64(0)], lr=0.1,
                          noise=0.1, batch_size=4, stop=1, bound=bad)  # fmt: skip
    variates = np.zeros(kernels.teacher_student_variates_per_step(2, 4))
    far = np.full((2, 2), 10.0)
    assert (
        kernels.teacher_student_step_given_variates(
            far.copy(), np.eye(2), variates, lr=0.1, noise=0.1, batch_size=4, bound=5.0
        )
        == 2
    )
    assert (
        kernels.teacher_student_step_given_variates(
            far.copy(), np.eye(2), variates, lr=0.1, noise=0.1, batch_size=4
        )
        == 0
    )


# --- replicas that do not fail: the same bits as before the bound existed -------------------

# sha256 of eigenvalues.tobytes() + weights.tobytes() (the final state) of 4 replicas, seed 3,
# serial, SFC64, ziggurat normals. These were computed by the code BEFORE the escape bound was
# added (commit b6372a8), so they pin that non-failing replicas are bitwise unchanged by it.
FINGERPRINTS = {
    "ts-wishart-2": "6a4d52bcccd5ec8a88b243cfb41b8f31cf7de042865125427700414abbae2f68",
    "ts-wishart-3": "60d0a0128142d755388d5c3d775a93de9dcc858ab0e3577fb40e59dd23734429",
    "ts-explicit": "0426ca42e791fe8efebe478efd4163b9b38768b584a9a6b026e985033663d004",
    "ts-reference": "6d2b3cff31b5fe018bdb48bd11da2058b7fba100a824484d6d238f37d4391b89",
    "dyson-linear-2": "e518b06a34c406ce73f6199b409d522cc74630999241e93d8db27427378a2b16",
    "dyson-linear-3": "ab4b5a42aeb8f6159dad66d220d4d257678baebcd07ad49d02c4c5472c15a43b",
    "dyson-rbm": "594aa89179c98febd62e7ee07dc85b403b0b182509b12d536f82e6eb5bb9f1ef",
}
FINGERPRINT_CONFIGS = {
    "ts-wishart-2": TS(steps=200, snapshots=2),
    "ts-wishart-3": TS(teacher=(1.0, 2.0, 3.0), batch_size=8, steps=200, snapshots=2),
    "ts-explicit": TS(sampler="explicit", batch_size=4, steps=200, snapshots=2, lr=0.5),
    "ts-reference": TS(
        protocol="reference", batch_size=4, dataset_size=40, steps=200, snapshots=2
    ),
    "dyson-linear-2": DY(steps=200, snapshots=2, lr=1.5),
    "dyson-linear-3": DY(kappa=(1.0, 2.0, 2.0), steps=200, snapshots=2, noise=0.5),
    "dyson-rbm": DY(kappa=(4.0, 4.382, 4.382), drift="rbm", mu=3.0, steps=200, snapshots=2),
}


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_non_failing_replicas_are_bitwise_unchanged(name):
    res = dl.run_ensemble(FINGERPRINT_CONFIGS[name], replicas=4, seed=3, backend="serial",
                          progress=False, keep_weights=True)  # fmt: skip
    assert not res.failed.any()
    digest = hashlib.sha256(res.eigenvalues.tobytes() + res.weights.tobytes()).hexdigest()
    assert digest == FINGERPRINTS[name]


def test_survivors_of_a_diverging_block_equal_an_unbounded_run():
    """Platform-independent form of the same promise: with and without the bound, the
    replicas that do not cross it have the same bits."""
    config = TS_DIVERGING["explicit"]
    out = []
    for bound in (ts_model.escape_bound(config), None):
        gens = generators(32, 4)
        state = ts_model.initial_state(config, [np.random.Generator(g) for g in gens])
        failed = np.zeros(32, np.uint8)
        eig = kernels.teacher_student(
            state.weights, state.teachers, gens, lr=config.lr, noise=config.noise,
            batch_size=1, sampler="explicit", stop=config.steps,
            snapshot_steps=config.snapshot_steps, failed=failed, bound=bound,
        )  # fmt: skip
        out.append((eig, state.weights, failed))
    (eig, w, failed), (eig0, w0, _) = out
    alive = failed == 0
    assert 0 < alive.sum() < 32
    assert eig[alive].tobytes() == eig0[alive].tobytes()
    assert w[alive].tobytes() == w0[alive].tobytes()


# --- the analysis skips diverged replicas and says how many ---------------------------------


def small_rbm(lr):
    """A 4 x 4 RBM (one degenerate pair, kappa = 4, 6, 6, 8): large lr makes it diverge."""
    return dl.RBMConfig(n_visible=4, n_hidden=4, target=dl.targets.free_scalar(4, 2.0), lr=lr,
                        steps=300, snapshots=3)  # fmt: skip


@pytest.fixture(scope="module")
def outcomes():
    """Teacher-student, RBM and Dyson ensembles with none, some and all replicas diverged."""
    return {
        "ts_none": run(TS(steps=600, snapshots=3)),
        "ts_some": run(TS_DIVERGING["explicit"]),
        "ts_all": run(TS(lr=1.95, batch_size=1, sampler="explicit", steps=200, snapshots=4)),
        "rbm_some": run(small_rbm(lr=1.6), replicas=32),
        "rbm_all": run(small_rbm(lr=3.0), replicas=16),
        "dyson_some": run(
            DY(
                kappa=(4.0, 4.382, 4.382),
                drift="rbm",
                mu=3.0,
                lr=0.2,
                batch_size=1,
                noise=3.0,
                steps=300,
                snapshots=3,
            )
        ),
    }


def test_outcomes_are_what_their_names_say(outcomes):
    for name, res in outcomes.items():
        n = int(res.failed.sum())
        expected = {"none": n == 0, "some": 3 <= n <= res.n_replicas - 3,
                    "all": n == res.n_replicas}[name.split("_")[1]]  # fmt: skip
        assert expected, (name, n)


@pytest.mark.parametrize("name", ["ts_some", "rbm_some", "dyson_some"])
def test_summary_of_some_diverged_uses_the_survivors(outcomes, name):
    res = outcomes[name]
    n_failed = int(res.failed.sum())
    point = analysis.summarize(res)
    assert (point["replicas"], point["failed"]) == (res.n_replicas, n_failed)
    assert point["analysed"] == res.n_replicas - n_failed
    survivors = res.eigenvalues[~res.failed, -1, :]
    assert [m["mean"] for m in point["levels"]] == pytest.approx(survivors.mean(axis=0),
                                                                 rel=1e-12)  # fmt: skip
    assert point["fail_steps"]["first"] == res.fail_step[res.failed].min()
    summary = report.build_summary([res], [{}])
    json.loads(json.dumps(summary))
    text = report.markdown(summary)
    assert (f"{res.n_replicas} replicas, {n_failed} diverged and skipped; statistics of "
            f"{res.n_replicas - n_failed} replicas") in text  # fmt: skip


@pytest.mark.parametrize("name", ["ts_all", "rbm_all"])
def test_summary_of_all_diverged_has_no_numbers_and_says_so(outcomes, name):
    res = outcomes[name]
    point = analysis.summarize(res)
    assert (point["failed"], point["analysed"]) == (res.n_replicas, 0)
    assert point["levels"] == [] and point["pairs"] == []
    assert point["note"] == f"{res.n_replicas} replicas, all diverged: no statistics"
    text = report.markdown(report.build_summary([res], [{}]))
    assert f"{res.n_replicas} replicas, all diverged" in text and "no statistics" in text


def test_scan_with_a_dead_point_fits_the_others_and_names_it(outcomes):
    scan = [outcomes["ts_none"], outcomes["ts_some"], outcomes["ts_all"]]
    summary = report.build_summary(scan, [{"point": i} for i in range(3)])
    json.loads(json.dumps(summary))
    assert summary["replicas"] == 192
    assert summary["failed"] == sum(int(r.failed.sum()) for r in scan)
    skipped = summary["scaling"]["skipped_points"]
    assert len(skipped) == 1 and skipped[0]["failed"] == skipped[0]["replicas"] == 64
    # The slopes come from the surviving points alone.
    alone = analysis.scaling_table(scan[:2])
    assert summary["scaling"]["spacing_slope"]["slope"] == alone.spacing_slope.slope
    text = report.markdown(summary)
    assert f"3 points, 192 replicas, {summary['failed']} diverged and skipped." in text
    assert "left out: alpha=1.95, B=1, A=0.1: all 64 replicas diverged" in text


def test_scan_where_everything_diverged(outcomes, tmp_path):
    scan = [outcomes["ts_all"], outcomes["ts_all"]]
    summary = report.build_summary(scan, [{"point": 0}, {"point": 1}])
    scaling = summary["scaling"]
    assert scaling["pairs"] == [] and scaling["spacing_slope"] is None
    text = report.markdown(summary)
    assert text.count("64 replicas, all diverged") == 2
    assert "n/a (no pair to fit)" in text
    written = plots.save_figures(scan, tmp_path)
    assert {p.name for p in written} >= {"histograms_00_lr1.95_B1_A0.1.png",
                                         "teacher_student_scaling.png"}  # fmt: skip


def test_report_past_validation_lr_at_or_above_two(outcomes):
    """The configurations behind issue 10's crashes (ZeroDivisionError at lr = 2, TypeError
    at 2.5): no predicted width exists, so it reads n/a; nothing raises."""
    for lr in (2.0, 2.5):
        res = outcomes["ts_none"]
        res = dataclasses.replace(res, config=unvalidated(TS(steps=600, snapshots=3), lr=lr))
        summary = report.build_summary([res], [{"lr": lr}])
        assert all(m["predicted_width"] is None for m in summary["points"][0]["levels"])
        assert "| n/a |" in report.markdown(summary)
        plots.teacher_student_scaling(res).canvas.draw()


# --- figures ----------------------------------------------------------------------------------


def _titles(fig):
    texts = [ax.get_title() for ax in fig.axes]
    texts += [t.get_text() for ax in fig.axes for t in ax.texts]
    return " ".join(texts + [fig._suptitle.get_text() if fig._suptitle else ""])


@pytest.mark.parametrize("name", ["ts_some", "ts_all", "rbm_some", "rbm_all", "dyson_some"])
def test_every_figure_draws_what_exists(outcomes, name):
    res = outcomes[name]
    n, total = int(res.failed.sum()), res.n_replicas
    figures = [plots.learnt_histograms(res), plots.spacing_figure(res),
               plots.trajectories_figure(res), plots.scaling_figure(res),
               plots.lambda_ratio_figure(res), plots.teacher_student_scaling(res)]  # fmt: skip
    if isinstance(res.config, dl.RBMConfig):
        figures.append(plots.marchenko_pastur_figure(res))
    for fig in figures:
        fig.canvas.draw()
    text = " ".join(_titles(fig) for fig in figures)
    if n == total:
        assert f"all {total} replicas diverged" in text
    else:
        assert f"{total - n} of {total} replicas ({n} diverged)" in text


# --- one status enum; LAPACK's info is checked, not discarded --------------------------------


def test_status_enum_maps_to_failed_and_fail_step():
    """Each failed replica's Status is written beside failed = 1 and fail_step; survivors keep
    failed = 0, fail_step = -1 and their status entry untouched."""
    assert [s.name for s in kernels.Status] == ["OK", "NONFINITE", "ESCAPED", "LAPACK_FAILED"]
    assert [int(s) for s in kernels.Status] == [0, 1, 2, 3]
    n = 2
    weights = np.zeros((4, n, n))
    weights[1, 0, 0] = np.nan   # non-finite at start
    weights[2, 1, 1] = 50.0     # beyond the bound at start
    weights[3] = [[5.0, 0.0], [0.0, 0.0]]  # inside, but the step takes it beyond (lr 1.9)
    teachers = np.stack([np.diag([2.0, 1.0])] * 4)
    teachers[3] = np.diag([40.0, 1.0])
    failed, fail_step = np.zeros(4, np.uint8), np.full(4, -1, np.int64)
    status = np.full(4, 255, np.uint8)
    kernels.teacher_student(weights, teachers, generators(4, 3), lr=1.9, noise=0.0,
                            batch_size=50, stop=3, failed=failed, fail_step=fail_step,
                            bound=10.0, status=status)  # fmt: skip
    assert failed.tolist() == [0, 1, 1, 1]
    assert fail_step.tolist() == [-1, 0, 0, 1]
    assert status.tolist() == [255, kernels.Status.NONFINITE, kernels.Status.ESCAPED,
                               kernels.Status.ESCAPED]  # fmt: skip
    # The RBM: an unstable W (max eigenvalue of W^T W >= mu^2) escapes :eq:`rbm-kernel`.
    W = np.stack([np.zeros((3, 3)), 4.0 * np.eye(3)])
    failed, fail_step = np.zeros(2, np.uint8), np.full(2, -1, np.int64)
    status = np.zeros(2, np.uint8)
    kernels.rbm_pcd(W, np.ones((2, 4, 3)), generators(2, 1), np.eye(3), lr=0.01, mu=3.0,
                    stop=2, failed=failed, fail_step=fail_step, status=status)  # fmt: skip
    assert (failed.tolist(), fail_step.tolist()) == ([0, 1], [-1, 0])
    assert status.tolist() == [kernels.Status.OK, kernels.Status.ESCAPED]
    with pytest.raises(ValueError, match="status"):
        kernels.dyson(np.ones((2, 2)), np.ones(2), generators(2, 1), lr=0.1, noise=0.1,
                      batch_size=1, stop=1, status=np.zeros(3, np.uint8))  # fmt: skip


@pytest.mark.parametrize("sampler", ["collapsed", "gibbs", "gibbs-eigen"])
@pytest.mark.parametrize("n", [3, 40])  # below and above the segments' SEGMENT_MIN_N
def test_rbm_check_tells_a_non_finite_w_from_one_whose_trace_overflows(sampler, n):
    """The check's sum of squares (tr X) is finite exactly when W is, unless it overflows:
    W with an entry of 1e200 is finite, tr X = inf, and it escapes (max x >= mu^2) rather
    than being called non-finite; NaN and infinity are non-finite, wherever they sit."""
    weights = np.zeros((5, n, n))
    weights[1, 0, 0] = 1e200
    weights[2, n - 1, n - 1] = np.nan   # the last entry: at n = 3, past the groups of four
    weights[3, 1, 0] = -np.inf
    weights[4, n // 2, 0] = np.inf
    failed, fail_step = np.zeros(5, np.uint8), np.full(5, -1, np.int64)
    status = np.zeros(5, np.uint8)
    kernels.rbm_pcd(weights, np.ones((5, 4, n)), generators(5, 2), np.eye(n), lr=0.01, mu=3.0,
                    stop=2, failed=failed, fail_step=fail_step, status=status,
                    sampler=sampler)  # fmt: skip
    assert failed.tolist() == [0, 1, 1, 1, 1] and fail_step.tolist() == [-1, 0, 0, 0, 0]
    S = kernels.Status
    assert status.tolist() == [S.OK, S.ESCAPED, S.NONFINITE, S.NONFINITE, S.NONFINITE]


@pytest.mark.parametrize("n, expected", [(2, "NONFINITE"), (3, "LAPACK_FAILED"),
                                         (4, "LAPACK_FAILED")])  # fmt: skip
def test_a_failed_snapshot_spectrum_flags_the_replica_instead_of_recording_garbage(n, expected):
    """The reference protocol's spectrum (singular values from W^T W) of a finite W whose
    W^T W overflows: dsyevd returns info != 0 (n > 2) or NaN (n = 2). Before the shared
    driver the info was discarded and the NaN clipped to 0: zeros were recorded as the
    spectrum of a replica that counted as alive."""
    weights = np.full((2, n, n), 1e200)
    weights[0] = np.eye(n)
    n_points = 4
    inputs = np.random.default_rng(0).normal(size=(1, n_points, n))
    point_noise = np.zeros((1, n_points, n * (n + 1) // 2))
    order = np.tile(np.arange(n_points, dtype=np.int32), (2, 1))
    failed, fail_step = np.zeros(2, np.uint8), np.full(2, -1, np.int64)
    status = np.zeros(2, np.uint8)
    eig = kernels.teacher_student(
        weights, np.stack([np.eye(n)] * 2), generators(2, 5), lr=0.0, noise=0.0, batch_size=2,
        stop=2, snapshot_steps=[0, 2], failed=failed, fail_step=fail_step, status=status,
        dataset=(inputs, point_noise, np.zeros(2, np.int64), order),
    )  # fmt: skip
    assert failed.tolist() == [0, 1] and fail_step.tolist() == [-1, 0]
    assert status.tolist() == [kernels.Status.OK, kernels.Status[expected]]
    np.testing.assert_allclose(eig[0], 1.0)
    assert np.all(np.isnan(eig[1]))


def test_a_failed_eigenproblem_in_a_dyson_step_is_lapack_failed():
    """N > 2 levels take dsyevd every step: a NaN noise strength makes M all NaN, LAPACK
    reports failure, and the replica is flagged with LAPACK_FAILED at that step."""
    levels = np.tile([0.5, 1.0, 1.5], (1, 1))
    failed, fail_step = np.zeros(1, np.uint8), np.full(1, -1, np.int64)
    status = np.zeros(1, np.uint8)
    eig = kernels.dyson(levels, np.array([1.0, 2.0, 3.0]), generators(1, 2), lr=0.1,
                        noise=np.nan, batch_size=4, stop=3, snapshot_steps=[0, 3],
                        failed=failed, fail_step=fail_step, status=status)  # fmt: skip
    assert (failed.tolist(), fail_step.tolist()) == ([1], [1])
    assert status.tolist() == [kernels.Status.LAPACK_FAILED]
    np.testing.assert_array_equal(eig[0, 0], [0.5, 1.0, 1.5])
    assert np.all(np.isnan(eig[0, 1]))


# --- the RBM's divergence check: bounds first, the exact test when they fail (issue 15) ------

from dysonlearn._core import rbm as _rbm_core  # noqa: E402


@pytest.fixture
def check_mode():
    """Set the RBM kernel's check mode for one test (restored after it)."""
    old = _rbm_core._set_check_mode("bounds")
    yield _rbm_core._set_check_mode
    _rbm_core._set_check_mode(old)


def rbm_arrays(config, replicas, seed):
    res = dl.run_ensemble(config, replicas=replicas, seed=seed, backend="serial",
                          progress=False, keep_weights=True)  # fmt: skip
    return res.eigenvalues, res.weights, res.failed, res.fail_step


# Configurations where some replicas diverge and others do not, for both samplers, with the
# bounds deciding most steps (small weights: the trace bound; near the learnt state at
# N = 10: Gershgorin) or none (N = 40, where the learnt trace is ~ 100 mu^2 and no row sum
# stays below mu^2), and with momentum (an update that is not SGD's).
RBM_CHECK_CASES = {
    "small-collapsed": (small_rbm(lr=1.6), 32),
    "small-gibbs": (small_rbm(lr=1.6).replace(sampler="gibbs"), 32),
    "reference-collapsed": (dl.RBMConfig(lr=0.4, batch_size=4, steps=400, snapshots=4), 24),
    "reference-gibbs": (dl.RBMConfig(lr=0.4, batch_size=4, steps=400, snapshots=4,
                                     sampler="gibbs"), 24),
    "momentum-gibbs": (dl.RBMConfig(lr=0.2, batch_size=4, steps=300, snapshots=3,
                                    sampler="gibbs", optimizer=dl.Momentum(beta=0.5)), 16),
    "n40-auto": (dl.RBMConfig(n_visible=40, n_hidden=40, init="mp_geometric", lr=0.6,
                              batch_size=4, steps=120, snapshots=3), 6),
}


@pytest.mark.parametrize("name", sorted(RBM_CHECK_CASES))
def test_rbm_bounds_flag_exactly_where_the_exact_test_does(name, check_mode):
    """Every array (spectra, weights, failed, fail_step) with the bounds equals the exact
    Cholesky test at every step (the check before issue 15): same flags at the same steps."""
    config, replicas = RBM_CHECK_CASES[name]
    fast = rbm_arrays(config, replicas, seed=4)
    check_mode("exact")
    exact = rbm_arrays(config, replicas, seed=4)
    for a, b in zip(fast, exact, strict=True):
        np.testing.assert_array_equal(a, b)
    if name != "n40-auto":  # (there the point is the large-N path, failures or not)
        assert 0 < exact[2].sum() < replicas, "the case must have failures and survivors"
    # ... and the check has power: without it a diverged replica goes on (and is missed).
    check_mode("finite")
    unchecked = rbm_arrays(config, replicas, seed=4)
    if exact[2].any():
        assert not np.array_equal(unchecked[3], exact[3])


@pytest.mark.parametrize("sampler", ["collapsed", "gibbs"])
@pytest.mark.parametrize("rank", [1, 10])
def test_rbm_check_at_the_edge_of_mu_squared(sampler, rank, check_mode):
    """A state with max x just below mu^2 lives, just above it fails at step 0, in either
    mode: rank 1 puts the trace at the edge (the trace bound is inconclusive there), rank 10
    spreads x over [0.5 x_max, x_max], beyond both bounds."""
    rng = np.random.default_rng(rank)
    q = np.linalg.qr(rng.normal(size=(10, 10)))[0]
    x = np.linspace(1.0, 0.5, rank)
    out = {}
    for mode in ("bounds", "exact"):
        check_mode(mode)
        for rel in (1 - 1e-9, 1 + 1e-9, 1 - 2.0**-11):
            s = np.zeros(10)
            s[:rank] = np.sqrt(9.0 * rel * x)
            W = (q * s) @ q.T
            failed, fail_step = np.zeros(1, np.uint8), np.full(1, -1, np.int64)
            kernels.rbm_pcd(W[None].copy(), np.ones((1, 4, 10)), generators(1, 0),
                            np.eye(10) / 5, lr=1e-9, mu=3.0, k=2, stop=1, sampler=sampler,
                            failed=failed, fail_step=fail_step)  # fmt: skip
            out[mode, rel] = (int(failed[0]), int(fail_step[0]))
    for mode in ("bounds", "exact"):
        assert out[mode, 1 - 1e-9] == (0, -1)
        assert out[mode, 1 - 2.0**-11] == (0, -1)
        assert out[mode, 1 + 1e-9] == (1, 0)


def test_check_mode_is_validated(check_mode):
    with pytest.raises(ValueError, match="mode must be one of"):
        check_mode("sometimes")


# --- segments of unchecked steps with rollback (the default check at large N, issue 15) -----


def dense_state(n, replicas, top, seed, batch=16):
    """(R, N, N) weights whose X = W^T W (sigma_h = 1) has a dense spectrum spread evenly
    over [0.3 x, x] mu^2 (mu = 3), x from top / 2 (first replica) to top (last): the trace
    and Gershgorin bounds fail, so only the exact test decides; chains at 1; the target
    covariance that of the initial model of the last replica."""
    rng = np.random.default_rng(seed)
    weights = np.empty((replicas, n, n))
    for r, x in enumerate(np.linspace(top / 2, top, replicas)):
        q = np.linalg.qr(rng.normal(size=(n, n)))[0]
        o = np.linalg.qr(rng.normal(size=(n, n)))[0]
        weights[r] = (o * np.sqrt(9.0 * np.linspace(0.3 * x, x, n))) @ q.T
    x0 = weights[-1].T @ weights[-1]
    c_target = np.linalg.inv(9.0 * np.eye(n) - x0)
    return weights, np.ones((replicas, batch, n)), c_target


def chunked_run(mode, check_mode, n, replicas, top, lr, optimizer=None, steps=40,
                chunks=(0, 13, 27, 40), seed=0, sampler="gibbs"):
    """The arrays of a run of explicit sweeps in chunks with snapshots at odd steps, under a
    check mode; and the generators' states after it. "gibbs-eigen" runs the same state in
    the eigenbasis of the target covariance."""
    check_mode(mode)
    weights, chains, c_target = dense_state(n, replicas, top, seed)
    if sampler == "gibbs-eigen":
        c, q = np.linalg.eigh(c_target)
        weights, chains, c_target = weights @ q, chains @ q, np.diag(c)
    gens = generators(replicas, seed + 1)
    snaps = [1, 5, 13, 21, 33, steps - 1]
    failed, fail_step = np.zeros(replicas, np.uint8), np.full(replicas, -1, np.int64)
    status = np.zeros(replicas, np.uint8)
    opt_state = (None if optimizer is None
                 else kernels.optimizer_state(optimizer, (n, n), replicas=replicas))  # fmt: skip
    eig = None
    for start, stop in zip(chunks[:-1], chunks[1:]):
        eig = kernels.rbm_pcd(weights, chains, gens, c_target, lr=lr, mu=3.0, k=3,
                              start=start, stop=stop, snapshot_steps=snaps, eigenvalues=eig,
                              sampler=sampler, failed=failed, fail_step=fail_step,
                              status=status, optimizer=optimizer, opt_state=opt_state)  # fmt: skip
    arrays = {"eigenvalues": eig, "weights": weights, "chains": chains, "failed": failed,
              "fail_step": fail_step, "status": status}  # fmt: skip
    if opt_state is not None:
        arrays["opt_state"] = opt_state
    return arrays, [repr(g.state) for g in gens]


def assert_same(a, b):
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_segments_are_the_default_check_mode(check_mode):
    check_mode("exact")
    assert check_mode("segments") == "exact"
    _rbm_core._set_check_mode("bounds")  # (what the fixture restores to)
    old = _rbm_core._set_check_mode("segments")
    assert old == "bounds"


@pytest.mark.parametrize("sampler", ["gibbs", "gibbs-eigen"])
@pytest.mark.parametrize("top", [0.6, 0.95])
def test_segments_equal_the_exact_test_on_stable_runs(top, sampler, check_mode):
    """N = 64, explicit sweeps: segments of 11 steps (rbm_segment_steps), snapshots at odd
    steps, three chunks. Every array and every generator state equals the exact test at
    every step; top = 0.95 starts near the edge (above SEGMENT_EDGE = 7/8): the replicas
    step one at a time until clear of it, and segments that end near it are replayed."""
    fast, fast_gens = chunked_run("segments", check_mode, 64, 3, top, 0.002, sampler=sampler)
    exact, exact_gens = chunked_run("exact", check_mode, 64, 3, top, 0.002, sampler=sampler)
    assert not exact["failed"].any()
    assert_same(fast, exact)
    # A replica alive at stop leaves its generator exactly where step-by-step code does
    # (resume and chunking draw on from there).
    assert fast_gens == exact_gens


@pytest.mark.parametrize(("optimizer", "sampler"),
                         [(None, "gibbs"), (dl.Momentum(beta=0.9), "gibbs"), (dl.Adam(), "gibbs"),
                          (None, "gibbs-eigen")],
                         ids=["sgd", "momentum", "adam", "sgd-eigen"])  # fmt: skip
def test_segments_flag_what_the_exact_test_flags(optimizer, sampler, check_mode):
    """Large learning rates: replicas diverge inside segments, at various steps; the
    rollback replays the segment with the check at every step, so that failed, fail_step,
    status, the weights, chains, optimiser state and generator of the failed replicas and
    every spectrum are those of the exact test at every step."""
    lr = {None: 0.4, "momentum": 0.07, "adam": 0.035}[
        None if optimizer is None else optimizer.to_dict()["kind"]]
    fast, fast_gens = chunked_run("segments", check_mode, 64, 8, 0.6, lr, optimizer,
                                  sampler=sampler)
    exact, exact_gens = chunked_run("exact", check_mode, 64, 8, 0.6, lr, optimizer,
                                    sampler=sampler)
    assert_same(fast, exact)
    failed = exact["failed"] == 1
    assert 0 < failed.sum() < 8, "the case must have failures and survivors"
    # Failures strictly inside a segment (not at a segment's end): the replica had run past
    # the step of its failure, was rolled back (state and generator) and replayed to it.
    ends = segment_ends(11, [1, 5, 13, 21, 33, 39], [0, 13, 27, 40])
    assert any(exact["fail_step"][r] not in ends for r in np.flatnonzero(failed))
    # The replay draws the same normals: every generator, failed replicas' included, is where
    # the check at every step leaves it.
    assert fast_gens == exact_gens


def test_segment_length():
    """Segments only for the explicit sweeps from N_v = 32 in the default mode; at N = 64
    (B = 16, k = 3) 11 steps, the exact test's N^3 + N^3 / 3 flops about 1/32 of theirs
    (11 x 256 N^2); at most 64 steps (N = 1000)."""
    old = _rbm_core._set_check_mode("segments")
    try:
        assert _rbm_core._segment_steps(64, 64, 16, 3) == 11
        assert _rbm_core._segment_steps(1000, 1000, 16, 3) == 64
        assert _rbm_core._segment_steps(300, 300, 16, 3) == 50
        assert _rbm_core._segment_steps(64, 64, 16, 3, "collapsed") == 1
        assert _rbm_core._segment_steps(64, 64, 16, 3, "gibbs-eigen") == 11
        assert _rbm_core._segment_steps(31, 31, 16, 3) == 1
        assert _rbm_core._segment_steps(10, 10, 16, 3) == 1
        for mode in ("bounds", "exact", "finite"):
            _rbm_core._set_check_mode(mode)
            assert _rbm_core._segment_steps(300, 300, 16, 3) == 1
    finally:
        _rbm_core._set_check_mode(old)


def segment_ends(length, snaps, chunks):
    """The steps at which segments of at most `length` steps end, for replicas clear of the
    edge: never past a snapshot nor a chunk's stop (dl_run_segments)."""
    ends = set()
    for start, stop in zip(chunks[:-1], chunks[1:]):
        t = start
        while t < stop:
            t = min([t + length, stop] + [s for s in snaps if s > t])
            ends.add(t)
    return ends
