"""The services one app instance holds: settings, content catalog, store, themes, renderer.

The factory builds one :class:`Site` and keeps it in ``app.extensions["leadmagnet"]``; blueprints
reach it with :func:`current_site`. The CLI, build and tests can build a ``Site`` from an app too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from leadmagnet.content.catalog import Catalog, CatalogCache
from leadmagnet.render.renderer import Renderer
from leadmagnet.render.themes import Themes
from leadmagnet.store import Store


@dataclass
class Site:
    app: Flask
    catalog_cache: CatalogCache
    store: Store
    themes: Themes
    renderer: Renderer
    extras: dict[str, Any]

    @property
    def catalog(self) -> Catalog:
        return self.catalog_cache.get()

    @property
    def content_dir(self) -> Path:
        return self.catalog_cache.content_dir


def current_site() -> Site:
    """The :class:`Site` of the app handling the current request or CLI command."""
    return current_app.extensions["leadmagnet"]
