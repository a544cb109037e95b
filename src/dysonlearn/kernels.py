"""Array-level access to the compiled kernels: advance user-owned state in place.

These functions are the one path from Python into ``dysonlearn._core``: ``run_ensemble``
calls them, and so can a custom training loop that wants to change the learning rate
between calls, anneal, or stop on its own criterion while the inner loop stays in C.

Shapes follow the package's axis order (replica, ..., mode): weights (R, N_h, N_v),
chains (R, B, N_v), eigenvalues (R, S, N_v). State arrays must be C-contiguous float64; they are updated in place, never copied.
Randomness: one NumPy BitGenerator (or Generator) per replica; the kernel consumes its
stream in a fixed documented order, so a replica's path depends only on its generator.
Divergence: a replica whose state goes non-finite (or, with ``bound``, leaves the region
where its dynamics are meaningful) is stopped at that step and flagged in ``failed`` /
``fail_step``; later calls skip it and its later snapshots stay NaN.
Standard normals are drawn by ``normal_method``: "ziggurat" (the package's branch-free
ziggurat, ``_core/dl_normal.h``, the default: less than half the cost of NumPy's) or
"numpy" (NumPy's own sampler: the kernel then consumes exactly the stream of
``numpy.random.Generator(bit_generator).standard_normal``).
Optimisers: :func:`rbm_pcd` and :func:`teacher_student` (and their one-step entry points)
take ``optimizer=``, an optimiser of :mod:`dysonlearn.optim` (default SGD), and
``opt_state=``, the replicas' optimiser state, an (R, state size) float64 array updated in
place (:func:`optimizer_state` makes a fresh one). The state is the caller's, like the
weights: a loop that calls again with the same array continues the optimiser, and may
change ``lr`` or the optimiser's hyper-parameters between calls.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np

from ._core import deep_linear as _deep_linear
from ._core import dyson as _dyson
from ._core import random as _random
from ._core import rbm as _rbm
from ._core import spectra as _spectra
from ._core import teacher as _teacher
from .config import resolve_dl_sampler, resolve_rbm_sampler, resolve_ts_sampler
from .optim import SGD, optimizer_from_dict

# Batched spectra in the compiled core (LAPACK over a stack, GIL released): x (R, N, N)
# symmetric -> (R, N); w (R, N, M) -> eigenvalues of w^T w (R, M) or singular values
# (R, min(N, M)); all ascending. SpectrumTracker is built on them.
eigvalsh_batched = _spectra.eigvalsh_batched
gram_eigvalsh_batched = _spectra.gram_eigvalsh_batched
singular_values_batched = _spectra.singular_values_batched

NORMAL_METHODS = ("ziggurat", "numpy")


class Status(enum.IntEnum):
    """Why a replica failed: the kernels' one status enum (``dl_status`` of
    ``_core/status.pxd``), as written into the ``status`` array of :func:`rbm_pcd`,
    :func:`teacher_student` and :func:`dyson` and returned by the ``*_given_*`` steps.

    Attributes
    ----------
    OK
        The replica is alive (``failed`` 0, ``fail_step`` -1).
    NONFINITE
        Its state left the finite numbers (inf or NaN).
    ESCAPED
        Its state left its bound or domain: ``|W_ij| > bound``, the RBM's largest
        eigenvalue of sigma_h^2 W^T W reached mu^2 :eq:`rbm-kernel`, a Dyson level outside [0,
        mu^2).
    LAPACK_FAILED
        LAPACK reported failure (``info != 0``) on its matrix: the spectrum at a snapshot
        or a Dyson step's eigenproblem. The snapshot is left NaN, never filled with garbage.
    """

    OK = _rbm.STATUS["ok"]
    NONFINITE = _rbm.STATUS["nonfinite"]
    ESCAPED = _rbm.STATUS["escaped"]
    LAPACK_FAILED = _rbm.STATUS["lapack_failed"]


def _state_array(name: str, array: np.ndarray, ndim: int, shape_doc: str) -> np.ndarray:
    if (
        not isinstance(array, np.ndarray)
        or array.dtype != np.float64
        or array.ndim != ndim
        or not array.flags.c_contiguous
        or not array.flags.writeable
    ):
        got = (
            f"{array.dtype} array of shape {array.shape}"
            if isinstance(array, np.ndarray)
            else type(array).__name__
        )
        raise ValueError(
            f"{name}: must be a writeable C-contiguous float64 array of shape {shape_doc} "
            f"(it is updated in place), got {got}"
        )
    return array


def bit_generators(generators, replicas: int | None = None) -> list[np.random.BitGenerator]:
    """BitGenerators from a sequence of numpy Generators or BitGenerators (one per replica),
    or from a single one, which then serves all ``replicas`` in turn (replica r draws
    after replica r - 1 in each call: results then depend on how replicas are grouped).

    Parameters
    ----------
    generators : numpy.random.Generator, numpy.random.BitGenerator, or sequence of them
        One per replica, or a single one for all.
    replicas : int, optional
        How many replicas a single generator serves (default 1).

    Returns
    -------
    list of numpy.random.BitGenerator
        One per replica.

    Raises
    ------
    TypeError
        If an entry is not a NumPy Generator or BitGenerator.
    """
    if isinstance(generators, np.random.Generator | np.random.BitGenerator):
        generators = [generators] * (1 if replicas is None else replicas)
    out = []
    for i, g in enumerate(generators):
        if isinstance(g, np.random.Generator):
            g = g.bit_generator
        if not isinstance(g, np.random.BitGenerator):
            raise TypeError(
                f"generators[{i}]: expected a numpy Generator or BitGenerator, got {g!r}"
            )
        out.append(g)
    return out


def standard_normals(generator, n: int, normal_method: str = "ziggurat") -> np.ndarray:
    """n standard normals drawn from one generator exactly as the kernels draw them.

    Parameters
    ----------
    generator : numpy.random.Generator or numpy.random.BitGenerator
        The generator; its state advances.
    n : int
        How many normals.
    normal_method : {"ziggurat", "numpy"}
        The package's ziggurat, or NumPy's own sampler.

    Returns
    -------
    numpy.ndarray
        (n,) float64.

    Raises
    ------
    ValueError
        An unknown ``normal_method``.
    """
    (bit_generator,) = bit_generators([generator])
    _check_normal_method(normal_method)
    return _random.standard_normals(bit_generator, int(n), normal_method)


def _check_normal_method(normal_method: str) -> None:
    if normal_method not in NORMAL_METHODS:
        raise ValueError(
            f"normal_method: must be one of {', '.join(map(repr, NORMAL_METHODS))}, "
            f"got {normal_method!r}"
        )


def optimizer_state(optimizer, weights_shape: Sequence[int], replicas: int | None = None) -> np.ndarray:
    """A fresh (zero) optimiser state for the kernels' ``opt_state`` argument.

    The state of step 0 of every optimiser is zero (torch.optim's buffers start at 0). Per
    replica, with n the number of weights of one replica (N_h N_v for the RBM, N^2 for the
    teacher-student model): momentum keeps v (n doubles, in the order of the flattened
    weights); Adam and AdamW keep m then s (2n doubles); SGD keeps nothing.

    Parameters
    ----------
    optimizer : SGD, Momentum, Adam, AdamW or dict
        The optimiser (or its plain-dict form, ``{"kind": ..., ...}``).
    weights_shape : sequence of int
        The shape of one replica's weights, ``(N_h, N_v)`` or ``(N, N)``; or, with
        ``replicas`` None, of the whole block's weights, ``(R, N_h, N_v)``.
    replicas : int, optional
        R. None: the first entry of ``weights_shape``.

    Returns
    -------
    numpy.ndarray
        (R, state size) float64 zeros; for a single replica (the ``*_given_*`` steps)
        take row 0.

    Raises
    ------
    dysonlearn.errors.ConfigError
        If ``optimizer`` is not an optimiser or a valid plain-dict form of one.
    ValueError
        If ``weights_shape`` or ``replicas`` is malformed.

    Examples
    --------
    >>> from dysonlearn.optim import Adam
    >>> optimizer_state(Adam(), (2, 2), replicas=3).shape
    (3, 8)
    """
    opt = optimizer_from_dict(optimizer)
    shape = tuple(int(d) for d in weights_shape)
    if replicas is None:
        if len(shape) < 2:
            raise ValueError(
                f"weights_shape: without replicas it must be the block's (R, ...), got {shape}"
            )
        replicas, shape = shape[0], shape[1:]
    if int(replicas) < 0 or any(d < 1 for d in shape):
        raise ValueError(
            f"weights_shape, replicas: must be positive sizes, got {shape} and {replicas}"
        )
    return np.zeros((int(replicas), opt.state_size(int(np.prod(shape)))))


def _optimizer(optimizer, opt_state, n_rep: int, n_weights: int, single: bool = False):
    """The optimiser's plain-dict form (None for SGD) and its checked (R, size) state.

    single: the state of one replica, shape (size,) (or (1, size)), for the one-step entry
    points; returned as a (1, size) view of the caller's array.
    """
    if optimizer is None:
        optimizer = SGD()
    opt = optimizer_from_dict(optimizer)
    size = opt.state_size(n_weights)
    shape_doc = f"({size},)" if single else f"({n_rep}, {size})"
    what = f"the {opt.kind} optimizer's state for {n_weights} weights per replica"
    if size == 0:
        if opt_state is not None and np.size(opt_state) != 0:
            raise ValueError(
                f"opt_state: the {opt.kind} optimizer keeps no state: pass None, "
                f"got an array of shape {np.shape(opt_state)}"
            )
        return (None if opt.kind == "sgd" else opt.to_dict()), None
    if opt_state is None:
        raise ValueError(
            f"opt_state: required for the {opt.kind} optimizer: {what}, a float64 array of "
            f"shape {shape_doc} (kernels.optimizer_state makes one)"
        )
    if (
        not isinstance(opt_state, np.ndarray)
        or opt_state.dtype != np.float64
        or not opt_state.flags.c_contiguous
        or not opt_state.flags.writeable
    ):
        got = (
            f"a {opt_state.dtype} array (C-contiguous: {opt_state.flags.c_contiguous}, "
            f"writeable: {opt_state.flags.writeable})"
            if isinstance(opt_state, np.ndarray)
            else type(opt_state).__name__
        )
        raise ValueError(
            f"opt_state: must be a writeable C-contiguous float64 array of shape {shape_doc} "
            f"({what}; it is updated in place), got {got}"
        )
    expected = {(size,), (1, size)} if single else {(n_rep, size)}
    if opt_state.shape not in expected:
        raise ValueError(
            f"opt_state: must have shape {shape_doc} ({what}), got {opt_state.shape}"
        )
    return opt.to_dict(), opt_state.reshape(-1, size)


RBM_SAMPLERS = ("gibbs", "collapsed", "gibbs-eigen", "auto")


RBM_DEFAULT_SAMPLER = "auto"
"""The RBM sampler of the array API when none is given: the same as ``RBMConfig``'s."""


def _ts_sampler(sampler, n, batch_size, reference=False):
    """``sampler`` with "auto" resolved (:func:`~dysonlearn.config.resolve_ts_sampler`); the
    kernel checks the names and sizes."""
    if sampler != "auto":
        return sampler
    protocol = "reference" if reference else "fresh"
    return resolve_ts_sampler(int(n), int(batch_size), protocol)


def _rbm_sampler(sampler, n_visible, n_hidden, batch_size, k) -> str:
    """``sampler`` checked, "auto" resolved (:func:`~dysonlearn.config.resolve_rbm_sampler`)."""
    if not isinstance(sampler, str) or sampler not in RBM_SAMPLERS:
        raise ValueError(f"sampler: must be one of {RBM_SAMPLERS}, got {sampler!r}")
    if sampler != "auto":
        return sampler
    if min(int(n_visible), int(n_hidden), int(batch_size), int(k)) < 1:
        return "collapsed"  # the kernel refuses the sizes, naming them
    # The array API is given the state in the visible basis: "gibbs-eigen" only when asked.
    return resolve_rbm_sampler(n_visible, n_hidden, batch_size, k, eigen=False)


def rbm_normals_per_step(
    n_visible: int,
    n_hidden: int,
    batch_size: int,
    k: int,
    sampled_target: bool = False,
    sampler: str = RBM_DEFAULT_SAMPLER,
) -> int:
    """Standard normals one PCD step of one replica draws.

    Parameters
    ----------
    n_visible, n_hidden, batch_size, k : int
        N_v, N_h, B and the Gibbs sweeps per step.
    sampled_target : bool
        Sampled-target mode (B N_v more normals a step).
    sampler : {"auto", "collapsed", "gibbs", "gibbs-eigen"}
        "collapsed": B N_v; "gibbs" and "gibbs-eigen": k B (N_v + N_h); "auto" (the
        default): the count of the sampler it resolves to in the array API
        (:func:`~dysonlearn.config.resolve_rbm_sampler` with ``eigen=False``).

    Returns
    -------
    int
        The count, plus B N_v with a sampled target.

    Raises
    ------
    ValueError
        If a size is below 1 or the sampler is unknown.
    """
    sampler = _rbm_sampler(sampler, n_visible, n_hidden, batch_size, k)
    return _rbm.normals_per_step(n_visible, n_hidden, batch_size, k, sampled_target, sampler)


def rbm_pcd(
    weights: np.ndarray,
    chains: np.ndarray,
    generators: Sequence,
    c_target: np.ndarray,
    *,
    lr: float,
    mu: float,
    sigma_h: float = 1.0,
    k: int = 3,
    stop: int,
    start: int = 0,
    snapshot_steps: Sequence[int] | np.ndarray = (),
    target_chol: np.ndarray | None = None,
    failed: np.ndarray | None = None,
    fail_step: np.ndarray | None = None,
    normal_method: str = "ziggurat",
    eigenvalues: np.ndarray | None = None,
    sampler: str = RBM_DEFAULT_SAMPLER,
    status: np.ndarray | None = None,
    optimizer=None,
    opt_state: np.ndarray | None = None,
) -> np.ndarray:
    """Train R Gaussian RBMs by PCD from step ``start`` to ``stop``, in place
    :eq:`rbm-hidden-given-visible` to :eq:`pcd-update`.

    Parameters
    ----------
    weights : numpy.ndarray
        (R, N_h, N_v) weights W, updated in place.
    chains : numpy.ndarray
        (R, B, N_v) persistent visible chains, updated in place.
    generators : sequence
        R numpy Generators or BitGenerators, one per replica (or a single one shared by
        all, in turn).
    c_target : numpy.ndarray
        (N_v, N_v) target covariance K_phi^-1 (analytic-target mode).
    lr, mu, sigma_h, k : float, float, float, int
        Learning rate, model parameters :eq:`rbm-action`, Gibbs sweeps per step.
    stop, start : int
        The steps start+1 .. stop are taken.
    snapshot_steps : sequence of int
        Increasing steps; the spectrum of sigma_h^2 W^T W is recorded at every one of them
        within [start, stop].
    target_chol : numpy.ndarray, optional
        (N_v, N_v) lower Cholesky factor of c_target: switches to sampled-target mode (B
        fresh target samples per step).
    failed, fail_step : numpy.ndarray, optional
        (R,) uint8 and int64 divergence flags, updated in place; replicas already flagged
        are skipped. Fresh ones are made if None.
    normal_method : {"ziggurat", "numpy"}
        How the standard normals are drawn, see the module docstring.
    eigenvalues : numpy.ndarray, optional
        (R, S, N_v) array to write the spectra into (only the snapshots within
        [start, stop] are written), so that successive calls fill one array.
    sampler : {"auto", "collapsed", "gibbs", "gibbs-eigen"}
        "collapsed" (the k-sweep transition drawn at once, B N_v normals a step; see
        ``_core/rbm.pyx``), "gibbs" (the explicit k sweeps :eq:`rbm-hidden-given-visible`,
        :eq:`rbm-visible-given-hidden`), "gibbs-eigen" (the same sweeps for a state given in
        the eigenbasis of the target covariance: ``c_target`` must be diagonal, the matrix
        of its eigenvalues, and ``target_chol`` their square roots; pass W U and the chains
        times U for C_target = U diag U^T, and rotate back with U^T: the gradient then costs
        O(B N_v N_h), :doc:`/guide/performance`) or "auto" (the default: the cheaper of
        "collapsed" and "gibbs" for these sizes,
        :func:`~dysonlearn.config.resolve_rbm_sampler` with ``eigen=False``; "collapsed" at
        the reference sizes). Until issue 11 the array API's default was "gibbs", until
        issue 15 "collapsed": pass the sampler explicitly for the streams of earlier calls.
    status : numpy.ndarray, optional
        (R,) uint8, updated in place: the :class:`Status` of each replica that fails in
        this call (entries of the others are left alone).
    optimizer : SGD, Momentum, Adam or AdamW, optional
        How the PCD gradient -sigma_h^2 W (C_target - C_model) :eq:`pcd-update` becomes the
        update of W, with torch.optim's equations (:mod:`dysonlearn.optim`); None or
        ``SGD()`` (the default) is :eq:`pcd-update` itself, bit for bit.
    opt_state : numpy.ndarray, optional
        (R, ``optimizer.state_size(N_h N_v)``) float64, C-contiguous: each replica's
        optimiser state (momentum: v; Adam, AdamW: m then s; in the order of the flattened
        W), updated in place. Required when the optimiser keeps state (start from
        :func:`optimizer_state`); the kernel counts the optimiser's steps as ``start + 1``
        .. ``stop``, so that Adam's bias correction continues across calls.

    Returns
    -------
    numpy.ndarray
        (R, S, N_v) ascending spectra at the snapshots, NaN where a snapshot lies outside
        [start, stop] or at and after the step the replica failed.

    Raises
    ------
    ValueError
        If an array (``opt_state`` included) has the wrong shape, dtype or layout, an
        argument is out of its range, or ``normal_method`` or ``sampler`` is unknown.
    TypeError
        If a generator is not a numpy Generator or BitGenerator.
    dysonlearn.errors.ConfigError
        If ``optimizer`` is not an optimiser (or the plain-dict form of one).
    """
    weights = _state_array("weights", weights, 3, "(R, N_h, N_v)")
    chains = _state_array("chains", chains, 3, "(R, B, N_v)")
    n_rep, n_hid, n_vis = weights.shape
    spec, opt_state = _optimizer(optimizer, opt_state, n_rep, n_hid * n_vis)
    gens = bit_generators(generators, n_rep)
    steps, failed, fail_step = _bookkeeping(n_rep, snapshot_steps, failed, fail_step)
    status = _status_out(status, n_rep)
    _check_normal_method(normal_method)
    sampler = _rbm_sampler(sampler, n_vis, n_hid, chains.shape[1], k)
    c_target = np.ascontiguousarray(c_target, dtype=np.float64)
    chol = None if target_chol is None else np.ascontiguousarray(target_chol, dtype=np.float64)
    eigenvalues = _spectra_out(eigenvalues, n_rep, steps.size, n_vis)
    _rbm.pcd_advance(
        weights, chains, gens, c_target, chol, float(lr), float(mu), float(sigma_h), int(k),
        int(start), int(stop), steps, eigenvalues, failed, fail_step, normal_method, sampler,
        status, spec, opt_state,
    )  # fmt: skip
    return eigenvalues


def rbm_pcd_step_given_normals(
    weights: np.ndarray,
    chains: np.ndarray,
    normals: np.ndarray,
    c_target: np.ndarray,
    *,
    lr: float,
    mu: float,
    sigma_h: float = 1.0,
    k: int = 3,
    target_chol: np.ndarray | None = None,
    sampler: str = RBM_DEFAULT_SAMPLER,
    optimizer=None,
    opt_state: np.ndarray | None = None,
    step: int = 1,
) -> int:
    """One PCD step of one replica (weights (N_h, N_v), chains (B, N_v)) with given normals.

    The arithmetic of :func:`rbm_pcd` exactly, with the standard normals supplied in the
    kernel's order.

    Parameters
    ----------
    weights : numpy.ndarray
        (N_h, N_v) weights, updated in place.
    chains : numpy.ndarray
        (B, N_v) persistent chains, updated in place.
    normals : numpy.ndarray
        :func:`rbm_normals_per_step` standard normals. gibbs: eps_h (B, N_h); for j < k:
        eps_phi (B, N_v) and, if j < k - 1, eps_h (B, N_h). collapsed: z (B, N_v) with
        xi_b = L z_b, L the lower Cholesky factor of Sigma_k. Then, in sampled mode,
        z (B, N_v).
    c_target : numpy.ndarray
        (N_v, N_v) target covariance.
    lr, mu, sigma_h, k : float, float, float, int
        As for :func:`rbm_pcd`.
    target_chol : numpy.ndarray, optional
        Sampled-target mode, as for :func:`rbm_pcd`.
    sampler : {"auto", "collapsed", "gibbs", "gibbs-eigen"}
        As for :func:`rbm_pcd` (default "auto"); "gibbs-eigen" reads each draw of normals
        transposed (chain index fastest, ``_core/rbm.pyx``).
    optimizer : SGD, Momentum, Adam or AdamW, optional
        As for :func:`rbm_pcd` (default SGD).
    opt_state : numpy.ndarray, optional
        (``optimizer.state_size(N_h N_v)``,) float64: this replica's optimiser state (a row of the array of
        :func:`rbm_pcd`), updated in place; required when the optimiser keeps state.
    step : int
        The optimiser's 1-based step count t (Adam's bias corrections 1 - beta^t).

    Returns
    -------
    int
        A :class:`Status`: 0 (ok), 1 (W not finite) or 2 (escaped: max eigenvalue of
        sigma_h^2 W^T W >= mu^2).

    Raises
    ------
    ValueError
        If the shapes are inconsistent (``opt_state`` included), the number of normals is
        wrong, the sampler is unknown or ``step`` is below 1.
    """
    weights = _state_array("weights", weights, 2, "(N_h, N_v)")
    chains = _state_array("chains", chains, 2, "(B, N_v)")
    spec, opt_state = _optimizer(optimizer, opt_state, 1, weights.size, single=True)
    step = _step(step)
    sampler = _rbm_sampler(sampler, weights.shape[1], weights.shape[0], chains.shape[0], k)
    normals = np.ascontiguousarray(normals, dtype=np.float64).reshape(-1)
    chol = None if target_chol is None else np.ascontiguousarray(target_chol, dtype=np.float64)
    return _rbm.pcd_step_given_normals(
        weights, chains, normals, np.ascontiguousarray(c_target, dtype=np.float64), chol,
        float(lr), float(mu), float(sigma_h), int(k), sampler, spec, opt_state, step,
    )  # fmt: skip


def _step(step) -> int:
    """The optimiser's 1-based step count of a one-step entry point, checked."""
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 1:
        raise ValueError(f"step: must be an integer >= 1 (the 1-based step count), got {step!r}")
    return int(step)


def _bound(bound) -> float | None:
    """The escape bound as the kernels take it: None, or a float > 0 (inf: no bound)."""
    if bound is None:
        return None
    value = float(bound)
    if not value > 0:
        raise ValueError(f"bound: must be a positive number or None, got {bound!r}")
    return value


def _spectra_out(eigenvalues, n_rep: int, n_snap: int, n: int) -> np.ndarray:
    """The caller's (R, S, N) output array, checked, or a fresh one filled with NaN."""
    if eigenvalues is None:
        return np.full((n_rep, n_snap, n), np.nan)
    return _state_array("eigenvalues", eigenvalues, 3, f"({n_rep}, {n_snap}, {n})")


def _status_out(status, n_rep: int) -> np.ndarray | None:
    """The caller's (R,) uint8 status array, checked, or None."""
    if status is not None and (
        not isinstance(status, np.ndarray)
        or status.dtype != np.uint8
        or status.shape != (n_rep,)
        or not status.flags.c_contiguous
        or not status.flags.writeable
    ):
        raise ValueError(f"status: must be a writeable uint8 array of shape ({n_rep},)")
    return status


def _bookkeeping(n_rep: int, snapshot_steps, failed, fail_step):
    """Validated snapshot steps and divergence flags (fresh ones when None)."""
    steps = np.ascontiguousarray(snapshot_steps, dtype=np.int64).reshape(-1)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"snapshot_steps: must be strictly increasing, got {steps.tolist()}")
    failed = np.zeros(n_rep, np.uint8) if failed is None else failed
    fail_step = np.full(n_rep, -1, np.int64) if fail_step is None else fail_step
    for name, arr, dtype in (("failed", failed, np.uint8), ("fail_step", fail_step, np.int64)):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != (n_rep,):
            raise ValueError(f"{name}: must be a {np.dtype(dtype)} array of shape ({n_rep},)")
    return steps, failed, fail_step


