"""Turn a catalog page into HTML bytes: theme environments, page context, and the page cache.

Landing pages are the same bytes for every visitor, so a rendered page is cached per catalog
version and reused until a content or theme file changes. A webinar with a ``capacity`` also
shows its seat state (:class:`~leadmagnet.render.landing.Seats`: a few seats left, or full), the
same for everyone at a given moment, so it is part of the page's cache key; the count is read from
the store at most once per ``SEAT_COUNT_TTL`` seconds a webinar (:meth:`Renderer.seats`). So is an
open webinar's "Starts in 3 days" (:func:`~leadmagnet.content.webinar.starts_in`), worked out on
each request and changing at most hourly: a page is rendered again exactly when its text changes,
and replaces the page it outdates in the cache. What a page shows besides the offer's text (the
brand, the proof line, the seat line, the page context) is in ``render/landing.py``. Every page
names its ``og:image`` (:class:`~leadmagnet.render.ogimage.OgCards`). The static exporter
(``build``) and the live server share this code, the exporter only changing the form's base URL.

Nothing here needs Flask: the exporter renders from the settings alone (and so starts without
importing the web framework). The live server passes a :class:`TemplateHost` (its Flask app),
whose template globals (``url_for``, ``csrf_token``) and context processors the admin templates use.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import jinja2
from markupsafe import Markup

from leadmagnet.content.catalog import Catalog, Page
from leadmagnet.content.offer import Offer
from leadmagnet.content.webinar import starts_in
from leadmagnet.foundation.brand import Brand
from leadmagnet.render.landing import SEATS_LEFT_SHOWN, BrandView, CountCache, Seats, brand_view, offer_context, proof_figure, seats_shown
from leadmagnet.render.ogimage import OgCards
from leadmagnet.render.themes import Theme, Themes


class TemplateHost(Protocol):
    """What the renderer asks of the web app that hosts it (a Flask app is one)."""

    jinja_env: jinja2.Environment

    def update_template_context(self, context: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Rendered:
    """A rendered page as served: its bytes, their ETag and the HTTP status."""

    body: bytes
    etag: str
    status: int = 200


# How long a webinar's seat count is reused before the store is asked again (a registration
# through the form refreshes it at once, see Renderer.seats_changed).
SEAT_COUNT_TTL = 60.0


def etag_for(body: bytes) -> str:
    """A strong ETag for ``body``: the first 32 hex digits of its SHA-256."""
    return hashlib.sha256(body).hexdigest()[:32]


def style_hash(css: str) -> str:
    """The CSP source expression for an inline ``<style>`` with exactly this text."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


