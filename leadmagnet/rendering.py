"""Turn a catalog page into HTML bytes: theme environments, page context, and the page cache.

Landing pages are the same bytes for every visitor, so a rendered page is cached per catalog
version and reused until a content or theme file changes. The static exporter (``build``) and
the live server share this code, the exporter only changing the form's base URL.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.templating import Environment
from markupsafe import Markup

from .content import Catalog, Page
from .headers import style_hash
from .offer import Offer
from .themes import Theme, Themes


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    status: int = 200


def etag_for(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


class Renderer:
    """Renders pages with the right theme, and caches what does not vary per visitor."""

    def __init__(self, app: Flask, themes: Themes) -> None:
        self.app = app
        self.themes = themes
        self._envs: dict[str, Environment] = {}
        self._cache: dict[tuple, Rendered] = {}
        self._cache_version = -1
        self._lock = threading.Lock()
        self.style_hashes: set[str] = set()
        # Every offer without `theme:` and every error page uses this theme: a typo in the setting
        # stops the start with a message, instead of a 500 on every page.
        problem = themes.problem(app.config["DEFAULT_THEME"])
        if problem:
            raise ValueError(f"LEADMAGNET_DEFAULT_THEME: {problem}")

    # -- environments -----------------------------------------------------------------------

    def theme_for(self, offer: Offer | None) -> Theme:
        name = (offer.theme if offer and offer.theme else None) or self.app.config["DEFAULT_THEME"]
        return self.themes.get(name)

    def env(self, theme: Theme) -> Environment:
        env = self._envs.get(theme.name)
        if env is None:
            env = Environment(self.app, loader=theme.loader, autoescape=True, auto_reload=True, trim_blocks=True, lstrip_blocks=True)
            env.globals.update(self.app.jinja_env.globals)
            env.filters.update(self.app.jinja_env.filters)
            env.globals["asset"] = lambda path, _t=theme: self.asset_url(_t, path)
            env.globals["inline_static"] = lambda path, _t=theme: self.inline_static(_t, path)
            env.filters["local_time"] = local_time
            self._envs[theme.name] = env
        return env

    def asset_url(self, theme: Theme, path: str) -> str:
        return f"{self.app.config.get('ASSET_BASE', '')}/static/{theme.name}/{theme.fingerprint(path)}/{path}"

    def inline_static(self, theme: Theme, path: str) -> Markup:
        """A theme file's text for an inline ``<style>``; its hash joins the CSP's style-src."""
        css = theme.read_static(path)
        self.style_hashes.add(style_hash(css))
        return Markup(css)  # noqa: S704 - theme files are trusted, like templates

    def reset(self) -> None:
        """Forget environments, fingerprints and cached pages (a theme or content file changed)."""
        with self._lock:
            self._envs.clear()
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
        self.app.update_template_context(ctx)
        return env.get_or_select_template(template).render(ctx)

    def site_context(self) -> dict[str, Any]:
        cfg = self.app.config
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
            html = self.render(templates_for(page.offer, "offer"), page.offer, **offer_context(self.app, page, state))
            body = html.encode("utf-8")
            return Rendered(
                body, etag_for(body), 410 if state == "ended" and page.offer.expires_at and now >= page.offer.expires_at else 200
            )

        return self.cached(catalog, ("offer", page.offer.slug, state, self.app.config.get("FORM_BASE", "")), produce)


def templates_for(offer: Offer, kind: str) -> list[str]:
    """Most specific first: ``offer-{slug}.html``, ``offer-{type}.html``, ``offer.html``."""
    return [f"{kind}-{offer.slug}.html", f"{kind}-{offer.type}.html", f"{kind}.html"]


def offer_context(app: Flask, page: Page, state: str) -> dict[str, Any]:
    """Everything the offer templates use beyond the site context."""
    offer = page.offer
    base = app.config["BASE_URL"]
    canonical = f"{base}/{offer.slug}"
    image_url = f"{base}/media/{offer.image}" if offer.image else None
    return {
        "page": page,
        "state": state,
        "canonical": canonical,
        "image_url": image_url,
        "json_ld": Markup(json_ld(offer, canonical, image_url, app.config["SITE_NAME"], state)),  # noqa: S704 - escaped below
    }


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
    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False, separators=(",", ":"))
    # "</script>" or "<!--" inside a string must not end the script element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


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
