"""Validation of RBMConfig: every rule, with a message naming field, value and rule."""

import json

import numpy as np
import pytest

import dysonlearn as dl


def problems_of(**kwargs):
    with pytest.raises(dl.ConfigError) as err:
        dl.RBMConfig(**kwargs)
    assert isinstance(err.value, ValueError)
    return str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("lr", 0.0, "must be a finite number > 0"),
        ("lr", -0.1, "must be a finite number > 0"),
        ("lr", float("nan"), "must be a finite number > 0"),
        ("lr", "0.1", "must be a finite number > 0"),
        ("batch_size", 0, "must be an integer >= 1"),
        ("batch_size", 2.5, "must be an integer >= 1"),
        ("k", 0, "must be an integer >= 1"),
        ("steps", 0, "must be an integer >= 1"),
        ("mu", 0.0, "must be a finite number > 0"),
        ("sigma_h", -1.0, "must be a finite number > 0"),
        ("n_hidden", 0, "must be an integer >= 1"),
        ("snapshots", 0, "must be an integer in [1, steps]"),
        ("snapshots", 200, "must be an integer in [1, steps]"),
        ("snapshots", (10, 5), "must be strictly increasing"),
        ("snapshots", (10, 500), "every step must lie in [0, steps]"),
        ("snapshots", (), "must be a non-empty list of integer steps"),
        ("init", "xavier", "must be one of 'normal', 'mp_geometric', 'mp_hidden'"),
        ("target_mode", "exact", "must be one of 'analytic', 'sampled'"),
        ("chain_init", "random", "must be one of"),
        ("init_std", 0.0, "must be a finite number > 0"),
    ],
)
def test_each_invalid_field_is_named_with_value_and_rule(field, value, rule):
    text = problems_of(**{"steps": 100, field: value})
    line = next(line for line in text.splitlines() if line.startswith(f"{field}:"))
    assert rule in line
    shown = list(value) if isinstance(value, tuple) else value
    assert repr(shown) in line or repr(value) in line


def test_all_problems_are_reported_together():
    with pytest.raises(dl.ConfigError) as err:
        dl.RBMConfig(lr=-1, k=0, batch_size=0)
    assert [p.split(":")[0] for p in err.value.problems] == ["k", "lr", "batch_size"]


def test_target_must_match_n_visible():
    text = problems_of(n_visible=8, target=dl.targets.free_scalar(n=10, m=2.0))
    assert "target: must have n_visible = 8 modes" in text
    assert "target: must be a dysonlearn.targets.Target" in problems_of(target=np.eye(10))


def test_initialisation_must_start_below_mu_squared():
    # sigma_w^2 (sqrt(10) + sqrt(10))^2 = 40 sigma_w^2 < 9 needs sigma_w < 0.474 :eq:`rbm-kernel`.
    dl.RBMConfig(init_std=0.47)
    text = problems_of(init_std=0.48)
    assert "init_std:" in text and "Marchenko-Pastur edge" in text and "0.48" in text
    # mp_hidden: sigma_w^2 = s^2 / N_h, edge s^2 (1 + sqrt(N_v / N_h))^2 = 4 s^2 < 9.
    assert "init_scale:" in problems_of(init="mp_hidden", init_scale=1.55)
    dl.RBMConfig(init="mp_hidden", init_scale=1.45)


def test_init_schemes_set_the_weight_variance():
    assert dl.RBMConfig(init_std=0.1).init_variance == pytest.approx(0.01)
    cfg = dl.RBMConfig(n_visible=10, n_hidden=40, init="mp_geometric", init_scale=0.5)
    assert cfg.init_variance == pytest.approx(0.25 / 20)
    cfg = dl.RBMConfig(n_visible=10, n_hidden=40, init="mp_hidden", init_scale=0.5)
    assert cfg.init_variance == pytest.approx(0.25 / 40)


def test_snapshot_steps():
    assert dl.RBMConfig(steps=100, snapshots=5).snapshot_steps.tolist() == [0, 20, 40, 60, 80, 100]
    assert dl.RBMConfig(steps=7, snapshots=3).snapshot_steps.tolist() == [0, 2, 4, 7]
    assert dl.RBMConfig(steps=100, snapshots=[10, 100]).snapshot_steps.tolist() == [0, 10, 100]
    assert dl.RBMConfig(steps=100, snapshots=[0, 100]).snapshot_steps.tolist() == [0, 100]


