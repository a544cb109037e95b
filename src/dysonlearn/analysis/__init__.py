"""Statistics of learnt spectra (SPEC section D).

Works on :class:`~dysonlearn.EnsembleResult` objects and on plain arrays of eigenvalues
with axis order (replica, snapshot, mode), so spectra from any source can be analysed.
"""

from .densities import (
    gaussian_pdf,
    marchenko_pastur_pdf,
    semicircle2_pdf,
    spacing_pdf,
    wigner_cdf,
    wigner_surmise,
)
from .modes import mode_statistics
from .spacings import degenerate_groups, level_spacings
from .statistics import binder_cumulant, freedman_diaconis_bins, gap_ratio, jackknife

__all__ = [
    "binder_cumulant",
    "degenerate_groups",
    "freedman_diaconis_bins",
    "gap_ratio",
    "gaussian_pdf",
    "jackknife",
    "level_spacings",
    "marchenko_pastur_pdf",
    "mode_statistics",
    "semicircle2_pdf",
    "spacing_pdf",
    "wigner_cdf",
    "wigner_surmise",
]
