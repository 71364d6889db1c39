"""leadmagnet: Markdown-first landing pages and lead magnets.

This module holds only the application factory: it loads settings, opens the store and runs
migrations (SQLite; a PostgreSQL database is migrated by `leadmagnet db migrate`, and the app
refuses to start while one is pending), loads the content catalog, and registers blueprints,
error pages and headers; and :func:`build_exports`, the part of it ``leadmagnet export`` needs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadmagnet.foundation import config

if TYPE_CHECKING:
    from flask import Flask

    from leadmagnet.export.exports import Exports
    from leadmagnet.services import Services
    from leadmagnet.store import Store


log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the leadmagnet app. ``overrides`` win over every other source of settings.

    The factory only wires: it resolves the settings, builds the app's :class:`Services` whole
    (store, catalog, renderer, throttle, page-view counter, compression cache, CSP) and registers
    the blueprints and response hooks. Nothing is started here: a serving process starts its
    sender with :func:`start_serving` (``wsgi.py``, ``leadmagnet serve``), never the CLI.
    """
    # Imported here, not at the top: the CLI (``leadmagnet build``, ``check``...) imports this
    # module without building an app, and these pull in Flask, the store and the web layer
    # (a fifth of a second that ``leadmagnet build`` does not pay).
    from flask import Flask

    from leadmagnet.delivery import mail
    from leadmagnet.leads import throttle
    from leadmagnet.render.themes import bundled_dir
    from leadmagnet.web import (
        EXTENSION,
        admin,
        admin_dashboard,  # noqa: F401 - adds the dashboard (/admin/) and its CSV downloads to the admin blueprint
        admin_nurture,  # noqa: F401 - its routes join admin.bp when imported, before it is registered
        admin_webhooks,  # noqa: F401 - adds /admin/webhooks to the admin blueprint
        beacon,
        capture,
        compression,
        downloads,
        errors,
        fastpath,
        headers,
        pages,
    )
    from leadmagnet.web.sessions import CookieSessions

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

    services = build_services(app, content_dir, instance_dir)
    app.extensions[EXTENSION] = services
    if services.store.backend == "postgresql":
        # A request's pooled connection goes back to the pool when it ends: the threads of a threaded
        # server (gthread, `leadmagnet serve`) end with their request and would keep it for good.
        app.teardown_appcontext(lambda _exc: services.store.close())
    app.session_interface = CookieSessions()  # opened only for a request with a cookie (the admin)

    app.register_blueprint(pages.bp)
    app.register_blueprint(admin.bp)  # /admin: login, dashboard, leads, exports, erasure, webhooks
    app.register_blueprint(downloads.bp)  # signed downloads, .ics, confirm, unsubscribe
    app.register_blueprint(capture.bp)  # the form POST and the thank-you page
    app.register_blueprint(beacon.bp)  # page views of exported pages
    errors.register(app)
    # Plain landing pages are answered before Flask builds a request (web/fastpath.py); inside
    # ProxyFix (added by headers.register), which sets the scheme the security headers depend on.
    reserved = {rule.rule[1:] for rule in app.url_map.iter_rules() if rule.rule.count("/") == 1 and "<" not in rule.rule}
    app.wsgi_app = fastpath.LandingPages(app.wsgi_app, services, reserved)  # type: ignore[method-assign]
    headers.register(app, services)
    compression.register(app, services.compressed)
    return app


def build_services(app: Flask, content_dir: Path, instance_dir: Path) -> Services:
    """Every long-lived object of ``app``, made once, in the order they depend on each other."""
    from leadmagnet.content.catalog import CatalogCache
    from leadmagnet.delivery import mail
    from leadmagnet.delivery.erasure import Erasure
    from leadmagnet.delivery.submissions import Deliveries
    from leadmagnet.delivery.webhooks import Webhooks
    from leadmagnet.experiments.report import ABReports
    from leadmagnet.export.exports import Exports
    from leadmagnet.leads.pageviews import ViewCounter
    from leadmagnet.leads.throttle import Throttle
    from leadmagnet.render.compression import CompressedCache
    from leadmagnet.render.csp import PolicyCache
    from leadmagnet.render.renderer import Renderer
    from leadmagnet.render.themes import Themes
    from leadmagnet.services import Services
    from leadmagnet.store.ratelimits import RateLimits

    cfg = app.config
    store = open_store(cfg["DATABASE"])
    themes = Themes(Path(cfg["THEMES_DIR"]))
    renderer = Renderer(cfg, themes, app)
    watch = tuple(p for p in (Path(cfg["THEMES_DIR"]), themes.bundled) if p.is_dir())
    catalog_cache = CatalogCache(content_dir, watch=watch, interval=float(cfg["RELOAD_INTERVAL"]), check_theme=themes.problem)
    catalog_cache.listeners.append(lambda _catalog: renderer.reset())
    # SQLite: a file of its own on this machine; PostgreSQL: the database's table, shared by every node.
    rate_limits = RateLimits(store.path if store.backend == "postgresql" else instance_dir / "ratelimit.db")
    webhooks = Webhooks(cfg, store)  # [[webhooks]] in config.toml, checked here: a bad table stops the start, named
    return Services(
        settings=cfg,
        catalog_cache=catalog_cache,
        store=store,
        themes=themes,
        renderer=renderer,
        # Counters in their own file (or, on PostgreSQL, outside the write lock): a hit never waits on a lead's write.
        throttle=Throttle(rate_limits),
        page_views=ViewCounter(store.add_page_views, float(cfg.get("VIEW_FLUSH_SECONDS", 10.0))),
        compressed=CompressedCache(),
        csp=PolicyCache(),
        exports=Exports(store, cfg.get("CRM"), catalog_cache.get),
        deliveries=Deliveries(cfg, store, catalog_cache, renderer, webhooks),
        erasure=Erasure(store, mail.outbox_dir(cfg), rate_limits, webhooks),
        webhooks=webhooks,
        variant_views=ViewCounter(store.add_variant_views, float(cfg.get("VIEW_FLUSH_SECONDS", 10.0))),
        ab=ABReports(store, catalog_cache.get),
    )