def teacher_student(
    weights: np.ndarray,
    teachers: np.ndarray,
    generators: Sequence,
    *,
    lr: float,
    noise: float,
    batch_size: int,
    stop: int,
    start: int = 0,
    sampler: str = "wishart",
    snapshot_steps: Sequence[int] | np.ndarray = (),
    failed: np.ndarray | None = None,
    fail_step: np.ndarray | None = None,
    normal_method: str = "ziggurat",
    dataset: tuple | None = None,
    shuffle: bool = True,
    eigenvalues: np.ndarray | None = None,
    bound: float | None = None,
    status: np.ndarray | None = None,
    optimizer=None,
    opt_state: np.ndarray | None = None,
) -> np.ndarray:
    """Train R teacher-student replicas from ``start`` to ``stop`` in place :eq:`ts-update`.

    Parameters
    ----------
    weights : numpy.ndarray
        (R, N, N) students, updated in place.
    teachers : numpy.ndarray
        (R, N, N) symmetric teachers.
    generators : sequence
        R numpy Generators or BitGenerators.
    lr, noise, batch_size : float, float, int
        alpha, A and B of :eq:`ts-update`.
    stop, start : int
        The steps start+1 .. stop are taken.
    sampler : {"wishart", "explicit", "mean-noise", "auto"}
        "wishart" (C_B by Bartlett, batch-mean noise drawn directly, B >= N), "explicit"
        (B inputs and B noise matrices per step) or "mean-noise" (B inputs, batch-mean
        noise drawn directly, any B); "auto": "wishart" if B >= N, else "mean-noise"
        (:func:`~dysonlearn.config.resolve_ts_sampler`). Fresh data every step.
    snapshot_steps : sequence of int
        Increasing steps; the spectrum is recorded at those within [start, stop].
    failed, fail_step : numpy.ndarray, optional
        (R,) uint8 and int64 divergence flags, updated in place; replicas already flagged
        are skipped. Fresh ones are made if None.
    normal_method : {"ziggurat", "numpy"}
        See the module docstring.
    dataset : tuple, optional
        The reference protocol instead: ``(inputs (D, P, N), point_noise
        (D, P, N (N + 1) / 2), dataset_index (R,) int64, order (R, P) int32)``, a finite
        data set (packed upper triangles of the per-point noise) visited in batches;
        ``order`` holds each replica's visiting order and is updated in place.
    shuffle : bool
        Reference protocol: a fresh random order every epoch.
    eigenvalues : numpy.ndarray, optional
        (R, S, N) array to write the spectra into, as for :func:`rbm_pcd`.
    bound : float, optional
        Escape bound: a replica with an entry ``|W_ij| > bound`` after a step (or at
        ``start``) is flagged as diverged at that step, like one whose W goes non-finite.
        None (the default) flags non-finite W only. ``run_ensemble`` passes
        ``models.teacher_student.escape_bound(config)``. The check changes no arithmetic:
        replicas that stay inside get the same bits with and without it.
    status : numpy.ndarray, optional
        (R,) uint8, updated in place: the :class:`Status` of each replica that fails in
        this call.
    optimizer : SGD, Momentum, Adam or AdamW, optional
        How the stochastic gradient (minus the bracket of :eq:`ts-update`, the hand-added
        noise included) becomes the update of W, with torch.optim's equations
        (:mod:`dysonlearn.optim`); None or ``SGD()`` (the default) is :eq:`ts-update`
        itself, bit for bit.
    opt_state : numpy.ndarray, optional
        (R, ``optimizer.state_size(N^2)``) float64, C-contiguous: each replica's optimiser
        state (momentum: v; Adam, AdamW: m then s; in the order of the flattened W),
        updated in place. Required when the optimiser keeps state (start from
        :func:`optimizer_state`); the optimiser's steps are counted ``start + 1`` ..
        ``stop``, so that Adam's bias correction continues across calls.

    Returns
    -------
    numpy.ndarray
        (R, S, N) ascending eigenvalues of the symmetric students (singular values in the
        reference protocol) at the snapshots within [start, stop], else NaN (also at and
        after the step a replica diverged).

    Raises
    ------
    ValueError
        If an array (``opt_state`` included) has the wrong shape, dtype or layout, an
        argument is out of its range (the Wishart sampler needs ``batch_size >= N``), or
        ``normal_method`` or ``sampler`` is unknown.
    TypeError
        If a generator is not a numpy Generator or BitGenerator.
    dysonlearn.errors.ConfigError
        If ``optimizer`` is not an optimiser (or the plain-dict form of one).
    """
    weights = _state_array("weights", weights, 3, "(R, N, N)")
    n_rep, n, _ = weights.shape
    spec, opt_state = _optimizer(optimizer, opt_state, n_rep, n * n)
    steps, failed, fail_step = _bookkeeping(n_rep, snapshot_steps, failed, fail_step)
    status = _status_out(status, n_rep)
    _check_normal_method(normal_method)
    eigenvalues = _spectra_out(eigenvalues, n_rep, steps.size, n)
    extra = {}
    if dataset is not None:
        inputs, point_noise, dataset_index, order = dataset
        extra = {
            "inputs": np.ascontiguousarray(inputs, dtype=np.float64),
            "point_noise": np.ascontiguousarray(point_noise, dtype=np.float64),
            "dataset_index": np.ascontiguousarray(dataset_index, dtype=np.int64),
            "order": order,
            "shuffle": bool(shuffle),
        }
    _teacher.ts_advance(
        weights, np.ascontiguousarray(teachers, dtype=np.float64),
        bit_generators(generators, n_rep),
        float(lr), float(noise), int(batch_size),
        _ts_sampler(sampler, n, batch_size, dataset is not None), int(start), int(stop), steps,
        eigenvalues, failed, fail_step, normal_method, bound=_bound(bound), status=status,
        optimizer=spec, opt_state=opt_state, **extra,
    )  # fmt: skip
    return eigenvalues


