"""Turn a catalog page into HTML bytes: theme environments, page context, and the page cache.

Landing pages are the same bytes for every visitor, so a rendered page is cached per catalog
version and reused until a content or theme file changes. The static exporter (``build``) and
the live server share this code, the exporter only changing the form's base URL.

Nothing here needs Flask: the exporter renders from the settings alone (and so starts without
importing the web framework). The live server passes a :class:`TemplateHost` (its Flask app),
whose template globals (``url_for``, ``csrf_token``) and context processors the admin templates use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any, Protocol

import jinja2
from jinja2.runtime import Macro
from markupsafe import Markup
from markupsafe import escape as html_escape

from leadmagnet.content.catalog import Catalog, Page
from leadmagnet.content.offer import FieldSpec, Offer
from leadmagnet.render.themes import Theme, Themes

try:  # markupsafe's own escaping of a plain str, without the Markup wrapper (see escape_output)
    from markupsafe import _escape_inner
except ImportError:  # pragma: no cover - another markupsafe: its public escape, same text

    def _escape_inner(text: str) -> str:
        return str(html_escape(text))


class TemplateHost(Protocol):
    """What the renderer asks of the web app that hosts it (a Flask app is one)."""

    jinja_env: jinja2.Environment

    def update_template_context(self, context: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    status: int = 200


def etag_for(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def style_hash(css: str) -> str:
    """The CSP source expression for an inline ``<style>`` with exactly this text."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def escape_output(value: Any) -> str:
    """What ``{{ value }}`` writes in an autoescaped template: markupsafe's ``escape``, as text.

    Jinja's compiled templates pass every ``{{ }}`` through ``escape``, which wraps its result in
    a ``Markup`` (two more Python calls); the wrapper is never looked at there, since the result
    only joins the page or a block's, macro's or ``{% set %}``'s text, which Jinja marks safe
    itself. An offer page writes about 30 of them. The characters are markupsafe's own.
    """
    if value.__class__ is str:
        return _escape_inner(value)
    if value.__class__ is Markup:
        return value
    return html_escape(value)


class Template(jinja2.Template):
    """A template whose ``{{ }}`` outputs escape through :func:`escape_output`."""

    @classmethod
    def from_code(cls, environment: jinja2.Environment, code: Any, globals: MutableMapping[str, Any], uptodate: Any = None) -> Template:
        # As Jinja's own from_code, then the compiled module's name ``escape`` rebound: its
        # functions look it up in this namespace at each call.
        namespace = {"environment": environment, "__file__": code.co_filename}
        exec(code, namespace)  # noqa: S102 - Jinja's compiled template, as Jinja itself runs it
        if namespace.get("escape") is html_escape:
            namespace["escape"] = escape_output
        rv = cls._from_namespace(environment, namespace, globals)
        rv._uptodate = uptodate
        return rv


