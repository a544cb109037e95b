"""The model protocol: what the ensemble, the store, the analysis and the figures ask a model.

A model is a plugin: its configuration class (``config.py``), one module
``models/<name>.py`` holding a subclass of :class:`Model` and an instance of it named
``MODEL``, and its kernel (``_core/<name>.pyx``, one line in the meson list). The registry
:data:`dysonlearn.models.MODELS` finds the module by itself; nothing outside a model's own
files branches on its type.

:class:`Model` is an abstract base class: the training members are abstract, the theory and
the labels have defaults that fit a model whose learnt levels settle at the levels the
configuration names, with a width set by a noise ``A`` :eq:`level-width`,
:eq:`ts-degenerate-spacing` (the teacher-student model and the linear Dyson motion), so that a new
model overrides only what differs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

# Every member of the protocol, in the order of the class below (tests check each model).
MEMBERS = (
    "kind",
    "config_class",
    "name",
    "initial_state",
    "advance",
    "final_state",
    "cost_per_replica_step",
    "bytes_per_replica",
    "records",
    "stationary_levels",
    "level_widths",
    "level_kappas",
    "fitted_lambda",
    "scale_factor",
    "predicted_slope",
    "predicted_mean_spacing",
    "finite_lr_factors",
    "relaxation_rates",
    "labels",
    "labels_for",
    "point_figures",
    "scan_figures",
)


def optimizer_rate_factor(config) -> float:
    """lr_eff / lr of the configuration's optimiser: 1 for SGD (and models without an
    optimiser), 1 / (1 - beta) for momentum :eq:`effective-lr`, NaN for Adam and AdamW (no
    closed form).

    Parameters
    ----------
    config : model configuration

    Returns
    -------
    float
    """
    optimizer = getattr(config, "optimizer", None)
    if optimizer is None or optimizer.kind == "sgd":
        return 1.0
    return optimizer.effective_lr(1.0)


def with_optimizer_rate(config, q: float) -> float:
    """q of the scaling variable sqrt(lr q / B) with the optimiser's effective rate folded
    in: ``q`` itself under SGD (bit for bit), q / (1 - beta) under momentum, NaN under Adam.

    Parameters
    ----------
    config : model configuration
    q : float
        The model's q under SGD.

    Returns
    -------
    float
    """
    factor = optimizer_rate_factor(config)
    return q if factor == 1.0 else q * factor


@dataclass(frozen=True)
class Record:
    """One array a model records at each snapshot beside its spectrum (:meth:`Model.records`).

    Attributes
    ----------
    n_values : int
        The values of one snapshot of one replica.
    description : str
        What they are, in plain text (the ``description`` of the store's dataset).
    axis : str
        The name of the values' axis (after ``replica`` and ``snapshot``).
    """

    n_values: int
    description: str
    axis: str = "value"


@dataclass(frozen=True)
class Labels:
    """A model's words and symbols in figures and tables; the defaults fit a model whose
    levels settle at the kappa it names with a width set by a noise A.

    The symbols are those of the whole package: alpha the learning rate, B the batch size,
    A the noise added by hand, x_i the learnt eigenvalues, kappa_i the target ones, sigma
    the width of a level, S a spacing.

    Attributes
    ----------
    noise_symbol : str
        The noise in titles (mathtext without dollars).
    level_symbol : str
        What labels a level in the scaling figure's legend (mathtext without dollars).
    level_label : str
        The legend of the stationary levels over histograms and trajectories (mathtext).
    eigenvalue_label : str
        The axis label of a recorded eigenvalue (mathtext).
    scale_label : str
        The axis label of the scaling variable (mathtext).
    scale_text : str
        The scaling variable in plain text, for tables (``summary.md``, ``reproduce.md``).
    slope_text : str
        The predicted alpha -> 0 slope of <S> against it, in plain text.
    eigenvalue_text : str
        What x_i is, in plain text (the summaries' list of symbols).
    kappa_text : str
        What kappa_i is, in plain text.
    level_text : str
        Where x_i settles (x*_i), in plain text.
    state_text : str
        What the final state kept by ``keep_weights`` is, in plain text (the
        ``description`` of the store's ``weights`` dataset).
    state_axes : tuple of str
        The names of the axes of that state, replica first; empty when unnamed.
    """

    noise_symbol: str = "A"
    level_symbol: str = "x^*"
    level_label: str = r"$x^*$"
    eigenvalue_label: str = r"eigenvalue $x$ of $W$"
    scale_label: str = r"$\sqrt{\alpha A^2/B}$"
    scale_text: str = "sqrt(alpha A^2 / B)"
    slope_text: str = "sqrt(pi) = 1.772"
    eigenvalue_text: str = "learnt eigenvalues of W, ascending"
    kappa_text: str = "target eigenvalues"
    level_text: str = "the stationary level of x_i: x*_i = kappa_i"
    state_text: str = "final weight matrix W of each replica"
    state_axes: tuple = ()


class Model(ABC):
    """One model: how its configuration trains, and the theory it knows.

    Attributes
    ----------
    kind : str
        The TOML ``[model] kind``, equal to ``config_class.kind`` (the registry's key).
    config_class : type
        The frozen dataclass of its configuration (``from_dict``, ``to_dict``, the
        ``stationary_levels`` and ``level_widths`` properties, ...).
    name : str
        The model's name in figure titles, e.g. ``"RBM"``.
    """

    kind: str = ""
    config_class: type = type(None)
    name: str = ""

    def __repr__(self) -> str:
        return f"<dysonlearn model {self.kind!r}>"

    # -- training --------------------------------------------------------------------------

    @abstractmethod
    def initial_state(self, config, generators: list, shared=None):
        """The training state of a block of replicas at step 0.

        Parameters
        ----------
        config : config_class
            The configuration trained.
        generators : list of numpy.random.Generator
            One per replica, each on its replica's own stream (``SeedSequence.spawn``).
        shared : numpy.random.Generator, optional
            A generator for what all replicas share (e.g. a common data set).

        Returns
        -------
        object
            The model's state, advanced in place by :meth:`advance`.
        """

    @abstractmethod
    def advance(self, config, state, generators: list, start: int, stop: int,
                snapshot_steps: np.ndarray, eigenvalues: np.ndarray, failed: np.ndarray,
                fail_step: np.ndarray, normal_method: str = "ziggurat",
                records: dict | None = None) -> None:  # fmt: skip
        """Train from ``start`` to ``stop`` in place; fill the snapshots in that span.

        Parameters
        ----------
        config : config_class
            The configuration trained.
        state : object
            What :meth:`initial_state` returned, advanced in place.
        generators : list of numpy.random.BitGenerator
            One per replica.
        start, stop : int
            The span of steps to train.
        snapshot_steps : numpy.ndarray
            (S,) steps at which spectra are recorded (step 0 included).
        eigenvalues : numpy.ndarray
            (R, S, N) float64, filled at the snapshots in the span (ascending).
        failed, fail_step : numpy.ndarray
            (R,) flags and steps of the replicas that diverge, set in place.
        normal_method : str
            The standard normal sampler of the kernel ("ziggurat" or ...).
        records : dict of str to numpy.ndarray, optional
            Passed (by keyword) only to a model whose :meth:`records` names some: for each,
            an (R, S, n_values) float64 array to fill at the snapshots in the span, as
            ``eigenvalues``.
        """

    @abstractmethod
    def final_state(self, state) -> np.ndarray:
        """The array ``keep_weights`` keeps of a trained block.

        Parameters
        ----------
        state : object
            What :meth:`initial_state` returned.

        Returns
        -------
        numpy.ndarray
            (R, ...) the replicas' final weights, students or levels.
        """

    @abstractmethod
    def cost_per_replica_step(self, config) -> float:
        """Rough seconds per replica-step on one core, for sizing blocks and progress.

        Parameters
        ----------
        config : config_class
            The configuration trained.

        Returns
        -------
        float
            A sizing estimate, not a measurement (``dysonlearn run --dry-run`` measures).
        """

    def records(self, config) -> dict:
        """What the model records at each snapshot beside its spectrum.

        The ensemble allocates an (R, S, n_values) array for each, passes them to
        :meth:`advance` as ``records``, and keeps them in
        :attr:`EnsembleResult.records <dysonlearn.EnsembleResult.records>` and the store
        (a dataset of the point's group at the record's name).

        Parameters
        ----------
        config : config_class

        Returns
        -------
        dict of str to Record
            In the order they are recorded; none by default.
        """
        return {}

    def bytes_per_replica(self, config) -> float:
        """Memory of one replica's training state.

        Parameters
        ----------
        config : config_class
            The configuration trained.

        Returns
        -------
        float
            ``config.state_bytes_per_replica`` (the configuration's own estimate).
        """
        return float(config.state_bytes_per_replica)

    # -- theory ----------------------------------------------------------------------------

    def stationary_levels(self, config) -> np.ndarray:
        """Where the learnt levels settle, ascending.

        Parameters
        ----------
        config : config_class

        Returns
        -------
        numpy.ndarray
            (N,) ``config.stationary_levels``.
        """
        return config.stationary_levels

    def level_widths(self, config) -> np.ndarray:
        """Predicted stationary width sigma of each level :eq:`level-width`.

        Parameters
        ----------
        config : config_class

        Returns
        -------
        numpy.ndarray
            (N,) ``config.level_widths``.
        """
        return config.level_widths

    def level_kappas(self, config) -> np.ndarray:
        """kappa of each sorted learnt level (the eigenvalue of what is learnt).

        Parameters
        ----------
        config : config_class

        Returns
        -------
        numpy.ndarray
            (N,) by default the stationary levels themselves.
        """
        return self.stationary_levels(config)

    def fitted_lambda(self, config, x0: float) -> float:
        """The learnt eigenvalue lambda_fit whose fitted level centre is ``x0``
        (:doc:`/theory/rbm`).

        Parameters
        ----------
        config : config_class
        x0 : float
            The fitted centre of a level (:eq:`semicircle2` for a pair, a Gaussian otherwise).

        Returns
        -------
        float
            By default ``x0`` itself.
        """
        return x0

    def scale_factor(self, config, level: float, kappa: float) -> float:
        """q of the scaling variable sqrt(lr q / B) of one level (analysis.scaling).

        Parameters
        ----------
        config : config_class
        level : float
            The level's stationary value x*.
        kappa : float
            Its kappa (:meth:`level_kappas`).

        Returns
        -------
        float
            By default A^2, the square of the noise :eq:`ts-degenerate-spacing`; divided by
            1 - beta under momentum (the effective rate :eq:`effective-lr`), NaN under Adam
            (see :func:`optimizer_rate_factor`).
        """
        return with_optimizer_rate(config, config.noise**2)

    def predicted_slope(self, config) -> tuple[float, str]:
        """The lr -> 0 slope of <S> = sqrt(pi) sigma against sqrt(lr q / B), and its label.

        Parameters
        ----------
        config : config_class

        Returns
        -------
        slope : float
            By default sqrt(pi) :eq:`ts-degenerate-spacing`.
        label : str
            Mathtext naming the equation, for the figure's legend.
        """
        return math.sqrt(math.pi), r"prediction $\sqrt{\pi}$"

    def predicted_mean_spacing(self, lr: float, batch_size: int, noise) -> float | None:
        """<S> of a degenerate pair predicted from the scan parameters alone, at finite lr.

        Parameters
        ----------
        lr, batch_size, noise
            A scan point's parameters (``noise`` None for a model without one).

        Returns
        -------
        float or None
            None (the default) when the prediction needs more than these parameters.
        """
        return None

    def finite_lr_factors(self, config) -> np.ndarray | None:
        """f of each level: its predicted width at the configuration's finite learning rate
        over the alpha -> 0 limit of that width.

        Parameters
        ----------
        config : config_class

        Returns
        -------
        numpy.ndarray or None
            (N,) the factors; None (the default) when the predicted widths are the
            alpha -> 0 ones.
        """
        return None

    def relaxation_rates(self, config) -> np.ndarray:
        """The harmonic relaxation rate of each level's mean at small lr, per unit
        t = lr * step: the curvature c_i of the drift at the level (its autocorrelation in
        the stationary state decays as exp(-c_i t), :eq:`acf-decay`).

        By default c = 1 for every level, the linear drift W <- W + lr (W_T - W) of the
        teacher-student model :eq:`ts-update`; times 1 / (1 - beta) under momentum (its
        effective rate, :eq:`effective-lr`), NaN under Adam (see
        :func:`optimizer_rate_factor`). Levels of a degenerate group mix this rate with
        that of their spacing, which their mutual repulsion makes faster.

        Parameters
        ----------
        config : config_class

        Returns
        -------
        numpy.ndarray
            (N,) rates per unit t.
        """
        return np.full(config.n_modes, optimizer_rate_factor(config))

    # -- labels ----------------------------------------------------------------------------

    labels: Labels = Labels()
    """The model's words and symbols in figures and tables (see :class:`Labels`)."""

    def labels_for(self, config) -> Labels:
        """The labels of one configuration: :attr:`labels`, unless they depend on it.

        Parameters
        ----------
        config : config_class

        Returns
        -------
        Labels
        """
        return self.labels

    # -- figures ---------------------------------------------------------------------------

    def point_figures(self, result) -> list:
        """The figures of one scan point that only this model has.

        Parameters
        ----------
        result : EnsembleResult
            One point of this model.

        Returns
        -------
        list of (str, matplotlib.figure.Figure)
            File stems and figures; none by default.
        """
        return []

    def scan_figures(self, results: list, snapshots: int = 1) -> list:
        """The figures of a whole scan that only this model has.

        Parameters
        ----------
        results : list of EnsembleResult
            The points of this model (in scan order).
        snapshots : int
            The last ``snapshots`` snapshots are pooled.

        Returns
        -------
        list of (str, matplotlib.figure.Figure)
            File stems and figures; none by default.
        """
        return []
