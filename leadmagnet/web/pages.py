"""Public pages: the offer index and its tag pages, landing pages, Open Graph cards, media and
theme files, sitemap, robots, health.

Every response here is the same for every visitor, so each carries an ``ETag`` and a short
``Cache-Control`` and answers ``If-None-Match`` with 304. Only files a page shows (the offer's
``image``, presenter photos, images in the Markdown) are served from the content folder.

A landing-page GET (200 or 304) also counts one view (offer, UTC day, ``utm_source``) in the
batched in-memory counter of :mod:`leadmagnet.leads.pageviews`; the page's bytes never depend on it.
An offer under an A/B test is the exception: each visitor sees the variant their cookie names
(drawn by the weights on the first view; crawlers get the control), so its page is ``private``
and ``Vary: Cookie``, and each view is counted for its variant too.
A webinar with a ``capacity`` shows its seat state (a few seats left, or full), which is the same
for everyone at a moment: it keys the page cache, and the count is read from the store at most
once a minute (:meth:`leadmagnet.render.renderer.Renderer.seats`).
"""

from __future__ import annotations

import functools
import logging
import mimetypes
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, request, send_file
from werkzeug.http import parse_etags

from leadmagnet.content.catalog import Catalog
from leadmagnet.leads import assignment
from leadmagnet.leads.pageviews import today
from leadmagnet.render import compression
from leadmagnet.render.listing import index_context
from leadmagnet.render.renderer import Rendered, etag_for
from leadmagnet.render.seo import robots_txt, sitemap_xml
from leadmagnet.services import Services
from leadmagnet.web import current_services
from leadmagnet.web.headers import Finished, security_headers

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"


def page_response(rendered: Rendered, content_type: str = "text/html; charset=utf-8", private: bool = False) -> Response:
    """A cacheable response for bytes that are the same for every visitor (ETag, 304).

    ``private``: the bytes depend on the visitor's A/B cookie, so only the browser may keep
    them (``Cache-Control: private``, ``Vary: Cookie``): a CDN must not hand one variant to all.
    """
    status, headers, body = answer(current_services(), rendered, request.environ, content_type, private)
    return Finished(body, status=status, headers=headers)