def teacher_student_variates_per_step(n: int, batch_size: int, sampler: str = "wishart") -> int:
    """Variates (normals and chi-squared values) one fresh-data step of one replica draws.

    Parameters
    ----------
    n : int
        N, the size of the student.
    batch_size : int
        B.
    sampler : {"wishart", "explicit", "mean-noise", "auto"}
        The sampler of the batch (see :class:`~dysonlearn.TeacherStudentConfig`).

    Returns
    -------
    int
        The length of the ``variates`` array of
        :func:`teacher_student_step_given_variates`.
    """
    return _teacher.variates_per_step(n, batch_size, _ts_sampler(sampler, n, batch_size))


def teacher_student_step_given_variates(
    weights: np.ndarray,
    teacher: np.ndarray,
    variates: np.ndarray,
    *,
    lr: float,
    noise: float,
    batch_size: int,
    sampler: str = "wishart",
    bound: float | None = None,
    optimizer=None,
    opt_state: np.ndarray | None = None,
    step: int = 1,
) -> int:
    """One fresh-data step :eq:`ts-update` of one replica (N, N) with the variates supplied.

    The arithmetic of :func:`teacher_student` exactly.

    Parameters
    ----------
    weights : numpy.ndarray
        (N, N) student, updated in place.
    teacher : numpy.ndarray
        (N, N) symmetric teacher.
    variates : numpy.ndarray
        In the kernel's order. Wishart: for each row i of the Bartlett factor, the
        chi-squared value L_ii^2 (dof B - i) then the normals L_i0 .. L_i,i-1; then the
        N (N + 1) / 2 normals of Xi_B (upper triangle, row-major). Explicit: the B N
        normals of the inputs, then B N (N + 1) / 2 normals (upper triangles of the B noise
        matrices). Mean-noise: the B N normals of the inputs (row b = x_b), then the
        N (N + 1) / 2 normals of Xi_B (upper triangle, row-major).
        :func:`teacher_student_variates_per_step` says how many.
    lr, noise, batch_size : float, float, int
        alpha, A and B of :eq:`ts-update`.
    sampler : {"wishart", "explicit", "mean-noise", "auto"}
        As for :func:`teacher_student`.
    bound : float, optional
        Escape bound on ``|W_ij|``, as for :func:`teacher_student` (None: none).
    optimizer : SGD, Momentum, Adam or AdamW, optional
        As for :func:`teacher_student` (default SGD).
    opt_state : numpy.ndarray, optional
        (``optimizer.state_size(N^2)``,) float64: this replica's optimiser state (a row of the array of
        :func:`teacher_student`), updated in place; required when the optimiser keeps state.
    step : int
        The optimiser's 1-based step count t (Adam's bias corrections 1 - beta^t).

    Returns
    -------
    int
        A :class:`Status`: 0, 1 if W became non-finite, or 2 if an entry exceeds ``bound``
        (and all are finite).

    Raises
    ------
    ValueError
        If the shapes are inconsistent (``opt_state`` included), the number of variates is
        wrong, the sampler is unknown, ``bound`` is not positive or ``step`` is below 1.
    """
    weights = _state_array("weights", weights, 2, "(N, N)")
    spec, opt_state = _optimizer(optimizer, opt_state, 1, weights.size, single=True)
    step = _step(step)
    return _teacher.ts_step_given_variates(
        weights, np.ascontiguousarray(teacher, dtype=np.float64),
        np.ascontiguousarray(variates, dtype=np.float64).reshape(-1),
        float(lr), float(noise), int(batch_size),
        _ts_sampler(sampler, weights.shape[0], batch_size), _bound(bound),
        spec, opt_state, step,
    )  # fmt: skip


