"""The version of leadmagnet (one place: the package, the build cache key and pyproject agree)."""

__version__ = "0.1.0"