def answer(
    services: Services, rendered: Rendered, environ: dict[str, Any], content_type: str = "text/html; charset=utf-8", private: bool = False
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, complete headers (security headers too) and body of a page response, from the WSGI environ.

    Hot path: raw header strings and one ETag compare. werkzeug's set_etag, cache_control and
    make_conditional parse and re-serialise headers on every call (profiled: they cost more than
    the whole cached page lookup); byte ranges are not needed for pages. The compressed variant
    (cached per page version) is chosen here, so that its own ETag is the one compared.
    """
    body, etag, coding = compression.for_client(rendered.etag, rendered.body, environ.get("HTTP_ACCEPT_ENCODING"), services.compressed)
    headers = [
        ("ETag", f'"{etag}"'),
        ("Cache-Control", f"{'private' if private else 'public'}, max-age={services.settings['PAGE_MAX_AGE']}"),
        ("Content-Type", content_type),
        ("Vary", "Accept-Encoding, Cookie" if private else "Accept-Encoding"),
        *security_headers(services, environ["wsgi.url_scheme"] == "https"),
    ]
    if rendered.status == 200 and "HTTP_IF_NONE_MATCH" in environ and parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains_weak(etag):
        return 304, headers, b""
    if coding:
        headers.append(("Content-Encoding", coding))
    return rendered.status, headers, body


@bp.get("/")
def index() -> Response:
    return listing(None)


@bp.get("/tag/<tag>")
def tag_page(tag: str) -> Response:
    """The index filtered to one tag (a plain link from the index: no script)."""
    return listing(tag)


def listing(tag: str | None) -> Response:
    """The index or one tag's page; 404 for a tag that no published offer has."""
    if not current_app.config["INDEX_PAGE"]:
        abort(404)
    site = current_services()
    catalog = site.catalog
    now = datetime.now(UTC)
    context = index_context(catalog.offers(), now, current_app.config["BASE_URL"], tag)
    if context is None:
        abort(404)

    def produce() -> Rendered:
        body = site.renderer.render("index.html", **context).encode()
        return Rendered(body, etag_for(body))

    return page_response(site.renderer.cached(catalog, ("index", tag, window_key(catalog, now)), produce, ("index", tag)))


@bp.get("/<slug>")
def offer(slug: str) -> Response:
    """A landing page; a GET answered 200 or 304 counts one view (in memory, written in batches).

    A page without an A/B test is usually answered before Flask sees the request
    (:mod:`leadmagnet.web.fastpath`, by :func:`plain_offer`); this view answers the rest: A/B
    tests (a cookie to set), pages that do not exist or are not published (the 404 page).
    """
    site = current_services()
    environ = request.environ
    answered = plain_offer(site, slug, environ)
    if answered is not None:
        status, headers, body = answered
        return Finished(body, status=status, headers=headers)
    catalog = site.catalog
    page = catalog.get(slug)
    now = datetime.now(UTC)
    if page is None or not page.offer.is_published(now):
        abort(404)
    # An A/B test runs: this visitor's variant (see leads/assignment.py).
    variant, new, counted = assignment.assign(
        page.offer.weights(), request.cookies.get(assignment.cookie_name(slug)), environ.get("HTTP_USER_AGENT")
    )
    response = page_response(site.renderer.offer_page(catalog, page.shown(variant), now, site.seats_taken, site.lead_count), private=True)
    if new:
        response.set_cookie(
            assignment.cookie_name(slug),
            variant,
            max_age=assignment.COOKIE_DAYS * 86400,
            path=f"/{slug}",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    if counted and response.status_code in (200, 304) and environ["REQUEST_METHOD"] == "GET":
        site.variant_views.add((slug, today(), variant))
    if response.status_code in (200, 304) and environ["REQUEST_METHOD"] == "GET":
        count_view(site, slug, environ)
    return response


def plain_offer(site: Services, slug: str, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """The answer for the landing page of ``slug`` when it is published and runs no A/B test
    (the same bytes for everyone), its view counted; None for any other page.

    Needs no Flask request: :mod:`leadmagnet.web.fastpath` calls it straight from WSGI.
    """
    catalog = site.catalog
    page = catalog.get(slug)
    if page is None or page.variants:
        return None
    now = datetime.now(UTC)
    if not page.offer.is_published(now):
        return None
    status, headers, body = answer(site, site.renderer.offer_page(catalog, page, now, site.seats_taken, site.lead_count), environ)
    if status in (200, 304) and environ["REQUEST_METHOD"] == "GET":
        count_view(site, slug, environ)
    return status, headers, body


def count_view(site: Services, slug: str, environ: dict[str, Any]) -> None:
    """Count one view of ``slug`` (in memory; written in batches) with its UTM values, referrer and device."""
    query = environ.get("QUERY_STRING")
    source, medium, campaign = utm_values(query) if query else NO_UTM
    site.page_views.count(
        slug,
        source,
        utm_medium=medium,
        utm_campaign=campaign,
        referrer=environ.get("HTTP_REFERER"),
        user_agent=environ.get("HTTP_USER_AGENT"),
    )


NO_UTM: tuple[str | None, str | None, str | None] = (None, None, None)
UTM_COUNTED = ("utm_source", "utm_medium", "utm_campaign")


@functools.lru_cache(maxsize=1024)
def utm_values(query_string: str) -> tuple[str | None, str | None, str | None]:
    """The first ``utm_source``, ``utm_medium`` and ``utm_campaign`` of a raw ``QUERY_STRING``,
    decoded as ``request.args`` does.

    Parsed here, only for a non-empty query, and cached: a campaign link is the same string on
    every view, and building ``request.args`` for a counter cost more than serving the page.
    """
    # WSGI carries the query as latin-1 characters of the raw bytes; undecodable escapes stay
    # percent-encoded, as werkzeug keeps them.
    text = query_string.encode("latin-1", "replace").decode("utf-8", "replace")
    found: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"):
        if name in UTM_COUNTED and name not in found:
            found[name] = value
    return found.get("utm_source"), found.get("utm_medium"), found.get("utm_campaign")


@bp.get("/og/<name>")
def og_image(name: str) -> Response:
    """An offer's drawn Open Graph card, ``/og/<slug>.<hash>.png``: its address names its
    content hash, so it is cached for a year.

    Drawn on the first request and kept in ``instance/og-cards/``; an outdated hash (the title
    changed) or an unpublished offer is a 404. Under an A/B test each variant's page names the
    card of its own title, so the hash may be any variant's.
    """
    slug, _, rest = name.partition(".")
    key, _, suffix = rest.partition(".")
    site = current_services()
    page = site.catalog.get(slug)
    if suffix != "png" or page is None or not page.offer.is_published(datetime.now(UTC)):
        abort(404)
    cards = site.renderer.cards
    offer = next((p.offer for p in (list(page.variants.values()) or [page]) if cards.key(p.offer) == key), None)
    if offer is None:
        abort(404)
    response = send_file(cards.card_file(offer), mimetype="image/png", conditional=True, etag=key)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.get("/media/<path:path>")
def media(path: str) -> Response:
    """A file the pages show. Anything else under content/ (gated files included) is a 404."""
    site = current_services()
    catalog = site.catalog
    # The brand's logo and font file are public too (every page shows them).
    if not catalog.media_shown(path, datetime.now(UTC)) and path not in site.renderer.brand.files:
        abort(404)
    root = site.content_dir.resolve()
    file = (root / path).resolve()
    if not file.is_relative_to(root) or not file.is_file():
        abort(404)
    response = send_file(
        file, mimetype=mimetypes.guess_type(file.name)[0], conditional=True, etag=True, max_age=current_app.config["PAGE_MAX_AGE"]
    )
    response.cache_control.public = True
    return response


@bp.get("/static/<theme>/<fingerprint>/<path:path>")
def static(theme: str, fingerprint: str, path: str) -> Response:
    """A theme's static file; a current fingerprint makes it cacheable for a year."""
    site = current_services()
    try:
        resolved = site.themes.get(theme)
    except ValueError:
        abort(404)
    file: Path | None = resolved.static_file(path)
    if file is None:
        abort(404)
    response = send_file(file, conditional=True, etag=True)
    if fingerprint == resolved.fingerprint(path):
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    site = current_services()
    catalog = site.catalog

    def produce() -> Rendered:
        cfg = current_app.config
        body = sitemap_xml(cfg["BASE_URL"], catalog, datetime.now(UTC), cfg["INDEX_PAGE"]).encode()
        return Rendered(body, etag_for(body))

    key = ("sitemap", window_key(catalog, datetime.now(UTC)))
    return page_response(site.renderer.cached(catalog, key, produce), "application/xml; charset=utf-8")


def window_key(catalog: Catalog, now: datetime) -> tuple[tuple[str, str], ...]:
    """What the index and sitemap depend on besides the files: each offer's state right now.

    Schedule windows open and close over time without a file changing; keying the cached page
    by the states (not by the clock) re-renders exactly when one changes and keeps one entry.
    """
    return tuple((o.slug, o.state(now) if not o.draft else "draft") for o in catalog.offers())


@bp.get("/robots.txt")
def robots() -> Response:
    body = robots_txt(current_app.config["BASE_URL"]).encode()
    return page_response(Rendered(body, etag_for(body)), "text/plain; charset=utf-8")


@bp.get("/healthz")
def healthz() -> tuple[dict, int]:
    """200 when the content folder loads and the database answers; 503 otherwise (for probes)."""
    site = current_services()
    catalog = site.catalog
    try:
        ok_db = site.store.healthcheck()
    except OSError:  # the database's folder is gone or unwritable: unhealthy, not a crash
        ok_db = False
    ok_content = catalog.content_dir.is_dir()
    status = 200 if ok_db and ok_content else 503
    return {
        "status": "ok" if status == 200 else "unavailable",
        "database": ok_db,
        "content": ok_content,
        "offers": len(catalog.pages),
        "content_errors": len(catalog.errors),
    }, status
