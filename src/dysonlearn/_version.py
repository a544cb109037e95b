"""The installed package's version (from its metadata) and the git commit it was built
from, importable without import cycles."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dysonlearn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

try:  # written by meson at build time (see meson.build)
    from ._build_info import GIT_COMMIT as __commit__
except ImportError:  # pragma: no cover - sources imported without a build
    __commit__ = ""
