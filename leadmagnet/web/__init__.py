"""The web layer: blueprints, response headers, compression and error pages (Flask lives here).

Views reach the app's :class:`~leadmagnet.services.Services` through :func:`current_services`,
the one place that knows where the factory keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

from leadmagnet.services import Services
from leadmagnet.store import DatabaseError

log = logging.getLogger(__name__)

EXTENSION = "leadmagnet"


def services_of(app: Flask) -> Services:
    """The :class:`Services` that :func:`leadmagnet.app.create_app` built for ``app``."""
    return app.extensions[EXTENSION]


def current_services() -> Services:
    """The :class:`Services` of the app handling the current request or CLI command."""
    return current_app.extensions[EXTENSION]


def seat_counter(services: Services) -> Callable[[str], int | None]:
    """What the renderer calls (at most once a minute a webinar) to count a webinar's seats taken:
    None when the database cannot say, and the page then shows no seat line."""

    def seats_taken(slug: str) -> int | None:
        try:
            return services.store.seats_taken(slug)
        except (DatabaseError, OSError):
            log.exception("could not count the seats of %s; its page shows no seat line", slug)
            return None

    return seats_taken
