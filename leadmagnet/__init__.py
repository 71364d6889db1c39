"""leadmagnet: Markdown-first landing pages and lead magnets.

The package is layered (see docs/decisions.md, "Architecture"); the application factory lives in
:mod:`leadmagnet.app` and is re-exported here, imported on first use so that ``leadmagnet build``
and ``check`` do not pay for Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadmagnet.foundation.version import __version__

__all__ = ["__version__", "create_app"]

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the leadmagnet app (:func:`leadmagnet.app.create_app`)."""
    from leadmagnet.app import create_app as factory

    return factory(overrides)
