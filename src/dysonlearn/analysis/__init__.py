"""Statistics of learnt spectra (:doc:`/theory/statistics`).

Works on :class:`~dysonlearn.EnsembleResult` objects and on plain arrays of eigenvalues
with axis order (replica, snapshot, mode), so spectra from any source can be analysed.
"""

from .balancedness import (
    BalancednessDrift,
    DriftFit,
    balanced_layers,
    balancedness,
    balancedness_drift,
    bottleneck_drift_rate,
    diffusion_prefactor,
    fit_drift,
    split_layers,
)
from .bulk import (
    GOE_GAP_RATIO,
    POISSON_GAP_RATIO,
    BulkStatistics,
    MarchenkoPasturTest,
    bulk_statistics,
    marchenko_pastur_test,
)
from .densities import (
    gaussian_cdf,
    gaussian_pdf,
    marchenko_pastur_pdf,
    semicircle2_cdf,
    semicircle2_pdf,
    spacing_pdf,
    wigner_cdf,
    wigner_surmise,
)
from .fits import (
    GroupFit,
    LevelFit,
    SlopeFit,
    WignerFit,
    fit_gaussian,
    fit_levels,
    fit_semicircle2,
    fit_slope_through_origin,
    fit_wigner,
)
from .layers import (
    POISSON_SMALL_FRACTION,
    WIGNER_SMALL_FRACTION,
    LayerPairFit,
    layer_pair_fits,
    layer_pairs,
)
from .fokker_planck import FokkerPlanckMode, RelaxationFit, relaxation_rate
from .power_law import PowerLawFit, fit_power_law, fit_spacing_power_law
from .scaling import ScalingTable, scaling_table
from .spacings import degenerate_groups, level_spacings
from .statistics import binder_cumulant, freedman_diaconis_bins, gap_ratio, jackknife
from .summary import summarize
from .timeseries import (
    AutocorrelationDecay,
    StationarityTest,
    autocorrelation,
    autocorrelation_decay,
    effective_sample_size,
    integrated_autocorrelation_time,
    stationarity_test,
    time_series_mean,
    time_series_summary,
)
from .unfolding import marchenko_pastur_cdf, semicircle_cdf, unfold

__all__ = [
    "GOE_GAP_RATIO",
    "POISSON_GAP_RATIO",
    "POISSON_SMALL_FRACTION",
    "WIGNER_SMALL_FRACTION",
    "LayerPairFit",
    "layer_pair_fits",
    "layer_pairs",
    "AutocorrelationDecay",
    "BalancednessDrift",
    "BulkStatistics",
    "DriftFit",
    "FokkerPlanckMode",
    "GroupFit",
    "LevelFit",
    "MarchenkoPasturTest",
    "PowerLawFit",
    "RelaxationFit",
    "ScalingTable",
    "SlopeFit",
    "StationarityTest",
    "WignerFit",
    "autocorrelation",
    "autocorrelation_decay",
    "balanced_layers",
    "balancedness",
    "balancedness_drift",
    "bottleneck_drift_rate",
    "binder_cumulant",
    "bulk_statistics",
    "degenerate_groups",
    "diffusion_prefactor",
    "effective_sample_size",
    "fit_drift",
    "fit_gaussian",
    "fit_levels",
    "fit_power_law",
    "fit_semicircle2",
    "fit_slope_through_origin",
    "fit_spacing_power_law",
    "fit_wigner",
    "freedman_diaconis_bins",
    "gap_ratio",
    "gaussian_cdf",
    "gaussian_pdf",
    "integrated_autocorrelation_time",
    "jackknife",
    "level_spacings",
    "marchenko_pastur_cdf",
    "marchenko_pastur_pdf",
    "marchenko_pastur_test",
    "relaxation_rate",
    "scaling_table",
    "semicircle2_cdf",
    "semicircle2_pdf",
    "semicircle_cdf",
    "spacing_pdf",
    "split_layers",
    "stationarity_test",
    "summarize",
    "time_series_mean",
    "time_series_summary",
    "unfold",
    "wigner_cdf",
    "wigner_surmise",
]
