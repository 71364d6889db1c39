"""Static export: every published page as plain files any web server or CDN can serve.

``leadmagnet build OUT_DIR`` writes, under ``OUT_DIR``:

- ``index.html`` and ``tag/<tag>.html`` (when ``LEADMAGNET_INDEX_PAGE`` is on), ``<slug>.html``
  per published offer and ``404.html``; their forms post to ``LEADMAGNET_BASE_URL`` (the live server captures the lead and
  shows the thank-you page), and a small external ``beacon.js`` counts the view there;
- ``sitemap.xml`` and ``robots.txt``;
- ``og/<slug>.<hash>.png``: the drawn Open Graph cards (``render/ogimage.py``), from the
  instance folder's cache;
- ``media/<path>``: only the files the published pages show (covers, presenter photos, images in
  the Markdown), never a gated file, never an offer's Markdown source;
- ``static/<theme>/<fingerprint>/<path>``: the theme files, at the same fingerprinted URLs the live
  server uses, so they can be cached for a year;
- for each offer under an A/B test, ``ab/<slug>/<variant>.html`` and the nginx snippets
  ``nginx-ab-http.conf`` and ``nginx-ab-server.conf`` that split visitors at the edge (``edge``);
- a ``.gz`` and a ``.br`` twin of every text file, for servers that serve precompressed files
  (nginx ``gzip_static``, most CDNs).

The build needs no running server and no database (when one exists, it reads the lead counts of
the offers with a ``proof:`` line from it): it reads the settings, the content and the
themes, and renders with the same :class:`~leadmagnet.render.renderer.Renderer` as the live pages.

Builds are incremental, at three levels:

1. parsing: the parsed catalog is kept in the instance folder (``build-cache/``, private: it holds
   gated file names and join links) and handed to :func:`load_catalog` as ``previous``, so only
   offer files whose mtime or size changed are parsed again;
2. rendering: a page whose parsed offer, state (open, ended...), theme files and settings are all
   unchanged is not rendered again (nor its og card looked up); the index and tag pages are
   rendered again only when what they list changed (``pages.listing_files``);
3. writing: ``OUT_DIR/.leadmagnet-build.json`` records the SHA-256 of every file; only files whose
   bytes changed are written and compressed, and files of the previous build that are no longer
   part of the site are deleted. Files the build did not write are never touched: a non-empty
   ``OUT_DIR`` without a manifest is refused instead of mixed into.

A cold build parses the offer files and renders the pages in parallel, one process per core
(forked, so the workers share the parsed catalog and the renderer without pickling them); the render
workers also compress the changed pages and write them to a staging folder inside ``OUT_DIR``.
Everything is rendered before the first file of the export is replaced (as in Pelican), so a
build that fails leaves the previous export whole. A first build (a new or empty ``OUT_DIR``)
has no export to keep whole: its workers write in place (and link the og cards there), its own
process writes the other files meanwhile, and a failure removes what it wrote.
Builds into one ``OUT_DIR`` take turns (a lock next to its cache in the instance folder).

This module runs the build, in order; each step has its module:

- ``report``: what a build tells its caller (:class:`BuildReport`, :class:`BuildError`);
- ``cache``: the build cache in the instance folder and the lock;
- ``workers``: parsing and rendering on every core (forked workers, guided chunks);
- ``pages``: which pages to render or keep, and the other files of the export;
- ``files``: the output folder, the manifest, atomic writes and the ``.gz``/``.br`` twins.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemBytecodeCache

from leadmagnet.build.cache import BuildCache, PendingCache, build_lock, cache_file, code_version, dump_cache, read_cache
from leadmagnet.build.edge import ab_files
from leadmagnet.build.files import check_out_dir, read_manifest, undo_first_build, write_files, write_in_place
from leadmagnet.build.pages import extra_files, kept_cards, listing_files, og_cards, plan_pages, read_lead_counts
from leadmagnet.build.report import BuildError, BuildReport
from leadmagnet.build.workers import parse_catalog, rendering_pages
from leadmagnet.content.catalog import signature
from leadmagnet.foundation.brand import KEYS as BRAND_KEYS
from leadmagnet.render.renderer import Renderer
from leadmagnet.render.themes import Themes

__all__ = ["BuildError", "BuildReport", "build", "build_renderer"]

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
# Settings that change what a page looks like; a change re-renders every page.
RENDER_SETTINGS = (
    "BASE_URL",
    "SITE_NAME",
    "DEFAULT_THEME",
    "INDEX_PAGE",
    "THEMES_DIR",
    "PAGE_MAX_AGE",
    *(f"BRAND_{key.upper()}" for key in BRAND_KEYS),
)


def build(settings: Mapping[str, Any], out_dir: Path, now: datetime | None = None) -> BuildReport:
    """Export the site described by ``settings`` (``config.resolve()`` or an app's config) into ``out_dir``.

    Builds into one folder take turns (a second one waits for the first to finish).
    """
    out_dir = Path(out_dir).resolve()
    cache_path = cache_file(settings, out_dir)
    with build_lock(cache_path.with_suffix(".lock")):
        return _run(settings, out_dir, cache_path, now)


def _run(settings: Mapping[str, Any], out_dir: Path, cache_path: Path, now: datetime | None) -> BuildReport:
    content_dir = Path(settings["CONTENT_DIR"]).resolve()
    check_out_dir(out_dir, content_dir)
    if not content_dir.is_dir():
        raise BuildError(f"{content_dir}: content folder does not exist; pass --content or set LEADMAGNET_CONTENT_DIR")
    now = now or datetime.now(UTC)
    report = BuildReport(out_dir)
    if settings["BASE_URL"].rstrip("/") == DEFAULT_BASE_URL:
        report.warnings.append(
            f"LEADMAGNET_BASE_URL is the default {DEFAULT_BASE_URL}: exported forms will post there; set it to your live server's address"
        )

    renderer = build_renderer(settings)
    themes = renderer.themes
    cache_dir = cache_path.parent
    version = code_version()
    cache = read_cache(cache_path, version)
    catalog = parse_catalog(content_dir, themes, cache.catalog, report)
    render_key = hashlib.sha256(
        repr(([settings.get(k) for k in RENDER_SETTINGS], signature(*themes_folders(themes, settings)), version)).encode()
    ).hexdigest()
    same_look = cache.render_key == render_key
    previous_pages = cache.pages if same_look else {}
    # The index shows no Markdown, but the brand's logo and covers: any other file changed, it is made again.
    previous_listing = cache.listed if same_look and cache.catalog is not None and cache.catalog.assets == catalog.assets else None
    manifest = read_manifest(out_dir)
    # Pages still on disk as the manifest says may be kept without rendering them again.
    present = {rel for rel in manifest if rel.endswith(".html") and os.path.isfile(os.path.join(out_dir, rel))}

    # Compiled templates are kept between builds (Jinja checks each template's source is unchanged).
    (cache_dir / "templates").mkdir(parents=True, exist_ok=True)
    bytecode = FileSystemBytecodeCache(str(cache_dir / "templates"))
    for name in {renderer.theme_for(p.offer).name for p in catalog.pages.values()} | {settings["DEFAULT_THEME"]}:
        renderer.env(themes.get(name)).bytecode_cache = bytecode
    # Render workers write the pages that changed (and their twins) here; write_files moves them
    # into place with the rest. Removed whatever happens: nothing half-done stays in the export.
    # A first build (no folder yet, or an empty one) has no previous export to keep whole: the
    # workers write in place, saving three renames a page, and a failure removes what it wrote
    # (the folder itself stays if it was there: its owner, mode and ACLs are the user's).
    existed = out_dir.is_dir()
    fresh = not existed or not any(out_dir.iterdir())
    staging = out_dir if fresh else out_dir / f".leadmagnet-staging-{os.getpid()}"
    # Proof lines show the lead counts of build time (read once, before the workers fork).
    renderer.lead_counts = read_lead_counts(settings, catalog)
    published, to_render, kept, rendered = plan_pages(
        catalog, now, previous_pages, present, lambda page, state: renderer.proof(page.offer, state)
    )
    pending: PendingCache | None = None
    try:
        # The offer pages render on every core while this process makes the other files and
        # writes most of the build cache.
        with rendering_pages(renderer, catalog, to_render, now, manifest, staging, in_place=fresh) as pages_done:
            files, listing_kept, listed = listing_files(renderer, published, now, previous_listing, present)
            report.rendered, report.listings = len(to_render), len(files)
            files.update(extra_files(renderer, catalog, published, now))
            files.update(ab_files(renderer, published, now))  # A/B variants' pages and nginx snippets
            # A first build writes them now, while the workers work, not after them.
            written = write_in_place(out_dir, files) if fresh else {}
            files = {} if fresh else files
            pending = dump_cache(BuildCache(version, catalog, render_key, rendered, listed), cache_path)
            bodies, staged, drawn = pages_done()
        # The cards of the pages kept are those the previous build exported, while the export
        # still holds them; the workers drew or found those of the pages they rendered (and, in
        # a first build, linked them into the export: those are among `staged`).
        known = {**kept_cards(cache.cards, kept, manifest, out_dir), **drawn}
        cards, card_of = og_cards(renderer, published, now, known)
        cards = {rel: card for rel, card in cards.items() if rel not in staged}
        staged = {**staged, **written}
        files.update(bodies)
        report.problems = catalog.problems
        write_files(out_dir, files, kept | listing_kept, manifest, report, staging, staged, cards)
    except BaseException:
        if pending is not None:
            pending.abandon()
        if fresh:
            undo_first_build(out_dir, existed)
        raise
    finally:
        if not fresh:
            shutil.rmtree(staging, ignore_errors=True)
    if pending is not None:
        pending.finish(card_of)
    return report


def build_renderer(settings: Mapping[str, Any]) -> Renderer:
    """The renderer of the live pages, on the settings alone: no app, no database, no Flask."""
    # Exported forms (and the view beacon) go to the live server, not to the static host.
    config = {**settings, "FORM_BASE": str(settings["BASE_URL"]).rstrip("/")}
    # Templates cannot change under a build that takes a second: no check of their files per page.
    return Renderer(config, Themes(Path(settings["THEMES_DIR"])), auto_reload=False)


def themes_folders(themes: Themes, settings: Mapping[str, Any]) -> tuple[Path, ...]:
    return tuple(p for p in (Path(settings["THEMES_DIR"]), themes.bundled) if p.is_dir())
