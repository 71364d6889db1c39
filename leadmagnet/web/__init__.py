"""The web layer: blueprints, response headers, compression and error pages (Flask lives here).

Views reach the app's :class:`~leadmagnet.services.Services` through :func:`current_services`,
the one place that knows where the factory keeps it.
"""

from __future__ import annotations

from flask import Flask, current_app

from leadmagnet.services import Services

EXTENSION = "leadmagnet"


def services_of(app: Flask) -> Services:
    """The :class:`Services` that :func:`leadmagnet.app.create_app` built for ``app``."""
    return app.extensions[EXTENSION]


def current_services() -> Services:
    """The :class:`Services` of the app handling the current request or CLI command."""
    return current_app.extensions[EXTENSION]
