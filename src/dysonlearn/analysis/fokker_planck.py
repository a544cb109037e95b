"""One learnt mode as a Fokker-Planck problem: the bound-state picture of :doc:`/theory/rbm`.

A single eigenvalue x of the RBM (sigma_h = 1, Coulomb term dropped) in continuous time
t = lr * step obeys dx = K(x) dt + sqrt(2 D) dW :eq:`fp-drift` on [0, mu^2). Its stationary density
is exp(-V/D) (:eq:`fp-potential`, :eq:`fp-stationary`); its relaxation rates are the levels of the
Schroedinger operator H = -D d^2/dx^2 + U :eq:`fp-hamiltonian`. :class:`FokkerPlanckMode` computes
both; :func:`relaxation_rate` measures the same rates from trained ensembles, so the two can be set
side by side.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import integrate, optimize
from scipy.interpolate import make_interp_spline
from scipy.linalg import eigh_tridiagonal

from ..errors import ConfigError
from ..validation import Problems, check_int, check_positive, is_real
from .statistics import jackknife

__all__ = ["FokkerPlanckMode", "RelaxationFit", "relaxation_rate"]

DOMAINS = ("basin", "full")

# The grid of spectrum() covers V - V(x*) <= _GRID_DEPTH * D, where P_stat/max >= e^-100: a
# level E sees the cut only if E approaches U there, ~ (_GRID_DEPTH / 2) omega = 50 omega.
_GRID_DEPTH = 100.0
# Full-domain cells grow by this factor per cell between the two regions that need them.
_GROWTH = 1.05
# The normalisation Z integrates out to V - V(x*) = 700 D, below which exp underflows.
_PDF_DEPTH = 700.0


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (e^z - 1), the Scharfetter-Gummel weight; B(0) = 1, B(-z) = B(z) e^z."""
    z = np.asarray(z, dtype=np.float64)
    small = np.abs(z) < 1e-10
    safe = np.where(small, 1.0, z)
    with np.errstate(over="ignore"):
        return np.where(small, 1.0 - 0.5 * z, safe / np.expm1(safe))


def _graded(a: float, b: float, size_a: float, size_b: float) -> np.ndarray:
    """Edges from a to b whose cells grow by _GROWTH from size_a at a and size_b at b."""
    left, right = [a], [b]
    while True:
        grow_left = size_a <= size_b
        step = _GROWTH * (size_a if grow_left else size_b)
        if step > 0.5 * (right[-1] - left[-1]):
            break
        if grow_left:
            left.append(left[-1] + step)
            size_a = step
        else:
            right.append(right[-1] - step)
            size_b = step
    rest = right[-1] - left[-1]
    middle = np.linspace(left[-1], right[-1], max(1, round(rest / step)) + 1)
    return np.concatenate([left[:-1], middle, right[-2::-1]])


