"""The installed package's version (from its metadata), importable without import cycles."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dysonlearn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