def dyson(
    levels: np.ndarray,
    targets: np.ndarray,
    generators: Sequence,
    *,
    lr: float,
    noise: float,
    batch_size: int,
    stop: int,
    start: int = 0,
    drift: str = "linear",
    mu: float = 0.0,
    snapshot_steps: Sequence[int] | np.ndarray = (),
    failed: np.ndarray | None = None,
    fail_step: np.ndarray | None = None,
    normal_method: str = "ziggurat",
    eigenvalues: np.ndarray | None = None,
    bound: float | None = None,
    status: np.ndarray | None = None,
) -> np.ndarray:
    """Advance R replicas of the eigenvalue-level Dyson Brownian motion :eq:`dyson-bm` in place.

    Parameters
    ----------
    levels : numpy.ndarray
        (R, N) ascending levels, updated in place.
    targets : numpy.ndarray
        (N,) the kappa driving each sorted level (``DysonConfig.level_targets``).
    generators : sequence
        R numpy Generators or BitGenerators.
    lr, noise, batch_size : float, float, int
        alpha, g and B of :eq:`dyson-bm`.
    stop, start : int
        The steps start+1 .. stop are taken.
    drift : {"linear", "rbm"}
        "linear" (kappa_i - x_i) or "rbm" (2 x (1/kappa_i - 1/(mu^2 - x)) :eq:`fp-drift`).
    mu : float
        The RBM's mu ("rbm" drift only).
    snapshot_steps : sequence of int
        Increasing steps; the levels are recorded at those within [start, stop].
    failed, fail_step : numpy.ndarray, optional
        (R,) uint8 and int64 divergence flags, updated in place; replicas already flagged
        are skipped. Fresh ones are made if None.
    normal_method : {"ziggurat", "numpy"}
        See the module docstring.
    eigenvalues : numpy.ndarray, optional
        (R, S, N) array to write the levels into, as for :func:`rbm_pcd`.
    bound : float, optional
        Escape bound: a replica with a level ``|x_i| > bound`` is flagged as diverged at
        that step. None (the default) flags only non-finite levels (and, for the "rbm"
        drift, levels outside [0, mu^2)). ``run_ensemble`` passes
        ``models.dyson.escape_bound(config)``. It changes no arithmetic.
    status : numpy.ndarray, optional
        (R,) uint8, updated in place: the :class:`Status` of each replica that fails in
        this call (LAPACK_FAILED when the eigenproblem of a step fails, N > 2).

    Returns
    -------
    numpy.ndarray
        (R, S, N) levels at the snapshots within [start, stop], else NaN (also at and
        after the step a replica diverged).

    Raises
    ------
    ValueError
        If an array has the wrong shape, dtype or layout, an argument is out of its range,
        or ``normal_method`` or ``drift`` is unknown.
    TypeError
        If a generator is not a numpy Generator or BitGenerator.
    """
    levels = _state_array("levels", levels, 2, "(R, N)")
    n_rep, n = levels.shape
    steps, failed, fail_step = _bookkeeping(n_rep, snapshot_steps, failed, fail_step)
    status = _status_out(status, n_rep)
    _check_normal_method(normal_method)
    eigenvalues = _spectra_out(eigenvalues, n_rep, steps.size, n)
    _dyson.dyson_advance(
        levels, np.ascontiguousarray(targets, dtype=np.float64),
        bit_generators(generators, n_rep),
        float(lr), float(noise), int(batch_size), drift, float(mu), int(start), int(stop),
        steps, eigenvalues, failed, fail_step, normal_method, _bound(bound), status,
    )  # fmt: skip
    return eigenvalues