@dataclass(frozen=True)
class FokkerPlanckMode:
    """One mode x of the RBM in continuous time t = lr * step (:doc:`/theory/rbm`).

    Build D from training settings with :meth:`from_training`.

    Parameters
    ----------
    kappa : float
        The target eigenvalue of K_phi :eq:`free-scalar-target`, 0 < kappa < mu^2 (so that the
        learnt level x* = mu^2 - kappa is positive).
    mu : float
        The visible mass :eq:`rbm-action`, > 0.
    D : float
        The diffusion constant of dx = K(x) dt + sqrt(2 D) dW, > 0.

    Raises
    ------
    ConfigError
        A value out of its range (every problem at once).
    """

    kappa: float
    mu: float
    D: float

    def __post_init__(self) -> None:
        problems = Problems()
        mu_ok = check_positive(problems, "mu", self.mu)
        if not is_real(self.kappa) or not math.isfinite(self.kappa):
            problems.add("kappa", "must be a finite number", self.kappa)
        elif mu_ok and not 0 < self.kappa < self.mu**2:
            problems.add("kappa", f"must lie in (0, mu^2) = (0, {self.mu**2!r})", self.kappa)
        check_positive(problems, "D", self.D)
        problems.raise_if_any()

    @classmethod
    def from_training(
        cls, kappa: float, mu: float, lr: float, batch_size: int
    ) -> FokkerPlanckMode:
        """The mode whose noise matches SGD with learning rate lr and mini-batch size B.

        Per step the level moves by lr K(x) :eq:`fp-drift` plus noise of variance
        8 lr^2 x*^2 / (B kappa^2) (:doc:`/theory/rbm`, linearised at x*). One step is dt = lr in
        t = lr * step, and the SDE gives noise variance 2 D dt per step, so
        2 D lr = 8 lr^2 x*^2 / (B kappa^2), i.e. D = 4 lr x*^2 / (B kappa^2). The stationary
        width is then D / omega = 4 lr x*^2 / (B kappa^2) * kappa^2 / (2 x*) = 2 lr x* / B,
        the width sigma^2 of :eq:`rbm-level-width`; the relaxation rate omega = 2 x* / kappa^2 per
        unit t is :eq:`rbm-restoring-rate` per step divided by lr. The real noise is
        multiplicative (it scales with x); D freezes it at its value at x*, which is right near
        x* and wrong near x = 0.

        Parameters
        ----------
        kappa : float
            The target eigenvalue, 0 < kappa < mu^2.
        mu : float
            The visible mass, > 0.
        lr : float
            The learning rate, > 0.
        batch_size : int
            B, >= 1.

        Returns
        -------
        FokkerPlanckMode

        Raises
        ------
        ConfigError
            A value out of its range (every problem at once).
        """
        problems = Problems()
        check_positive(problems, "lr", lr)
        check_int(problems, "batch_size", batch_size, 1)
        mu_ok = check_positive(problems, "mu", mu)
        kappa_ok = is_real(kappa) and math.isfinite(kappa) and mu_ok and 0 < kappa < mu**2
        if not kappa_ok:
            problems.add("kappa", "must lie in (0, mu^2)", kappa)
        problems.raise_if_any()
        x_star = mu**2 - kappa
        return cls(kappa=kappa, mu=mu, D=4.0 * lr * x_star**2 / (batch_size * kappa**2))

    # -- the model :eq:`fp-drift` to :eq:`fp-hamiltonian` -----------------------------------------

    @property
    def x_star(self) -> float:
        """The learnt level x* = mu^2 - kappa, the stable zero of K :eq:`fp-drift`."""
        return self.mu**2 - self.kappa

    @property
    def omega(self) -> float:
        """abs(K'(x*)) = 2 x* / kappa^2: the harmonic relaxation rate per unit t
        :eq:`rbm-restoring-rate`."""
        return 2.0 * self.x_star / self.kappa**2

    def drift(self, x) -> np.ndarray:
        """K(x) = 2 x (1/kappa - 1/(mu^2 - x)) :eq:`fp-drift`.

        Parameters
        ----------
        x : array_like
            Levels x.

        Returns
        -------
        numpy.ndarray
            The shape of ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        return 2.0 * x * (1.0 / self.kappa - 1.0 / (self.mu**2 - x))

    def drift_derivative(self, x) -> np.ndarray:
        """K'(x) = 2/kappa - 2 mu^2 / (mu^2 - x)^2; K'(x*) = -omega, K'(0) = 2/kappa - 2/mu^2.

        Parameters
        ----------
        x : array_like
            Levels x.

        Returns
        -------
        numpy.ndarray
            The shape of ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        return 2.0 / self.kappa - 2.0 * self.mu**2 / (self.mu**2 - x) ** 2

    def potential(self, x) -> np.ndarray:
        """V(x) = -x^2/kappa - 2 x - 2 mu^2 ln(mu^2 - x), with V' = -K :eq:`fp-potential`.

        Parameters
        ----------
        x : array_like
            Levels x.

        Returns
        -------
        numpy.ndarray
            The shape of ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        return -(x**2) / self.kappa - 2.0 * x - 2.0 * self.mu**2 * np.log(self.mu**2 - x)

    def _excess(self, x) -> np.ndarray:
        """V(x) - V(x*) >= 0, written so that it keeps full precision near x*."""
        x = np.asarray(x, dtype=np.float64)
        y = x - self.x_star
        with np.errstate(divide="ignore"):
            return (
                -y * (x + self.x_star) / self.kappa
                - 2.0 * y
                - 2.0 * self.mu**2 * np.log1p(-y / self.kappa)
            )

    def schrodinger_potential(self, x) -> np.ndarray:
        """U(x) = K(x)^2 / (4 D) + K'(x) / 2 :eq:`fp-hamiltonian`; U(x*) = -omega / 2, U(0) = K'(0)
        / 2.

        Parameters
        ----------
        x : array_like
            Levels x.

        Returns
        -------
        numpy.ndarray
            The shape of ``x``.
        """
        k = self.drift(x)
        return k * k / (4.0 * self.D) + 0.5 * self.drift_derivative(x)

    def harmonic_spectrum(self, n: int) -> np.ndarray:
        """E_k = k omega, k = 0..n-1: the levels of H harmonically expanded at x*
        (:doc:`/theory/rbm`).

        Parameters
        ----------
        n : int
            How many levels.

        Returns
        -------
        numpy.ndarray
            (n,) the levels, ascending.
        """
        return self.omega * np.arange(n, dtype=np.float64)

    # -- stationary density :eq:`fp-stationary` ---------------------------------------------------

    def _support(self, depth: float) -> tuple[float, float]:
        """The interval of [0, mu^2) where V - V(x*) <= depth * D (it contains x*)."""
        level = depth * self.D
        top = np.nextafter(self.mu**2, 0.0)
        lo = 0.0
        if self._excess(0.0) > level:
            lo = optimize.brentq(lambda x: self._excess(x) - level, 0.0, self.x_star)
        hi = top
        if self._excess(top) > level:
            hi = optimize.brentq(lambda x: self._excess(x) - level, self.x_star, top)
        return float(lo), float(hi)

    @cached_property
    def _log_norm(self) -> float:
        """ln of Z' = int_0^mu^2 exp(-(V - V(x*)) / D) dx, by adaptive quadrature.

        Subtracting V(x*) = min V keeps the integrand <= 1; beyond V - V(x*) = 700 D it is
        below 1e-304 and is left out. The integral is split at the peak x*.
        """
        lo, hi = self._support(_PDF_DEPTH)

        def f(x: float) -> float:
            return math.exp(-float(self._excess(x)) / self.D)

        total = 0.0
        for a, b in ((lo, self.x_star), (self.x_star, hi)):
            if b > a:
                total += integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-12, limit=500)[0]
        return math.log(total)

    def stationary_pdf(self, x) -> np.ndarray:
        """P(x) = exp(-V(x)/D) / Z on [0, mu^2), zero outside :eq:`fp-stationary`.

        Parameters
        ----------
        x : array_like
            Levels x.

        Returns
        -------
        numpy.ndarray
            The shape of ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        inside = (x >= 0.0) & (x < self.mu**2)
        safe = np.where(inside, x, self.x_star)
        return np.where(inside, np.exp(-self._excess(safe) / self.D - self._log_norm), 0.0)

    # -- spectrum of H :eq:`fp-hamiltonian` -------------------------------------------------------

    def _grid(self, points: int, domain: str) -> np.ndarray:
        """Cell edges of the finite-volume grid (see :meth:`spectrum`)."""
        lo, hi = self._support(_GRID_DEPTH)
        wall = self.mu * (self.mu - math.sqrt(self.kappa))  # the maximum of K on (0, x*)
        left = max(lo, wall)
        h = (hi - left) / points
        if domain == "basin":
            return np.linspace(left, hi, points + 1)
        # Full domain: the basin's spacing where P_stat lives; where the states of the
        # unstable point x = 0 live (V(0) - V(x) <= depth D, as P_stat is V - V* <= depth D),
        # a spacing wider in proportion to their width; geometrically growing cells in the
        # gap between, where every low state is negligible.
        level = _GRID_DEPTH * self.D
        near_zero = self.x_star
        if self._excess(0.0) > level:
            near_zero = optimize.brentq(
                lambda x: self._excess(0.0) - self._excess(x) - level, 0.0, self.x_star
            )
        if near_zero >= lo - 10 * h:
            return np.linspace(0.0, hi, max(points, round(hi / h)) + 1)
        # The states at 0 are wider than those at x* by sqrt(omega / K'(0)) = mu / sqrt(kappa).
        h_zero = h * self.mu / math.sqrt(self.kappa)
        first = np.linspace(0.0, near_zero, max(2, round(near_zero / h_zero)) + 1)
        second = np.linspace(lo, hi, max(points, round((hi - lo) / h)) + 1)
        gap = _graded(near_zero, lo, first[1] - first[0], second[1] - second[0])
        return np.concatenate([first[:-1], gap, second[1:]])

    def _solve(self, n: int, points: int, domain: str, vectors: bool):
        problems = Problems()
        check_int(problems, "n", n, 1)
        check_int(problems, "points", points, 16)
        if domain not in DOMAINS:
            problems.add("domain", f"must be one of {', '.join(map(repr, DOMAINS))}", domain)
        problems.raise_if_any()
        edges = self._grid(points, domain)
        x = 0.5 * (edges[1:] + edges[:-1])
        h = np.diff(edges)
        if n > x.size:
            raise ConfigError(f"n: must be at most the {x.size} grid cells, got {n!r}")
        # Scharfetter-Gummel hopping rates between neighbouring cells (flux exact for V
        # linear between the centres); they obey detailed balance with pi_i ~ h_i exp(-V_i/D).
        mu2 = self.mu**2
        d = np.diff(x)
        dv = (
            -d * (x[1:] + x[:-1]) / self.kappa
            - 2.0 * d
            - 2.0 * mu2 * np.log1p(-d / (mu2 - x[:-1]))
        ) / self.D
        up = self.D * _bernoulli(dv) / (d * h[:-1])  # cell i -> i+1
        down = self.D * _bernoulli(-dv) / (d * h[1:])  # cell i+1 -> i
        # Symmetrised generator S = A^T A with (A u)_i = sqrt(up_i) u_i - sqrt(down_i) u_{i+1}
        # on the bonds; A sqrt(pi) = 0. Its partner A A^T (one row per bond) has the same
        # non-zero levels and no zero one, so E_0 = 0 holds by construction, not by rounding.
        partner_diag = up + down
        partner_off = -np.sqrt(down[:-1] * up[1:])
        energies = np.zeros(n)
        bonds = None
        if n > 1:
            if vectors:
                energies[1:], bonds = eigh_tridiagonal(
                    partner_diag, partner_off, select="i", select_range=(0, n - 2)
                )
            else:
                energies[1:] = eigh_tridiagonal(
                    partner_diag,
                    partner_off,
                    eigvals_only=True,
                    select="i",
                    select_range=(0, n - 2),
                )
        if not vectors:
            return energies, None, None
        # Ground state sqrt(pi); excited states psi_k = A^T w_k / sqrt(E_k) (SUSY pair).
        log_pi = -self._excess(x) / self.D + np.log(h)
        ground = np.exp(0.5 * (log_pi - log_pi.max()))
        states = np.empty((n, x.size))
        states[0] = ground / np.linalg.norm(ground)
        if n > 1:
            at_w = np.zeros((x.size, n - 1))
            at_w[:-1] += np.sqrt(up)[:, None] * bonds
            at_w[1:] -= np.sqrt(down)[:, None] * bonds
            states[1:] = (at_w / np.sqrt(energies[1:])).T
            # Sign convention of the Hermite functions: positive in the right-most lobe.
            for k in range(1, n):
                big = np.flatnonzero(np.abs(states[k]) > 1e-3 * np.abs(states[k]).max())
                if states[k, big[-1]] < 0:
                    states[k] = -states[k]
        return energies, edges, states / np.sqrt(h)

    def spectrum(self, n: int, *, points: int = 3000, domain: str = "basin") -> np.ndarray:
        """The n lowest levels E_0 = 0 < E_1 <= ... of H :eq:`fp-hamiltonian`: the relaxation rates
        per unit t.

        They are minus the eigenvalues of the Fokker-Planck operator
        L P = -d(K P)/dx + D d^2P/dx^2 with zero-flux walls, P(x, t) =
        psi_0(x) sum_k c_k psi_k(x) exp(-E_k t); E_1 is the slowest relaxation.

        Discretisation: finite volumes with Scharfetter-Gummel fluxes, i.e. a birth-death
        chain between neighbouring cells whose rates obey detailed balance with exp(-V/D).
        Symmetrised with sqrt(P_stat) it is S = A^T A (A a bond-by-cell bidiagonal matrix,
        the discrete version of H = A^dagger A, A = sqrt(D) d/dx - K / (2 sqrt(D))); the
        excited levels are the lowest eigenvalues of the tridiagonal partner A A^T
        (``scipy.linalg.eigh_tridiagonal``), and E_0 = 0 is exact. Errors are O(h^2) and
        negative: with the default grid the relative error of E_k is about 7.5e-6 (k + 1),
        below 1e-4 for the lowest 10 levels (1.7e-5 (k + 1) at points=2000).

        The grid is uniform, ``points`` cells across the part of the domain where
        P_stat > e^-100 max P_stat (a level sees the far cut only near ~50 omega).
        ``domain``:

        - ``"basin"`` (default): a wall at the maximum of K on (0, x*), x = mu (mu -
          sqrt(kappa)), the top of the barrier of U between its two wells. The levels are
          those of the well at x*, E_k ~ k omega for small D (the harmonic picture of
          :doc:`/theory/rbm`): the rates at which a mode that starts in the basin of x* relaxes,
          the quantity :func:`relaxation_rate` measures in training. Levels that approach U
          at the wall, K(wall)^2 / (4 D), feel the wall.
        - ``"full"``: all of [0, mu^2) with a wall at x = 0, the operator as :eq:`fp-hamiltonian`
          writes it. The grid adds cells of the same relative resolution where the states of
          x = 0 live, joined by cells growing 5% per cell. It adds a family of levels that
          tends to E ~ (2m + 1) K'(0), K'(0) = omega kappa / mu^2 < omega, only as D -> 0 (at
          the reference settings the lowest is 0.455 omega, against K'(0) = 0.487 omega):
          states within sqrt(D / K'(0)) of the unstable point x = 0, where a walker reflected
          by the wall waits to escape. They are then the slowest levels, but a start away from x = 0
          does not excite them, and in training, where the noise vanishes with x, the wall
          they need is absent. The two choices agree up to terms of order P_stat at the
          wall.

        Parameters
        ----------
        n : int
            How many levels.
        points : int, optional
            Cells of the grid.
        domain : {"basin", "full"}
            The domain of the operator (see above).

        Returns
        -------
        numpy.ndarray
            (n,) E_0 = 0 and the excited levels, ascending.
        """
        energies, _, _ = self._solve(n, points, domain, vectors=False)
        return energies

    def eigenfunctions(self, n: int, x, *, points: int = 3000, domain: str = "basin"):
        """The n lowest eigenfunctions psi_k(x) of H :eq:`fp-hamiltonian`, shape (n, len(x)).

        Normalised, int psi_k^2 dx = 1, on the grid of :meth:`spectrum` (same ``points`` and
        ``domain``), zero outside it. psi_0 = sqrt(P_stat) (positive) computed in closed
        form; on ``domain="basin"`` P_stat is conditioned on the basin, which for small D
        differs from :eq:`fp-stationary` by less than P_stat at the wall. Excited states are cubic
        splines through the cell values, signed like Hermite functions (positive in their
        right-most lobe).

        Parameters
        ----------
        n : int
            How many eigenfunctions.
        x : array_like
            Where to evaluate them.
        points : int, optional
            Cells of the grid (see :meth:`spectrum`).
        domain : {"basin", "full"}
            The domain of the operator (see :meth:`spectrum`).

        Returns
        -------
        numpy.ndarray
            (n, len(x)) the eigenfunctions.
        """
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        _, edges, states = self._solve(n, points, domain, vectors=True)
        centres = 0.5 * (edges[1:] + edges[:-1])
        inside = (x >= edges[0]) & (x <= edges[-1])
        out = np.zeros((n, x.size))
        xi = x[inside]
        # psi_0 = sqrt(exp(-(V - V*) / D) / Z_grid), Z_grid the same midpoint sum as the grid's.
        log_p = -self._excess(centres) / self.D
        shift = log_p.max()
        z_grid = np.sum(np.diff(edges) * np.exp(log_p - shift))
        out[0, inside] = np.exp(0.5 * (-self._excess(xi) / self.D - shift)) / math.sqrt(z_grid)
        if n > 1:
            spline = make_interp_spline(centres, states[1:].T, k=3)
            out[1:, inside] = spline(xi).T
        return out