class Environment(jinja2.Environment):
    """Jinja's environment, with each template's globals in a plain dict.

    Jinja chains a template's globals to the environment's (a ``ChainMap``) so that globals added
    after a template is loaded still reach it; every render then copies that chain key by key in
    Python, and every ``{% import %}`` compares it with the render's, about 20 us a page of the
    default theme. :meth:`Renderer.env` sets every global before the first template is loaded and
    never after, so a copy made at load time holds the same names and values.
    """

    # Only on the Jinja whose from_code Template.from_code mirrors (3.1): on another, stock
    # templates (the same pages, escaped by markupsafe.escape).
    template_class = Template if hasattr(jinja2.Template, "_from_namespace") else jinja2.Template

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


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
        self._cache_version = -1
        self._lock = threading.Lock()
        self.style_hashes: set[str] = set()
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
        env = Environment(
            loader=theme.loader, autoescape=True, auto_reload=self.auto_reload, trim_blocks=True, lstrip_blocks=True, cache_size=-1
        )
        if self.app is not None:  # url_for, csrf_token, Flask's filters, for the admin templates
            env.globals.update(self.app.jinja_env.globals)
            env.filters.update(self.app.jinja_env.filters)
        env.globals["asset"] = lambda path, _t=theme: self.asset_url(_t, path)
        env.globals["inline_static"] = lambda path, _t=theme: self.inline_static(_t, path)
        env.filters["local_time"] = local_time
        env.filters["blank_fields"] = blank_fields_filter()
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

    def reset(self) -> None:
        """Forget environments, fingerprints and cached pages (a theme or content file changed)."""
        with self._lock:
            self._envs.clear()
            self._inline.clear()
            self._listed.clear()
            self.themes.clear()
            self._cache.clear()

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
        return {"site_name": cfg["SITE_NAME"], "base_url": cfg["BASE_URL"], "form_base": cfg.get("FORM_BASE", "")}

    def cached(self, catalog: Catalog, key: tuple, produce: Any) -> Rendered:
        """Return the cached rendering for ``key`` in this catalog version, producing it once."""
        with self._lock:
            if catalog.version != self._cache_version:
                self._cache.clear()
                self._cache_version = catalog.version
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        rendered = produce()
        with self._lock:
            if catalog.version == self._cache_version:
                self._cache[key] = rendered
        return rendered

    def offer_page(self, catalog: Catalog, page: Page, now: datetime | None = None) -> Rendered:
        """The public landing page (or its ended state) of an offer: identical for every visitor."""
        now = now or datetime.now(UTC)
        state = page.offer.state(now)

        def produce() -> Rendered:
            body = self.offer_html(page, state).encode("utf-8")
            return Rendered(
                body, etag_for(body), 410 if state == "ended" and page.offer.expires_at and now >= page.offer.expires_at else 200
            )

        return self.cached(catalog, ("offer", page.offer.slug, state, self.config.get("FORM_BASE", "")), produce)

    def offer_html(self, page: Page, state: str) -> str:
        """An offer's landing page in ``state``, rendered now (:meth:`offer_page` caches it)."""
        return self.render(templates_for(page.offer, "offer"), page.offer, **offer_context(self.config, page, state))


def templates_for(offer: Offer, kind: str) -> list[str]:
    """Most specific first: ``offer-{slug}.html``, ``offer-{type}.html``, ``offer.html``."""
    return [f"{kind}-{offer.slug}.html", f"{kind}-{offer.type}.html", f"{kind}.html"]


def offer_context(config: Mapping[str, Any], page: Page, state: str) -> dict[str, Any]:
    """Everything the offer templates use beyond the site context."""
    offer = page.offer
    base = config["BASE_URL"]
    canonical = f"{base}/{offer.slug}"
    image_url = f"{base}/media/{offer.image}" if offer.image else None
    return {
        "page": page,
        "state": state,
        "canonical": canonical,
        "image_url": image_url,
        "json_ld": Markup(json_ld(offer, canonical, image_url, config["SITE_NAME"], state)),  # noqa: S704 - escaped below
    }