def _dl_widths(widths) -> list[int]:
    """The layer widths n_0, ..., n_L, checked: at least two integers >= 1."""
    try:
        values = [int(n) for n in widths]
        ok = all(float(n) == v for n, v in zip(widths, values, strict=True))
    except (TypeError, ValueError):
        ok = False
    if not ok or len(values) < 2 or min(values) < 1 or any(isinstance(n, bool) for n in widths):
        raise ValueError(
            f"widths: must be at least two integers >= 1 (n_0, ..., n_L), got {widths!r}"
        )
    return values


def _dl_sampler(sampler, widths, batch_size) -> str:
    if sampler not in ("auto", "wishart", "explicit"):
        raise ValueError(
            f"sampler: must be one of 'auto', 'wishart', 'explicit', got {sampler!r}"
        )
    return resolve_dl_sampler(widths[0], int(batch_size), sampler)


def _dl_teacher(teacher, widths) -> np.ndarray:
    teacher = np.ascontiguousarray(teacher, dtype=np.float64)
    if teacher.shape != (widths[-1], widths[0]) or not np.all(np.isfinite(teacher)):
        raise ValueError(
            f"teacher: must be a finite (n_L, n_0) = ({widths[-1]}, {widths[0]}) array, got "
            f"shape {teacher.shape}"
        )
    return teacher