def build_exports(overrides: dict[str, Any] | None = None) -> Exports:
    """What ``leadmagnet export`` needs, without the app: the settings, the store (migrated, as a start
    of the app would) and the catalog (for the offers' custom fields). The app's other services
    (renderer, themes, mail, the web layer) cost a second of CPU to import and build."""
    from leadmagnet.content.catalog import CatalogCache
    from leadmagnet.export.exports import Exports
    from leadmagnet.render.themes import Themes, bundled_dir

    settings = config.resolve(overrides)
    content_dir = Path(settings["CONTENT_DIR"])
    if not content_dir.is_dir() and not config.is_set("CONTENT_DIR", overrides):
        content_dir = bundled_dir("content")  # as create_app: only a folder nobody named falls back to the samples
    store = open_store(settings["DATABASE"])
    # The same offers as the app's catalog (one with a broken theme is left out there): the same columns.
    themes = Themes(Path(settings["THEMES_DIR"]))
    catalog = CatalogCache(content_dir, interval=-1, check_theme=themes.problem)  # read once: an export is one run
    return Exports(store, settings.get("CRM"), catalog.get)


def open_store(database: str) -> Store:
    """The store of ``database``, its schema brought up to date (SQLite) or checked (PostgreSQL)."""
    from leadmagnet.store import Store

    store = Store(database)
    if store.backend == "postgresql":
        # Several nodes share the database: the schema changes once per deploy, from one place
        # (`leadmagnet db migrate`), never from whichever worker of whichever node starts first.
        require_migrated(store, database)
    else:
        store.migrate()  # one machine: every start brings the file up to date (one worker does it)
    return store


class PendingMigrations(ValueError):
    """The PostgreSQL database lacks migrations this version needs: `leadmagnet db migrate` first."""


def require_migrated(store: Store, database: str) -> None:
    """Refuse to start on a PostgreSQL database whose schema is behind this version's.

    A node that started on an old schema would fail on its first write; naming the command that
    fixes it at start is kinder than a 500 on the first lead.
    """
    from leadmagnet.foundation import database_url
    from leadmagnet.store import StoreUnavailable

    try:
        pending = store.pending_migrations()
    except StoreUnavailable as exc:
        # The server is down or failing over: start anyway (gunicorn stops a whole node when a
        # worker fails to boot). /healthz answers 503 and captures fail cleanly until it is back.
        log.warning(
            "could not check the migrations of %s (%s); starting anyway",
            database_url.masked(database),
            database_url.scrubbed(str(exc), database),
        )
        return
    if pending:
        listed = ", ".join(pending) if len(pending) <= 3 else f"{pending[0]} … {pending[-1]}"
        raise PendingMigrations(
            f"the database {database_url.masked(database)} lacks {len(pending)} migration(s) ({listed}): "
            "run `leadmagnet db migrate` once (from one machine, once per deploy), then start the servers"
        )


def start_serving(app: Flask) -> Flask:
    """What a process that serves requests runs beside them: with ``SEND_IN_SERVER``, the sender.

    Called by the wiring of each serving process (``wsgi.py`` in every gunicorn worker, after the
    fork, since the app is not preloaded; ``leadmagnet serve``), never by the CLI's other commands,
    which build the app too. The outbox leases keep two workers from sending one email twice.
    """
    from leadmagnet.web import services_of

    services = services_of(app)
    if app.config.get("SEND_IN_SERVER") and services.sender is None:
        services.sender = services.deliveries.start_background_sender()
    return app