# json.dumps(..., ensure_ascii=False, separators=(",", ":")) makes an encoder per call; one made once
# writes the same text.
_JSON_LD_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_ld(offer: Offer, canonical: str, image_url: str | None, site_name: str, state: str) -> str:
    """schema.org JSON-LD: ``Event`` for webinars, ``Book`` for ebooks; safe inside <script>."""
    data: dict[str, Any]
    if offer.type == "webinar":
        data = {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": offer.title,
            "description": offer.description or offer.subtitle or offer.title,
            "startDate": offer.starts_at.isoformat() if offer.starts_at else None,
            "endDate": offer.ends_at.isoformat() if offer.ends_at else None,
            "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
            "eventStatus": "https://schema.org/EventScheduled",
            # the public page, never the join link
            "location": {"@type": "VirtualLocation", "url": canonical},
            "organizer": {"@type": "Organization", "name": site_name},
            "isAccessibleForFree": True,
            "offers": {
                "@type": "Offer",
                "price": "0",
                "priceCurrency": "USD",
                "url": canonical,
                "availability": "https://schema.org/SoldOut" if state in ("ended", "started") else "https://schema.org/InStock",
            },
            "url": canonical,
        }
        if offer.presenters:
            data["performer"] = [{"@type": "Person", "name": p.name} for p in offer.presenters]
    else:
        data = {
            "@context": "https://schema.org",
            "@type": "Book",
            "name": offer.title,
            "description": offer.description or offer.subtitle or offer.title,
            "bookFormat": "https://schema.org/EBook",
            "isAccessibleForFree": True,
            "publisher": {"@type": "Organization", "name": site_name},
            "url": canonical,
        }
        if offer.pages:
            data["numberOfPages"] = offer.pages
    if image_url:
        data["image"] = image_url
    if offer.tags:
        data["keywords"] = ", ".join(offer.tags)
    text = _JSON_LD_ENCODER.encode({k: v for k, v in data.items() if v is not None})
    # "</script>" or "<!--" inside a string must not end the script element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def blank_fields_filter() -> Callable[..., Markup]:
    """The ``blank_fields`` filter of one environment: ``fields|blank_fields(form_field, *args)``.

    Writes what ``{% for field in fields %}{{ form_field(field, *args) }}{% endfor %}`` writes, for
    the public form (nothing typed, no error). That HTML depends only on the macro, the field and
    the arguments, and most offers ask for the same fields (email, a name, a company), so each is
    made once per macro and reused; a theme's own ``_macros.html`` gets its own entries. A field
    is a ``FieldSpec`` (the parser gives its values exact types: ``True`` is never ``1``) or a dict
    of plain values, such as the consent checkbox. A macro that could differ between calls (one
    defined in the template or imported ``with context``: a new one each render) is dropped with
    its entries; anything else is simply called.
    """
    made: weakref.WeakKeyDictionary[Macro, dict[Hashable, Markup]] = weakref.WeakKeyDictionary()

    def blank_fields(fields: Iterable[Any], form_field: Any, *args: Any) -> Markup:
        by_key = made.setdefault(form_field, {}) if isinstance(form_field, Macro) else None
        # An offer's fields (a tuple of FieldSpecs) are looked up whole first: most offers ask for
        # the same ones, and one lookup costs less than one per field.
        run_key = run_key_of(fields, args) if by_key is not None else None
        if run_key is not None:
            try:
                hit = by_key.get(run_key)
            except TypeError:  # a list among the arguments
                hit = run_key = None
            if hit is not None:
                return hit
        parts = []
        for field in fields:
            key = field_key(field, args) if by_key is not None else None
            html = by_key.get(key) if by_key is not None and key is not None else None
            if html is None:
                html = html_escape(form_field(field, *args))  # as {{ form_field(field, ...) }} writes it
                if by_key is not None and key is not None:
                    by_key[key] = html
            parts.append(html)
        run = Markup("".join(parts))  # noqa: S704 - each part escaped above
        if run_key is not None:
            by_key[run_key] = run
        return run

    return blank_fields


def run_key_of(fields: Any, args: tuple[Any, ...]) -> Hashable | None:
    """The key of a whole tuple of FieldSpecs with ``args`` (see :func:`field_key`); None if
    ``fields`` is anything else. Tagged, so that it never equals one field's key. Not checked
    for hashing (an argument may be a list): the caller's lookup is."""
    if fields.__class__ is not tuple:
        return None
    for field in fields:
        if field.__class__ is not FieldSpec:
            return None
    return ("run", fields, tuple([(type(arg), arg) for arg in args]))


def field_key(field: Any, args: tuple[Any, ...]) -> Hashable | None:
    """What ``form_field(field, *args)`` depends on, as a dict key; None if it cannot be one."""
    # With each value's type: equal values of other types (Markup and str, True and 1) are
    # escaped or shown differently by the macro, so they must not share an entry.
    typed_args = tuple((type(arg), arg) for arg in args)
    if isinstance(field, FieldSpec):
        key: Hashable = (field, typed_args)
    elif type(field) is dict:
        key = (tuple((name, type(value), value) for name, value in field.items()), typed_args)
    else:
        return None
    try:
        hash(key)
    except TypeError:  # a list among the values
        return None
    return key


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


def sitemap_xml(base_url: str, catalog: Catalog, now: datetime, index_page: bool = True) -> str:
    """The sitemap of every published, unexpired offer (past webinars stay: replay pages)."""
    urls = [f"{base_url}/"] if index_page else []
    entries = [f"  <url><loc>{escape(u, quote=False)}</loc></url>" for u in urls]
    for offer in sorted(catalog.offers(), key=lambda o: o.slug):
        expired = offer.expires_at is not None and now >= offer.expires_at
        if offer.is_published(now) and not expired:
            lastmod = datetime.fromtimestamp(offer.mtime, UTC).strftime("%Y-%m-%d")
            entries.append(f"  <url><loc>{escape(base_url, quote=False)}/{offer.slug}</loc><lastmod>{lastmod}</lastmod></url>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    )


def robots_txt(base_url: str) -> str:
    return f"User-agent: *\nDisallow: /admin\nDisallow: /download/\nAllow: /\n\nSitemap: {base_url}/sitemap.xml\n"