class Renderer:
    """Renders pages with the right theme, and caches what does not vary per visitor."""

    def __init__(self, config: Mapping[str, Any], themes: Themes, app: TemplateHost | None = None, *, auto_reload: bool = True) -> None:
        """``config``: the settings (an app's config); ``app``: the live app, for its template
        globals; ``auto_reload=False`` (a build) trusts templates not to change while it runs."""
        self.config = config
        self.app = app
        self.themes = themes
        self.auto_reload = auto_reload
        # Keyed by theme name, each with the Theme object it was made for: a request that began
        # before a reload may store what it made from the old theme; the next one sees the theme
        # object changed and makes it again, instead of serving stale files until the next reload.
        self._envs: dict[str, tuple[Theme, jinja2.Environment]] = {}
        self._inline: dict[tuple[str, str], tuple[Theme, Markup]] = {}
        self._listed: dict[str, tuple[Theme, frozenset[str]]] = {}
        self._cache: dict[tuple, Rendered] = {}
        # A page's newest cache key per family (one offer page in one state): an outdated
        # "Starts in 3 days" or seat count is dropped when its successor is stored.
        self._families: dict[tuple, tuple] = {}
        self._cache_version = -1
        self._lock = threading.Lock()
        # Seats taken per webinar slug: (read at, count or None when the store could not say).
        self._taken: dict[str, tuple[float, int | None]] = {}
        self.seat_ttl = SEAT_COUNT_TTL
        self.clock: Callable[[], float] = time.monotonic
        self.style_hashes: set[str] = set()
        self.seats_threshold = int(config.get("SEATS_LEFT_SHOWN", SEATS_LEFT_SHOWN))
        # The brand (set once, in the settings) and each offer's lead count for its proof line,
        # read at most once a minute an offer; a build sets ``lead_counts`` from the database.
        self.brand = Brand.from_settings(config)
        # Cards are cached in the instance folder by the server and the build alike; drawn with
        # the pages' own brand.
        self.cards = OgCards(
            Path(config.get("INSTANCE_DIR", "instance")) / "og-cards", Path(config.get("CONTENT_DIR", "content")), self.brand
        )
        self._brand_view: BrandView | None = None
        self._brand_css: dict[str | None, Markup] = {}
        self.lead_count_cache = CountCache()
        self.lead_counts: Mapping[str, int] | None = None
        # Every offer without `theme:` and every error page uses this theme: a typo in the setting
        # stops the start with a message, instead of a 500 on every page.
        problem = themes.problem(config["DEFAULT_THEME"])
        if problem:
            raise ValueError(f"LEADMAGNET_DEFAULT_THEME: {problem}")

    # -- environments -----------------------------------------------------------------------

    def theme_for(self, offer: Offer | None) -> Theme:
        name = (offer.theme if offer and offer.theme else None) or self.config["DEFAULT_THEME"]
        return self.themes.get(name)

    def env(self, theme: Theme) -> jinja2.Environment:
        made = self._envs.get(theme.name)
        if made is not None and made[0] is theme:
            return made[1]
        # cache_size=-1: loaded templates in a plain dict, not Jinja's locked LRU of 400, which an
        # offer page consults five times (itself, base.html, _macros.html twice, _form.html); a
        # theme has a few dozen templates, and a name that is not found is not cached.
        env = jinja2.Environment(
            loader=theme.loader, autoescape=True, auto_reload=self.auto_reload, trim_blocks=True, lstrip_blocks=True, cache_size=-1
        )
        if self.app is not None:  # url_for, csrf_token, Flask's filters, for the admin templates
            env.globals.update(self.app.jinja_env.globals)
            env.filters.update(self.app.jinja_env.filters)
        env.globals["asset"] = lambda path, _t=theme: self.asset_url(_t, path)
        env.globals["inline_static"] = lambda path, _t=theme: self.inline_static(_t, path)
        env.globals["brand_style"] = self.brand_style
        env.filters["local_time"] = local_time
        self._envs[theme.name] = (theme, env)
        return env

    def asset_url(self, theme: Theme, path: str) -> str:
        return f"{self.config.get('ASSET_BASE', '')}/static/{theme.name}/{theme.fingerprint(path)}/{path}"

    def inline_static(self, theme: Theme, path: str) -> Markup:
        """A theme file's text for an inline ``<style>``; its hash joins the CSP's style-src.

        Read and hashed once per theme version (every page inlines the same critical CSS).
        """
        key = (theme.name, path)
        made = self._inline.get(key)
        if made is not None and made[0] is theme:
            return made[1]
        text = theme.read_static(path)
        self.style_hashes.add(style_hash(text))
        css = Markup(text)  # noqa: S704 - theme files are trusted, like templates
        self._inline[key] = (theme, css)
        return css

    def brand_style(self, primary: str | None = None) -> Markup:
        """The brand's generated stylesheet (``primary``: an offer's own colour) for an inline
        ``<style>``; its hash joins the CSP's style-src like the critical CSS."""
        css = self._brand_css.get(primary)
        if css is None:
            text = self.brand.stylesheet(primary)
            self.style_hashes.add(style_hash(text))
            css = self._brand_css[primary] = Markup(text)  # noqa: S704 - made from checked colours and a checked font list
        return css

    @property
    def brand_view(self) -> BrandView:
        """The brand with its logo's box, read from the content folder once per reset."""
        made = self._brand_view
        if made is None:
            made = self._brand_view = brand_view(self.brand, self.config.get("CONTENT_DIR", "content"))
        return made

    def reset(self) -> None:
        """Forget environments, fingerprints and cached pages (a theme or content file changed)."""
        with self._lock:
            self._brand_view = None
            self._envs.clear()
            self._inline.clear()
            self._listed.clear()
            self.themes.clear()
            self._cache.clear()
            self._families.clear()

    # -- rendering --------------------------------------------------------------------------

    def render(self, template: str | list[str], offer: Offer | None = None, **context: Any) -> str:
        """Render a template of the offer's theme (or the default theme) with the site context."""
        theme = self.theme_for(offer)
        env = self.env(theme)
        ctx = self.site_context()
        ctx.update(offer=offer, theme=theme.name)
        ctx.update(context)
        if self.app is not None:
            self.app.update_template_context(ctx)
        return self.template(env, theme, template).render(ctx)

    def template(self, env: jinja2.Environment, theme: Theme, names: str | list[str]) -> jinja2.Template:
        """The first of ``names`` the theme has (most specific first, see :func:`templates_for`).

        Without auto-reload (a build), the theme's template names are listed once: each name a
        theme lacks would otherwise cost file lookups and exceptions, six for every offer page
        of the default theme (``offer-{slug}.html`` differs on every page, so remembering the
        choice per list of names does not spare them in a build, which renders each page once).
        """
        if self.auto_reload or isinstance(names, str):
            return env.get_or_select_template(names)
        listed = self._listed.get(theme.name)
        if listed is None or listed[0] is not theme:
            # Lower-cased: where the file system ignores case, the live server finds Offer.html too.
            listed = (theme, frozenset(name.lower() for name in theme.loader.list_templates()))
            self._listed[theme.name] = listed
        for name in names:
            if name.lower() in listed[1]:
                try:
                    return env.get_template(name)
                except jinja2.TemplateNotFound:
                    continue  # listed but not loadable (a dangling link): the next name, as the server does
        return env.select_template(names)  # none of them: Jinja's own error names them all

    def site_context(self) -> dict[str, Any]:
        cfg = self.config
        return {"site_name": cfg["SITE_NAME"], "base_url": cfg["BASE_URL"], "form_base": cfg.get("FORM_BASE", ""), "brand": self.brand_view}

    def cached(self, catalog: Catalog, key: tuple, produce: Any, family: tuple | None = None) -> Rendered:
        """Return the cached rendering for ``key`` in this catalog version, producing it once.

        A ``family``'s older key is forgotten when a new one is stored, so keys that move on
        over time (a countdown, a seat count) keep one entry a page instead of growing.
        """
        with self._lock:
            if catalog.version != self._cache_version:
                self._cache.clear()
                self._families.clear()
                self._cache_version = catalog.version
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        rendered = produce()
        with self._lock:
            if catalog.version == self._cache_version:
                if family is not None:
                    older = self._families.get(family)
                    if older is not None and older != key:
                        self._cache.pop(older, None)
                    self._families[family] = key
                self._cache[key] = rendered
        return rendered

    def offer_page(
        self,
        catalog: Catalog,
        page: Page,
        now: datetime | None = None,
        seats_taken: Callable[[str], int | None] | None = None,
        lead_count: Callable[[str], int | None] | None = None,
    ) -> Rendered:
        """The public landing page (or its ended state) of an offer: identical for every visitor.

        ``seats_taken`` reads a webinar's seats taken from the store (the live server); without
        it (the static export has no store) the page has no seat line. An open webinar says how
        soon it starts, as of ``now``: the text keys the cache, so the page is rendered again
        when it changes (at most hourly). ``lead_count`` reads the offer's leads for its
        ``proof:`` line, at most once a minute an offer.
        """
        now = now or datetime.now(UTC)
        state = page.offer.state(now)
        seats = self.seats(page.offer, state, seats_taken)
        soon = starts_in(page.offer, now) if state == "live" else None
        proof = self.proof(page.offer, state, lead_count)

        def produce() -> Rendered:
            body = self.offer_html(page, state, seats, soon, proof).encode("utf-8")
            return Rendered(
                body, etag_for(body), 410 if state == "ended" and page.offer.expires_at and now >= page.offer.expires_at else 200
            )

        # page.variant: each A/B variant of an offer is its own cached bytes; ``family`` drops an
        # outdated entry (a countdown's text, a seat count, a proof figure) when one changes.
        family = ("offer", page.offer.slug, page.variant, state, self.config.get("FORM_BASE", ""))
        return self.cached(catalog, (*family, seats, soon, proof), produce, family)

    def offer_html(self, page: Page, state: str, seats: Seats | None = None, soon: str | None = None, proof: str | None = None) -> str:
        """An offer's landing page in ``state``, rendered now (:meth:`offer_page` caches it).

        ``soon``: the "Starts in 3 days" line; the static export has none (it would go stale).
        ``proof``: the figure of the proof line (:meth:`proof`).
        """
        context = offer_context(self.config, page, state, seats, soon, self.cards.image_for(page.offer))
        context["proof"] = proof
        return self.render(templates_for(page.offer, "offer"), page.offer, **context)

    def proof(self, offer: Offer, state: str, lead_count: Callable[[str], int | None] | None = None) -> str | None:
        """The figure of ``offer``'s proof line now (``1,200+``), or None when it shows none.

        Only an open offer shows one. The live server reads the count through ``lead_count`` at
        most once per ``lead_count_cache.ttl`` seconds; a build passes none and uses the counts
        it read once (``lead_counts``), so an export shows the figure of its build time.
        """
        if not offer.proof or state != "live":
            return None
        if lead_count is not None:
            return proof_figure(offer, self.lead_count_cache.get(offer.slug, lead_count))
        return proof_figure(offer, (self.lead_counts or {}).get(offer.slug))

    # -- seats ------------------------------------------------------------------------------

    def seats(self, offer: Offer, state: str, seats_taken: Callable[[str], int | None] | None) -> Seats | None:
        """The seat state ``offer``'s page shows now, if any: only an open webinar with a capacity.

        The count is read through ``seats_taken`` at most once per ``seat_ttl`` seconds a
        webinar, so a busy page does not query the database on every request.
        """
        if seats_taken is None or offer.capacity is None or offer.type != "webinar" or state != "live":
            return None
        now = self.clock()
        with self._lock:
            known = self._taken.get(offer.slug)
            stale = known is None or now - known[0] >= self.seat_ttl
            if stale and known is not None:
                self._taken[offer.slug] = (now, known[1])  # the other requests keep the old count meanwhile
        if stale:
            known = (now, seats_taken(offer.slug))
            self._taken[offer.slug] = known
        return seats_shown(offer.capacity, known[1] if known is not None else None, self.seats_threshold)

    def seats_changed(self, slug: str) -> None:
        """Forget the seat count of ``slug`` (a registration just took a seat or joined the waitlist)."""
        self._taken.pop(slug, None)


def templates_for(offer: Offer, kind: str) -> list[str]:
    """Most specific first: ``offer-{slug}.html``, ``offer-{type}.html``, ``offer.html``."""
    return [f"{kind}-{offer.slug}.html", f"{kind}-{offer.type}.html", f"{kind}.html"]


def local_time(value: datetime, offer: Offer, fmt: str = "%A %d %B %Y, %H:%M") -> str:
    """A webinar time in the webinar's timezone with its name and UTC offset."""
    local = value.astimezone(offer.tz)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    zone = offer.timezone or local.tzname() or ""
    if offset == "UTC+00:00" and zone.upper() in {"UTC", "ETC/UTC", "GMT", "Z"}:
        label = "UTC"  # not "UTC, UTC+00:00"
    else:
        label = f"{zone}, {offset}" if zone and zone != offset else offset
    return f"{local.strftime(fmt)} ({label})"
