"""What the export holds: the offer pages to render or keep, and every other file.

An offer page is rendered again only when its parsed offer, its state (open, ended...), the
theme files or the settings changed since the previous build; everything else (index, 404,
sitemap, robots.txt, media, theme files) is made on every build and written only if its bytes
changed (``build/files.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from leadmagnet.content.catalog import Catalog, Page
from leadmagnet.content.offer import Offer
from leadmagnet.render.listing import index_context
from leadmagnet.render.renderer import Renderer
from leadmagnet.render.seo import robots_txt, sitemap_xml

log = logging.getLogger(__name__)


def plan_pages(
    catalog: Catalog,
    now: datetime,
    previous_pages: dict[str, tuple[Page, str, str]],
    present: set[str],
    proof: Callable[[Page, str], str | None] = lambda page, state: None,
) -> tuple[list[Page], list[str], set[str], dict[str, tuple[Page, str, str]]]:
    """Which offer pages the export has, and which of them must be rendered.

    Returns the published pages, the slugs to render, the page files kept as they are (same
    parsed offer, state, theme and settings as when ``previous_pages`` rendered them, and still
    ``present``), and per slug what the next build's cache records as rendered. ``proof`` gives
    a page's proof figure, which is part of what it shows (a new figure renders it again).
    """
    kept: set[str] = set()
    rendered: dict[str, tuple[Page, str, str]] = {}
    published = [p for p in catalog.pages.values() if p.offer.is_published(now)]
    to_render: list[str] = []
    for page in published:
        slug = page.offer.slug
        state = page.offer.state(now)
        figure = proof(page, state)
        if figure is not None:
            state = f"{state} {figure}"
        expired = page.offer.expires_at is not None and now >= page.offer.expires_at
        if expired:  # 410 on the server: left out of the export
            continue
        name = f"{slug}.html"
        before = previous_pages.get(slug)
        if before is not None and before[0] is page and before[1] == state and name in present:
            kept.add(name)  # same parsed offer, same state, same theme and settings: same bytes
        else:
            to_render.append(slug)
        rendered[slug] = (page, state, name)
    return published, to_render, kept, rendered


def extra_files(renderer: Renderer, catalog: Catalog, published: list[Page], now: datetime) -> dict[str, bytes]:
    """Everything but the offer pages and og cards, by path relative to OUT_DIR: index and tag
    pages, 404, sitemap, robots.txt, media, theme files."""
    cfg = renderer.config
    themes = renderer.themes
    files: dict[str, bytes] = {}
    if cfg["INDEX_PAGE"]:
        offers = [p.offer for p in published]
        index = index_context(offers, now, cfg["BASE_URL"])
        assert index is not None
        files["index.html"] = renderer.render("index.html", **index).encode()
        for tag in index["tags"]:  # one page per tag: the index's filter links work on any static host
            context = index_context(offers, now, cfg["BASE_URL"], tag.slug)
            if context is not None:
                files[f"tag/{tag.slug}.html"] = renderer.render("index.html", **context).encode()
    files["404.html"] = renderer.render(
        "error.html", status=404, title="Page not found", message="This page does not exist, or the offer is not published."
    ).encode()
    files["sitemap.xml"] = sitemap_xml(cfg["BASE_URL"], catalog, now, cfg["INDEX_PAGE"]).encode()
    files["robots.txt"] = robots_txt(cfg["BASE_URL"]).encode()

    # Security: only what a published page shows. media_shown() already excludes gated files
    # and Markdown sources, whatever a pitch links to.
    root = catalog.content_dir.resolve()
    for rel in sorted(catalog.public_files | renderer.brand.files):
        if not catalog.media_shown(rel, now) and rel not in renderer.brand.files:
            continue
        source = (root / rel).resolve()
        if source.is_relative_to(root) and source.is_file():
            files[f"media/{rel}"] = source.read_bytes()

    used = {renderer.theme_for(p.offer).name for p in published} | {cfg["DEFAULT_THEME"]}
    for name in sorted(used):
        theme = themes.get(name)
        seen: set[str] = set()
        for folder in theme.chain:
            static = folder / "static"
            if not static.is_dir():
                continue
            for file in sorted(static.rglob("*")):
                rel = file.relative_to(static).as_posix()
                if file.is_file() and rel not in seen and not any(part.startswith(".") for part in file.relative_to(static).parts):
                    seen.add(rel)
                    resolved = theme.static_file(rel)
                    if resolved is not None:
                        files[f"static/{name}/{theme.fingerprint(rel)}/{rel}"] = resolved.read_bytes()
    return files


def og_cards(renderer: Renderer, published: list[Page], now: datetime) -> dict[str, tuple[str, str]]:
    """The drawn Open Graph cards of the exported pages: export path -> (cached file, digest).

    The cards come from the instance folder's cache (``render/ogimage.py``), the missing ones
    drawn first on every core (Pillow draws and compresses without the GIL). A card's path and
    digest are its content key: one the previous build exported is unchanged, and a new one is
    hard-linked into the export, not read and written again.
    """
    cards = renderer.cards
    wanted: dict[str, Offer] = {}
    for page in published:
        if page.offer.expires_at is not None and now >= page.offer.expires_at:
            continue  # not exported (410 on the server)
        for shown in list(page.variants.values()) or [page]:  # each A/B variant's page names its own card
            social = cards.image_for(shown.offer)
            if social.generated:
                wanted[social.path.lstrip("/")] = shown.offer
    missing = [offer for offer in wanted.values() if not cards.is_cached(offer)]
    if missing:
        with ThreadPoolExecutor(max_workers=min(len(missing), os.cpu_count() or 1)) as pool:
            list(pool.map(cards.card_file, missing))
    return {rel: (str(cards.card_file(offer)), "og:" + cards.key(offer)) for rel, offer in wanted.items()}


def page_bytes(renderer: Renderer, page: Page, now: datetime) -> bytes:
    """An offer page's bytes as the live server sends them, without what only the server needs
    (its ETag, a second SHA-256 of the page, and the renderer's page cache)."""
    state = page.offer.state(now)
    return renderer.offer_html(page, state, proof=renderer.proof(page.offer, state)).encode("utf-8")


def read_lead_counts(settings: Mapping[str, Any], catalog: Catalog) -> dict[str, int]:
    """Each offer's leads, for the ``proof:`` lines of the export: the figure of build time.

    Read only when an offer has a ``proof:`` and the database exists (a build needs none); the
    store is imported here, so a build without proof lines never loads it.
    """
    if not any(page.offer.proof for page in catalog.pages.values()):
        return {}
    path = Path(settings["DATABASE"])
    if not path.is_file():
        return {}
    from leadmagnet.store import DatabaseError, Store

    store = Store(path)
    try:
        return store.lead_counts()
    except (DatabaseError, OSError) as exc:
        log.warning("could not count the leads in %s (%s); the export shows no proof lines", path, exc)
        return {}
    finally:
        store.close()
