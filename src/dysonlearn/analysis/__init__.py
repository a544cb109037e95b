"""Statistics of learnt spectra (SPEC section D).

Works on :class:`~dysonlearn.EnsembleResult` objects and on plain arrays of eigenvalues
with axis order (replica, snapshot, mode), so spectra from any source can be analysed.
"""

from .modes import mode_statistics
from .spacings import degenerate_groups, level_spacings

__all__ = ["degenerate_groups", "level_spacings", "mode_statistics"]