def deep_linear_n_weights(widths: Sequence[int]) -> int:
    """The weights of one deep linear replica: sum_l n_l n_{l-1}.

    Parameters
    ----------
    widths : sequence of int
        n_0, ..., n_L.

    Returns
    -------
    int
        The length of a replica's weight vector (its layers W_1 .. W_L, row-major, one
        after the other).
    """
    widths = _dl_widths(widths)
    return sum(widths[i] * widths[i + 1] for i in range(len(widths) - 1))


def deep_linear(
    weights: np.ndarray,
    teacher: np.ndarray,
    generators: Sequence,
    *,
    widths: Sequence[int],
    lr: float,
    noise: float,
    batch_size: int,
    stop: int,
    start: int = 0,
    sampler: str = "auto",
    snapshot_steps: Sequence[int] | np.ndarray = (),
    failed: np.ndarray | None = None,
    fail_step: np.ndarray | None = None,
    normal_method: str = "ziggurat",
    eigenvalues: np.ndarray | None = None,
    bound: float | None = None,
    status: np.ndarray | None = None,
    optimizer=None,
    opt_state: np.ndarray | None = None,
    layer_eigenvalues: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """Train R deep linear replicas from ``start`` to ``stop`` in place :eq:`dl-update`.

    Parameters
    ----------
    weights : numpy.ndarray
        (R, n_weights) float64, updated in place: each replica's layers W_1 (n_1, n_0),
        ..., W_L (n_L, n_{L-1}), row-major, concatenated in that order
        (:func:`deep_linear_n_weights`).
    teacher : numpy.ndarray
        (n_L, n_0) the teacher M_T, shared by the replicas.
    generators : sequence
        R numpy Generators or BitGenerators.
    widths : sequence of int
        n_0, n_1, ..., n_L (L >= 1 layers).
    lr, noise, batch_size : float, float, int
        alpha, A and B of :eq:`dl-update`.
    stop, start : int
        The steps start+1 .. stop are taken.
    sampler : {"auto", "wishart", "explicit"}
        The batch covariance C_B from its Wishart law ("wishart", B >= n_0) or from B drawn
        inputs ("explicit"); "auto": "wishart" if B >= n_0, else "explicit".
    snapshot_steps : sequence of int
        Increasing steps; the spectrum is recorded at those within [start, stop].
    failed, fail_step : numpy.ndarray, optional
        (R,) uint8 and int64 divergence flags, updated in place; replicas already flagged
        are skipped. Fresh ones are made if None.
    normal_method : {"ziggurat", "numpy"}
        See the module docstring.
    eigenvalues : numpy.ndarray, optional
        (R, S, min(n_0, n_L)) array to write the spectra into, as for :func:`rbm_pcd`.
    bound : float, optional
        Escape bound: a replica with a weight ``|W_ij| > bound`` after a step (or at
        ``start``) is flagged as diverged at that step. None (the default) flags
        non-finite weights only. It changes no arithmetic.
    status : numpy.ndarray, optional
        (R,) uint8, updated in place: the :class:`Status` of each replica that fails in
        this call.
    optimizer : SGD, Momentum, Adam or AdamW, optional
        How each layer's stochastic gradient (the hand-added noise included) becomes its
        update (:mod:`dysonlearn.optim`); None or ``SGD()`` (the default) is plain SGD.
    opt_state : numpy.ndarray, optional
        (R, ``optimizer.state_size(n_weights)``) float64, C-contiguous, updated in place;
        required when the optimiser keeps state (:func:`optimizer_state`).
    layer_eigenvalues : sequence of numpy.ndarray, optional
        L arrays (R, S, min(n_{l-1}, n_l)) float64, C-contiguous, one per layer W_1 .. W_L,
        into which each layer's ascending singular values are written at the snapshots, as
        ``eigenvalues`` (NaN at a snapshot that fails). Recording them draws no variate and
        leaves the end-to-end spectra, the flags and the weights bit for bit as without
        them. None (the default): not recorded.

    Returns
    -------
    numpy.ndarray
        (R, S, min(n_0, n_L)) ascending singular values of the end-to-end map
        W_L ... W_1 at the snapshots within [start, stop], else NaN (also at and after the
        step a replica diverged).

    Raises
    ------
    ValueError
        If an array has the wrong shape, dtype or layout, an argument is out of its range
        (the Wishart sampler needs ``batch_size >= n_0``), or ``normal_method`` or
        ``sampler`` is unknown.
    TypeError
        If a generator is not a numpy Generator or BitGenerator.
    """
    widths = _dl_widths(widths)
    weights = _state_array("weights", weights, 2, "(R, n_weights)")
    n_rep = weights.shape[0]
    spec, opt_state = _optimizer(optimizer, opt_state, n_rep, weights.shape[1])
    steps, failed, fail_step = _bookkeeping(n_rep, snapshot_steps, failed, fail_step)
    status = _status_out(status, n_rep)
    _check_normal_method(normal_method)
    eigenvalues = _spectra_out(eigenvalues, n_rep, steps.size, min(widths[0], widths[-1]))
    layers = _dl_layer_spectra(layer_eigenvalues, n_rep, steps.size, widths)
    record, record_steps = eigenvalues, steps
    if layers:
        # The kernel writes one record per snapshot: the end-to-end values, then each
        # layer's. Only the snapshots within [start, stop] are written, so only those pass
        # through the joined array (a long time series is not copied at every call).
        lo = int(np.searchsorted(steps, start, side="left"))
        hi = int(np.searchsorted(steps, stop, side="right"))
        record_steps = steps[lo:hi]
        record = np.concatenate([a[:, lo:hi] for a in (eigenvalues, *layers)], axis=2)
    _deep_linear.dln_advance(
        weights, _dl_teacher(teacher, widths), widths, bit_generators(generators, n_rep),
        float(lr), float(noise), int(batch_size), _dl_sampler(sampler, widths, batch_size),
        int(start), int(stop), record_steps, record, failed, fail_step, normal_method,
        _bound(bound), status, spec, opt_state, bool(layers),
    )  # fmt: skip
    if layers:
        edges = np.cumsum([a.shape[2] for a in (eigenvalues, *layers)])[:-1]
        for out, part in zip((eigenvalues, *layers), np.split(record, edges, axis=2),
                             strict=True):  # fmt: skip
            out[:, lo:hi] = part
    return eigenvalues


def _dl_layer_spectra(arrays, n_rep: int, n_snap: int, widths: list[int]) -> list:
    """The caller's per-layer output arrays, checked (an empty list when None)."""
    if arrays is None:
        return []
    arrays = list(arrays)
    n_layers = len(widths) - 1
    if len(arrays) != n_layers:
        raise ValueError(
            f"layer_eigenvalues: must hold one array per layer ({n_layers}), got {len(arrays)}"
        )
    out = []
    for layer, array in enumerate(arrays):
        shape = (n_rep, n_snap, min(widths[layer], widths[layer + 1]))
        name = f"layer_eigenvalues[{layer}]"
        out.append(_state_array(name, array, 3, str(shape)))
        if array.shape != shape:
            raise ValueError(f"{name}: must have shape {shape} (layer {layer + 1}: "
                             f"min(n_{layer}, n_{layer + 1})), got {array.shape}")  # fmt: skip
    return out


def deep_linear_variates_per_step(
    widths: Sequence[int], batch_size: int, sampler: str = "auto"
) -> int:
    """Variates (normals and chi-squared values) one deep linear step of one replica draws.

    Parameters
    ----------
    widths : sequence of int
        n_0, ..., n_L.
    batch_size : int
        B.
    sampler : {"auto", "wishart", "explicit"}
        As for :func:`deep_linear`.

    Returns
    -------
    int
        The length of the ``variates`` of :func:`deep_linear_step_given_variates`: the
        batch's (Wishart n_0 (n_0 + 1) / 2, explicit B n_0) plus one normal per weight.
    """
    widths = _dl_widths(widths)
    return _deep_linear.variates_per_step(widths, int(batch_size),
                                          _dl_sampler(sampler, widths, batch_size))


def deep_linear_step_given_variates(
    weights: np.ndarray,
    teacher: np.ndarray,
    variates: np.ndarray,
    *,
    widths: Sequence[int],
    lr: float,
    noise: float,
    batch_size: int,
    sampler: str = "auto",
    bound: float | None = None,
    optimizer=None,
    opt_state: np.ndarray | None = None,
    step: int = 1,
) -> int:
    """One deep linear step :eq:`dl-update` of one replica with the variates supplied.

    The arithmetic of :func:`deep_linear` exactly.

    Parameters
    ----------
    weights : numpy.ndarray
        (n_weights,) the replica's layers W_1 .. W_L, row-major, concatenated; updated in
        place.
    teacher : numpy.ndarray
        (n_L, n_0) the teacher.
    variates : numpy.ndarray
        In the kernel's order. The batch: Wishart, for each row i of the Bartlett factor
        the chi-squared value L_ii^2 (dof B - i) then the normals L_i0 .. L_i,i-1;
        explicit, the B n_0 normals of the inputs (row b = x_b). Then one standard normal
        per weight, in the order of ``weights``: the hand-added noise.
        :func:`deep_linear_variates_per_step` says how many.
    widths : sequence of int
        n_0, ..., n_L.
    lr, noise, batch_size : float, float, int
        alpha, A and B of :eq:`dl-update`.
    sampler : {"auto", "wishart", "explicit"}
        As for :func:`deep_linear`.
    bound : float, optional
        Escape bound on ``|W_ij|`` (None: none).
    optimizer : SGD, Momentum, Adam or AdamW, optional
        As for :func:`deep_linear` (default SGD).
    opt_state : numpy.ndarray, optional
        (``optimizer.state_size(n_weights)``,) float64, updated in place; required when the
        optimiser keeps state.
    step : int
        The optimiser's 1-based step count.

    Returns
    -------
    int
        A :class:`Status`: 0, 1 if a weight became non-finite, or 2 if one exceeds
        ``bound`` (and all are finite).

    Raises
    ------
    ValueError
        If the shapes are inconsistent, the number of variates is wrong, the sampler is
        unknown, ``bound`` is not positive or ``step`` is below 1.
    """
    widths = _dl_widths(widths)
    weights = _state_array("weights", weights, 1, "(n_weights,)")
    spec, opt_state = _optimizer(optimizer, opt_state, 1, weights.size, single=True)
    return _deep_linear.dln_step_given_variates(
        weights, _dl_teacher(teacher, widths), widths,
        np.ascontiguousarray(variates, dtype=np.float64).reshape(-1),
        float(lr), float(noise), int(batch_size), _dl_sampler(sampler, widths, batch_size),
        _bound(bound), spec, opt_state, _step(step),
    )  # fmt: skip


__all__ = [
    "NORMAL_METHODS",
    "RBM_DEFAULT_SAMPLER",
    "RBM_SAMPLERS",
    "Status",
    "bit_generators",
    "deep_linear",
    "deep_linear_n_weights",
    "deep_linear_step_given_variates",
    "deep_linear_variates_per_step",
    "dyson",
    "eigvalsh_batched",
    "gram_eigvalsh_batched",
    "optimizer_state",
    "rbm_normals_per_step",
    "rbm_pcd",
    "rbm_pcd_step_given_normals",
    "singular_values_batched",
    "standard_normals",
    "teacher_student",
    "teacher_student_step_given_variates",
    "teacher_student_variates_per_step",
]
