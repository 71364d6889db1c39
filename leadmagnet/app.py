"""leadmagnet: Markdown-first landing pages and lead magnets.

This module holds only the application factory: it loads settings, opens the store and runs
migrations, loads the content catalog, and registers blueprints, error pages and headers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadmagnet.foundation import config

if TYPE_CHECKING:
    from flask import Flask


log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the leadmagnet app. ``overrides`` win over every other source of settings."""
    # Imported here, not at the top: the CLI (``leadmagnet build``, ``check``...) imports this
    # package without building an app, and these pull in Flask, the store and the web layer
    # (a fifth of a second that ``leadmagnet build`` does not pay).
    from flask import Flask

    from leadmagnet.content.catalog import CatalogCache
    from leadmagnet.delivery import mail
    from leadmagnet.leads import throttle
    from leadmagnet.render import compression as compress
    from leadmagnet.render.renderer import Renderer
    from leadmagnet.render.themes import Themes, bundled_dir
    from leadmagnet.services import Site
    from leadmagnet.store import Store
    from leadmagnet.web import errors, headers

    settings = config.resolve(overrides)
    throttle.check_settings(settings)
    mail.check_settings(settings)
    instance_dir = Path(settings["INSTANCE_DIR"])
    app = Flask(__name__, instance_path=str(instance_dir), instance_relative_config=True, static_folder=None)
    app.config.update(settings)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.ensure_secret_key(instance_dir)

    content_dir = Path(app.config["CONTENT_DIR"])
    # Only a folder nobody named falls back to the samples: a mistyped setting must not put the
    # samples online in production (the catalog reports the missing folder and /healthz says 503).
    if not content_dir.is_dir() and not config.is_set("CONTENT_DIR", overrides):
        log.warning("content folder %s does not exist: serving the bundled sample offers", content_dir)
        content_dir = bundled_dir("content")
        app.config["CONTENT_DIR"] = str(content_dir)

    store = Store(app.config["DATABASE"])
    store.migrate()

    themes = Themes(Path(app.config["THEMES_DIR"]))
    renderer = Renderer(app.config, themes, app)
    watch = tuple(p for p in (Path(app.config["THEMES_DIR"]), themes.bundled) if p.is_dir())
    catalog_cache = CatalogCache(content_dir, watch=watch, interval=float(app.config["RELOAD_INTERVAL"]), check_theme=themes.problem)
    catalog_cache.listeners.append(lambda _catalog: renderer.reset())
    app.extensions["leadmagnet"] = Site(app, catalog_cache, store, themes, renderer, {})

    from leadmagnet.web import admin, beacon, capture, downloads, pages

    app.register_blueprint(pages.bp)
    app.register_blueprint(admin.bp)  # /admin: login, dashboard, leads, exports, erasure
    app.register_blueprint(downloads.bp)  # signed downloads, .ics, confirm, unsubscribe
    capture.init_app(app)  # the form POST, thank-you page, page-view counter
    app.register_blueprint(beacon.bp)
    errors.register(app)
    headers.register(app)
    compress.register(app)
    return app
