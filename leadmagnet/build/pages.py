"""What the export holds: the offer pages to render or keep, and every other file.

An offer page is rendered again only when its parsed offer, its state (open, ended...), the
theme files or the settings changed since the previous build, and its og card is then taken
from the previous build as well. The index and tag pages are rendered again only when what they
show changed: the published offers, their states or their front matter (not a pitch's
Markdown), the theme files, the settings or any file of the content folder but the offers'
Markdown (a logo, a cover). Everything else (404, sitemap, robots.txt, media, theme files) is
made on every build; every file is written only if its bytes changed (``build/files.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from leadmagnet.content.catalog import Catalog, Page
from leadmagnet.content.offer import Offer
from leadmagnet.foundation import database_url
from leadmagnet.render.listing import listing_contexts
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


def listing_files(
    renderer: Renderer, published: list[Page], now: datetime, before: Listed | None, present: set[str]
) -> tuple[dict[str, bytes], set[str], Listed]:
    """The index and tag pages (when ``LEADMAGNET_INDEX_PAGE`` is on): rendered, or kept as the
    previous build wrote them when they would show the same.

    ``before``: what the previous build's index showed (None when its theme, settings or
    non-Markdown files differ). Returns the pages rendered, the file names kept (still
    ``present``), and what this build's index shows, for the next build's cache.
    """
    if not renderer.config["INDEX_PAGE"]:
        return {}, set(), Listed()
    shows = {p.offer.slug: (p, p.offer.state(now)) for p in published}
    if before is not None and before.files and before.same(shows) and all(name in present for name in before.files):
        return {}, set(before.files), Listed(shows, before.files)
    files: dict[str, bytes] = {}
    # One page per tag: the index's filter links work on any static host.
    for tag, context in listing_contexts([p.offer for p in published], now, renderer.config["BASE_URL"]).items():
        files["index.html" if tag is None else f"tag/{tag}.html"] = renderer.render("index.html", **context).encode()
    return files, set(), Listed(shows, tuple(files))


@dataclass
class Listed:
    """What the index and tag pages of a build show: each published page with its state, and
    the files they were written to (kept in the build cache)."""

    shows: dict[str, tuple[Page, str]] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def same(self, shows: dict[str, tuple[Page, str]]) -> bool:
        """True if pages ``shows`` list alike: the same offers in the same states, each the
        same parsed page or one whose front matter is unchanged (only its Markdown texts or the
        file's mtime differ: the index shows neither)."""
        if shows.keys() != self.shows.keys():
            return False
        for slug, (page, state) in shows.items():
            old, old_state = self.shows[slug]
            if state != old_state or (old is not page and not listed_alike(old.offer, page.offer)):
                return False
        return True


def listed_alike(a: Offer, b: Offer) -> bool:
    """True if offers ``a`` and ``b`` differ at most in their Markdown texts and mtime."""
    blank = {"body": "", "thank_you": "", "mtime": 0.0}
    return a.extra == b.extra and replace(a, **blank) == replace(b, **blank)


def extra_files(renderer: Renderer, catalog: Catalog, published: list[Page], now: datetime) -> dict[str, bytes]:
    """Everything but the offer, index and tag pages and og cards, by path relative to OUT_DIR:
    404, sitemap, robots.txt, media, theme files."""
    cfg = renderer.config
    themes = renderer.themes
    files: dict[str, bytes] = {}
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


def og_cards(
    renderer: Renderer,
    published: list[Page],
    now: datetime,
    known: Mapping[str, tuple[str, str, str] | None],
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str, str] | None]]:
    """The drawn Open Graph cards of the exported pages: export path -> (cached file, digest),
    and per slug the card (:meth:`OgCards.card`) for the next build's cache.

    The cards come from the instance folder's cache (``render/ogimage.py``). ``known`` has the
    cards the render workers drew or found for their pages, and those of the pages kept from
    the previous build: only the others (few, or none) are looked up here, the missing ones
    drawn on every core (Pillow draws and compresses without the GIL). A card's path and
    digest are its content key: one the previous build exported is unchanged, and a new one is
    hard-linked into the export, not read and written again.
    """
    cards = renderer.cards
    by_slug: dict[str, tuple[str, str, str] | None] = {}
    todo: list[Offer] = []
    for page in published:
        if page.offer.expires_at is not None and now >= page.offer.expires_at:
            continue  # not exported (410 on the server)
        slug = page.offer.slug
        if slug in known:
            by_slug[slug] = known[slug]
        else:
            todo.append(page.offer)
    if todo:
        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
            by_slug.update(zip((o.slug for o in todo), pool.map(cards.card, todo), strict=True))
    exported = {card[0]: (card[1], card[2]) for card in by_slug.values() if card is not None}
    # An A/B variant with its own title names a card of its own (few: looked up every build).
    for page in published:
        if page.offer.expires_at is not None and now >= page.offer.expires_at:
            continue
        for shown in page.variants.values():
            if shown.offer is not page.offer and (card := cards.card(shown.offer)) is not None:
                exported[card[0]] = (card[1], card[2])
    return exported, by_slug


def kept_cards(
    before: Mapping[str, tuple[str, str, str] | None], kept: set[str], manifest: Mapping[str, str], out_dir: Path
) -> dict[str, tuple[str, str, str] | None]:
    """The og cards of the offer pages ``kept`` as the previous build wrote them (``before``: its
    cards by slug), where the export still holds each card as its manifest says: nothing to
    hash or look up for them. One listing of ``og/`` instead of a check per card."""
    try:
        exported = set(os.listdir(out_dir / "og"))
    except OSError:
        exported = set()
    found: dict[str, tuple[str, str, str] | None] = {}
    for name in kept:
        slug = name[:-5]  # <slug>.html
        if name.endswith(".html") and slug in before:
            card = before[slug]
            if card is None or (manifest.get(card[0]) == card[2] and card[0].removeprefix("og/") in exported):
                found[slug] = card
    return found


def page_bytes(renderer: Renderer, page: Page, now: datetime) -> bytes:
    """An offer page's bytes as the live server sends them, without what only the server needs
    (its ETag, a second SHA-256 of the page, and the renderer's page cache)."""
    state = page.offer.state(now)
    return renderer.offer_html(page, state, proof=renderer.proof(page.offer, state)).encode("utf-8")


def read_lead_counts(settings: Mapping[str, Any], catalog: Catalog) -> dict[str, int]:
    """Each offer's leads, for the ``proof:`` lines of the export: the figure of build time.

    Read only when an offer has a ``proof:`` and there is a database (an SQLite file that exists, or
    a PostgreSQL URL; a build needs none); the store is imported here, so a build without proof
    lines never loads it.
    """
    if not any(page.offer.proof for page in catalog.pages.values()):
        return {}
    database = str(settings["DATABASE"])
    if database_url.backend(database) == database_url.SQLITE and not Path(database).is_file():
        return {}
    from leadmagnet.store import DatabaseError, Store

    store = Store(database)
    try:
        return store.lead_counts()
    except (DatabaseError, OSError) as exc:
        log.warning("could not count the leads in %s (%s); the export shows no proof lines", database_url.masked(database), exc)
        return {}
    finally:
        store.close()