# -- relaxation measured in training ---------------------------------------------------------


@dataclass(frozen=True)
class RelaxationFit:
    """Per-mode approach to stationarity, m_i(t) = a_i + b_i exp(-rate_i t), t = lr * step.

    Entries are NaN where the mode shows no measurable decay. Compare rates with
    omega = 2 x* / kappa^2 :eq:`rbm-restoring-rate` and with ``FokkerPlanckMode.spectrum(2)[1]``;
    multiply by lr for the rate per step.

    Parameters
    ----------
    rates, rates_err : numpy.ndarray
        (N,) the rate per unit t of each mode and its jackknife error over replicas.
    stationary, stationary_err : numpy.ndarray
        (N,) the fitted asymptote a_i and its error.
    """

    rates: np.ndarray
    rates_err: np.ndarray
    stationary: np.ndarray
    stationary_err: np.ndarray


def _weights(spread: np.ndarray) -> np.ndarray:
    """Fit errors: the standard errors, raised to at least a tenth of their median so that an
    exact snapshot (a common start, error zero up to rounding) does not pin the fit and
    leave the least-squares problem ill-conditioned."""
    floor = 0.1 * np.median(spread)
    return np.maximum(spread, floor if floor > 0 else 1.0)


def _fit_exponential(t: np.ndarray, data: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """[a, rate] of a + b exp(-rate t) fitted to the replica mean of data (R, S); NaN if it
    fails."""
    mean = data.mean(axis=0)
    se = data.std(axis=0, ddof=1) / math.sqrt(data.shape[0])

    def model(tt, a, b, rate):
        return a + b * np.exp(-rate * tt)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            params, _ = optimize.curve_fit(
                model,
                t,
                mean,
                p0=p0,
                sigma=_weights(se),
                bounds=([-np.inf, -np.inf, 0.0], [np.inf, np.inf, np.inf]),
                x_scale="jac",
            )
    except (RuntimeError, ValueError):
        return np.array([np.nan, np.nan])
    a, _, rate = params
    if not np.isfinite(rate) or rate <= 1e-12 * p0[2]:
        return np.array([np.nan, np.nan])
    return np.array([a, rate])


def relaxation_rate(
    steps, eigs, lr: float, *, tail: int = 1, threshold: float = 5.0, blocks: int = 20
) -> RelaxationFit:
    """Rate per unit t = lr * step at which each mode's ensemble mean approaches stationarity.

    For each mode, the mean over replicas m(t) is fitted by a + b exp(-rate
    t) (``scipy.optimize.curve_fit``, weighted by the standard error of each mean, floored
    at a tenth of their median so that an exact common start does not pin the fit); the
    errors are delete-block jackknife errors over replicas (``blocks`` blocks), honest
    although all snapshots share the same replicas. Replicas with a non-finite value of
    that mode are dropped.

    A rate is reported only where the decay is seen: at least two snapshots, before the
    last ``tail`` ones, whose mean differs from the mean of the last ``tail`` ones by more
    than ``threshold`` combined standard errors. Otherwise (a mode already stationary, a
    decay faster than the snapshot spacing, fewer than 3 snapshots) the entries are NaN.
    The model is one exponential: it is the late-time law, so when a mode starts far from
    x* (where K is not linear) pass only the snapshots after the transient.

    Near x* the expected rate is omega = 2 x* / kappa^2 (:eq:`rbm-restoring-rate` divided by lr);
    with the Coulomb term and finite lr it differs at O(lr omega) (:doc:`/theory/framework`), e.g.
    the linear recursion x <- x - lr omega (x - x*) decays at -ln(1 - lr omega) / lr.

    Parameters
    ----------
    steps : array_like
        (S,) snapshot steps.
    eigs : array_like
        (R, S, N) eigenvalues (replica, snapshot, mode).
    lr : float
        The learning rate.
    tail : int, optional
        The number of last snapshots taken as stationary.
    threshold : float, optional
        How many combined standard errors from the stationary mean a decay must show.
    blocks : int, optional
        Blocks of the jackknife over replicas.

    Returns
    -------
    RelaxationFit

    Raises
    ------
    ConfigError
        An argument out of its range.
    """
    problems = Problems()
    check_positive(problems, "lr", lr)
    check_int(problems, "tail", tail, 1)
    check_positive(problems, "threshold", threshold)
    check_int(problems, "blocks", blocks, 2)
    steps = np.asarray(steps, dtype=np.float64)
    eigs = np.asarray(eigs, dtype=np.float64)
    if eigs.ndim != 3:
        problems.add("eigs", "must have shape (replica, snapshot, mode)", eigs.shape)
    elif steps.shape != (eigs.shape[1],):
        problems.add("steps", f"must have shape ({eigs.shape[1]},) to match eigs", steps.shape)
    elif np.any(np.diff(steps) <= 0):
        problems.add("steps", "must be strictly increasing", steps.tolist())
    problems.raise_if_any()

    n_modes = eigs.shape[2]
    out = np.full((4, n_modes), np.nan)
    t = lr * (steps - steps[0])
    if steps.size < 3 or tail >= steps.size:
        return RelaxationFit(*out)
    for i in range(n_modes):
        data = eigs[:, :, i]
        data = data[np.all(np.isfinite(data), axis=1)]
        replicas = data.shape[0]
        if replicas < 2:
            continue
        mean = data.mean(axis=0)
        se = data.std(axis=0, ddof=1) / math.sqrt(replicas)
        late = data[:, -tail:].mean(axis=1)
        late_mean = late.mean()
        late_se = late.std(ddof=1) / math.sqrt(replicas)
        deviation = (mean - late_mean)[:-tail]
        limit = threshold * np.sqrt(se[:-tail] ** 2 + late_se**2)
        seen = np.flatnonzero(np.abs(deviation) > limit)
        if seen.size < 2:
            continue
        # Starting rate: slope of ln|m - m(inf)| over the snapshots where the decay is seen.
        slope = np.polyfit(t[seen], np.log(np.abs(deviation[seen])), 1)[0]
        start_rate = -slope if np.isfinite(slope) and slope < 0 else 1.0 / t[-1]
        p0 = np.array([late_mean, mean[0] - late_mean, start_rate])
        best = _fit_exponential(t, data, p0)
        if not np.all(np.isfinite(best)):
            continue
        guess = np.array([best[0], mean[0] - best[0], best[1]])
        _, err = jackknife(
            lambda d, guess=guess: _fit_exponential(t, d, guess),
            data,
            blocks=min(blocks, replicas),
        )
        out[:, i] = best[1], err[1], best[0], err[0]
    return RelaxationFit(*out)