def test_defaults_are_the_reference_configuration():
    cfg = dl.RBMConfig()
    assert (cfg.n_visible, cfg.n_hidden, cfg.mu, cfg.sigma_h, cfg.k) == (10, 10, 3.0, 1.0, 3)
    assert (cfg.init_std, cfg.chain_init, cfg.target_mode) == (0.1, "ones", "analytic")
    assert cfg.target == dl.targets.free_scalar(n=10, m=2.0)


def test_round_trip_through_a_dict_and_frozen():
    cfg = dl.RBMConfig(lr=0.05, snapshots=[5, 10], steps=10, target_mode="sampled")
    assert dl.RBMConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(dl.ConfigError, match="lr_rate: unknown field"):
        dl.RBMConfig.from_dict({**cfg.to_dict(), "lr_rate": 1})
    with pytest.raises(AttributeError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.replace(lr=0.2).lr == 0.2


def test_unlearnable_target_is_refused_once():
    # x* = mu^2 - kappa must be > 0 :eq:`rbm-kernel`: a target at or above mu^2 = 9 cannot be
    # learnt.
    for top in (12.0, 9.0):
        with pytest.raises(dl.ConfigError) as err:
            dl.RBMConfig(n_visible=2, target=dl.targets.from_spectrum([1.0, top]))
        assert len(err.value.problems) == 1
        assert err.value.problems[0].startswith("target: every eigenvalue kappa must be below")
        assert "mu^2 = 9" in err.value.problems[0] and f"the largest is {top:g}" in str(err.value)
    dl.RBMConfig(n_visible=2, target=dl.targets.from_spectrum([1.0, 8.99]))


def test_numpy_values_are_stored_as_python_numbers():
    cfg = dl.RBMConfig(
        n_visible=np.int64(10), lr=np.float32(0.1), batch_size=np.int64(8), k=np.int32(3),
        snapshots=np.array([10, 100]), steps=np.int64(100),
    )  # fmt: skip
    assert type(cfg.n_visible) is int and type(cfg.k) is int and type(cfg.lr) is float
    assert cfg.lr == float(np.float32(0.1)) and cfg.snapshots == (10, 100)
    json.dumps(cfg.to_dict())
    assert dl.RBMConfig.from_dict(cfg.to_dict()) == cfg


def test_memory_estimates():
    cfg = dl.RBMConfig(n_visible=10, n_hidden=20, batch_size=16, steps=100, snapshots=5)
    assert cfg.n_snapshots == 6 == cfg.snapshot_steps.size
    assert cfg.result_bytes_per_replica == 8 * 6 * 10 + 16
    assert cfg.state_bytes_per_replica == 8 * (20 * 10 + 16 * 10)
    assert cfg.bytes_for_one_replica == (
        cfg.shared_bytes + cfg.state_bytes_per_replica + cfg.result_bytes_per_replica
    )
    assert dl.RBMConfig(steps=100, snapshots=[10, 100]).n_snapshots == 3
    assert dl.RBMConfig(steps=100, snapshots=[0, 100]).n_snapshots == 2


def test_rbm_config_and_the_array_api_share_one_default_sampler():
    # Two defaults that differ are a trap for users of the array API (issue 11, item 4).
    from dysonlearn import kernels

    import inspect

    assert inspect.signature(dl.RBMConfig).parameters["sampler"].default == "auto"
    assert kernels.RBM_DEFAULT_SAMPLER == "auto"
    # ... and "auto" resolves alike in both: collapsed at the reference sizes.
    assert dl.RBMConfig().sampler == "collapsed"


# Sizes and what "auto" picks there, for the ensemble (which may train in the target's
# eigenbasis) and for the array API (which is given the visible basis: "collapsed" or
# "gibbs"). The reference configuration (N = 10, B = 16, k = 3) and the fingerprinted ones
# (N = 4, N_h = 4 or 6, B = 5, k = 2) keep the collapsed sampler they used before "auto"
# existed; beyond N = 42 at B = 16, k = 3 the explicit sweeps are cheaper (measured crossover
# between N = 40 and 50, see docs/guide/performance.rst).
AUTO_CHOICES = [
    (dict(), "collapsed", "collapsed"),
    (dict(n_visible=4, n_hidden=4, batch_size=5, k=2), "collapsed", "collapsed"),
    (dict(n_visible=4, n_hidden=6, batch_size=5, k=2), "collapsed", "collapsed"),
    (dict(n_visible=30, n_hidden=30), "collapsed", "collapsed"),
    (dict(n_visible=42, n_hidden=42), "collapsed", "collapsed"),
    (dict(n_visible=44, n_hidden=44), "gibbs-eigen", "collapsed"),
    (dict(n_visible=45, n_hidden=45), "gibbs-eigen", "gibbs"),
    (dict(n_visible=100, n_hidden=100), "gibbs-eigen", "gibbs"),
    (dict(n_visible=100, n_hidden=100, batch_size=256), "collapsed", "collapsed"),
    (dict(n_visible=100, n_hidden=50), "gibbs-eigen", "gibbs"),
    (dict(n_visible=50, n_hidden=100), "collapsed", "collapsed"),  # the cubes are N_v^3
]


@pytest.mark.parametrize(("fields", "expected", "array_api"), AUTO_CHOICES)
def test_auto_sampler_resolves_to_the_cheapest_and_records_it(fields, expected, array_api):
    from dysonlearn import kernels
    from dysonlearn.config import rbm_sampler_cost

    init = dict(init="mp_geometric") if fields.get("n_visible", 10) > 10 else {}
    cfg = dl.RBMConfig(**fields, **init, steps=10)
    assert cfg.sampler == expected
    nv, nh, nb, k = cfg.n_visible, cfg.n_hidden, cfg.batch_size, cfg.k
    costs = {s: rbm_sampler_cost(nv, nh, nb, k, s) for s in ("collapsed", "gibbs", "gibbs-eigen")}
    assert min(costs, key=costs.get) == expected
    visible = {s: costs[s] for s in ("collapsed", "gibbs")}
    assert min(visible, key=visible.get) == array_api
    # The record names the sampler used; it equals a configuration that names it.
    assert cfg.to_dict()["sampler"] == expected
    assert dl.RBMConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg == dl.RBMConfig(**fields, **init, steps=10, sampler=expected)
    # The array API resolves "auto" among the visible-basis samplers (its normals count
    # follows the sampler).
    assert kernels.rbm_normals_per_step(nv, nh, nb, k) == kernels.rbm_normals_per_step(
        nv, nh, nb, k, sampler=array_api)


def test_auto_sampler_under_adam_stays_in_the_visible_basis():
    # Adam scales each weight on its own: it does not commute with rotating W, so "auto"
    # never picks "gibbs-eigen" for it, and asking for it is refused, naming the rule.
    grow = dict(n_visible=100, n_hidden=100, init="mp_geometric", steps=10)
    assert dl.RBMConfig(**grow).sampler == "gibbs-eigen"
    assert dl.RBMConfig(**grow, optimizer=dl.Momentum(beta=0.5)).sampler == "gibbs-eigen"
    assert dl.RBMConfig(**grow, optimizer=dl.Adam()).sampler == "gibbs"
    assert dl.RBMConfig(**grow, optimizer=dl.AdamW()).sampler == "gibbs"
    with pytest.raises(dl.ConfigError, match=r"sampler: needs an optimiser that commutes with "
                                          r"rotations .* Adam scales each weight"):
        dl.RBMConfig(steps=10, sampler="gibbs-eigen", optimizer=dl.Adam())


def test_replace_resolves_auto_again_but_keeps_a_sampler_asked_for():
    small = dl.RBMConfig(steps=10)
    assert small.sampler == "collapsed"
    grow = dict(n_visible=100, n_hidden=100, init="mp_geometric", target=None)
    large = small.replace(**grow)
    assert large.sampler == "gibbs-eigen"
    assert large.replace(n_visible=10, n_hidden=10, init="normal", target=None).sampler == (
        "collapsed")
    assert dl.RBMConfig(steps=10, sampler="collapsed").replace(**grow).sampler == "collapsed"
    assert dl.RBMConfig(steps=10, sampler="gibbs").replace(steps=20).sampler == "gibbs"


def test_an_old_record_naming_collapsed_loads_equal_to_the_new_default():
    """A store written before "auto" names "collapsed" for the reference configuration: it
    compares equal to today's default, so the store resumes."""
    record = dl.RBMConfig(steps=10).to_dict()
    record["sampler"] = "collapsed"
    assert dl.RBMConfig.from_dict(record) == dl.RBMConfig(steps=10)
    assert dl.RBMConfig(steps=10).to_dict() == record
