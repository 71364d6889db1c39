"""The parallel half of a cold build: parsing the offer files and rendering the pages on every core.

Workers are forked, so they share the parsed catalog and the renderer without pickling them; the
render workers also compress the changed pages and write them with their twins to a staging
folder (compressing and writing are the other half of the work per page). Work is handed out in
:func:`guided_chunks`. Below :data:`PARALLEL_MIN` files or pages, or where fork is missing or
fails, everything runs in this process with the same results, byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from leadmagnet.build.files import compress_twins, link_file, write_new
from leadmagnet.build.pages import page_bytes
from leadmagnet.build.report import BuildReport
from leadmagnet.content import markup
from leadmagnet.content.catalog import Catalog, Page, load_catalog, read_files, scan_content
from leadmagnet.content.problems import Problem
from leadmagnet.render.renderer import Renderer
from leadmagnet.render.themes import Themes

log = logging.getLogger(__name__)

# Below this many files to parse or pages to render, one process beats starting a pool.
PARALLEL_MIN = 64


def parse_catalog(content_dir: Path, themes: Themes, previous: Catalog | None, report: BuildReport) -> Catalog:
    """The catalog, parsing only files changed since ``previous``; a cold parse uses every core."""
    if previous is not None and previous.content_dir == content_dir:
        catalog = load_catalog(content_dir, check_theme=themes.problem, previous=previous)
        before = {path: entry[1] for path, entry in previous.parsed.items()}
        report.parsed = sum(1 for path, entry in catalog.parsed.items() if entry[1] is None or before.get(path) is not entry[1])
        return catalog
    sources, assets = scan_content(content_dir)
    report.parsed = len(sources)
    if len(sources) >= PARALLEL_MIN and (os.cpu_count() or 1) > 1:
        from concurrent.futures import ProcessPoolExecutor  # loads multiprocessing: only for big builds
        from multiprocessing import get_context

        paths = [Path(path) for path, _stamp in sources]
        # Forked workers inherit this process's Markdown converter, built here once, instead of
        # each building its own: a seventh of the parse of 1,000 offers on two cores.
        markup.render("")
        try:
            with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=get_context("fork") if _can_fork() else None) as pool:
                chunks = guided_chunks(paths, os.cpu_count() or 1)
                results = [item for items in pool.map(_parse_chunk, chunks, [content_dir] * len(chunks)) for item in items]
        except (OSError, RuntimeError, pickle.PicklingError) as exc:
            log.warning("parallel parsing failed (%s); parsing in one process", exc)
        else:
            parsed = {path: (stamp, page, tuple(found)) for (path, stamp), (page, found) in zip(sources, results, strict=True)}
            # A file gone since the scan (renamed, or a checkout under way) is left out, as a
            # fresh scan would: only then is the folder listed again.
            gone = any(entry[1] is None and not os.path.exists(path) for path, entry in parsed.items())
            # load_catalog reuses every entry of `parsed` (same mtime and size), so it only
            # assembles the catalog: slugs, themes, media owners and problems, as always.
            previous = Catalog(content_dir, parsed=parsed, assets=assets)
            return load_catalog(content_dir, check_theme=themes.problem, previous=previous, scanned=None if gone else (sources, assets))
    return load_catalog(content_dir, check_theme=themes.problem)


# What the render workers hand back: the pages' bytes by file name (those not written to
# staging), the digests of those written there, and each page's og card by slug.
Rendered = tuple[dict[str, bytes], dict[str, str], dict[str, tuple[str, str, str] | None]]


@contextlib.contextmanager
def rendering_pages(
    renderer: Renderer,
    catalog: Catalog,
    slugs: list[str],
    now: datetime,
    old: Mapping[str, str],
    staging: Path | None,
    in_place: bool = False,
) -> Iterator[Callable[[], Rendered]]:
    """Start rendering the offer pages of ``slugs``; yields a function that waits for them.

    That function returns the pages' bytes by file name, the digests of those already written
    with their twins to ``staging`` (their bytes stay in the workers: the manifest only needs
    the digest), and the og cards the workers drew or found, by slug (:meth:`OgCards.card`).

    Many pages are rendered on every core by forked workers, which also compress each page whose
    bytes differ from ``old`` (the previous manifest) and write it with its twins to ``staging``:
    compressing and writing are the other half of the work per page. Few pages are rendered
    here, when the function is called, and :func:`write_files` compresses and writes them.

    ``in_place``: ``staging`` is the export itself (a first build): the workers also hard-link
    each page's og card into it, and the digests returned include those cards' (by export path).
    """
    global _forked

    def here() -> Rendered:
        return {f"{slug}.html": page_bytes(renderer, catalog.pages[slug], now) for slug in slugs}, {}, {}

    if not (len(slugs) >= PARALLEL_MIN and (os.cpu_count() or 1) > 1 and staging is not None and _can_fork()):
        yield here
        return
    from concurrent.futures import ProcessPoolExecutor  # loads multiprocessing: only for big builds
    from multiprocessing import get_context

    workers = os.cpu_count() or 1
    chunks = guided_chunks(slugs, workers)
    staging.mkdir(parents=True, exist_ok=True)
    if in_place:
        (staging / "og").mkdir(exist_ok=True)
    # Forked workers inherit this (the renderer, its templates and the catalog): nothing to pickle
    # but the slugs there and the digests back. One page rendered here first loads the templates,
    # fingerprints and inlined CSS once, for every worker (it is then a cache hit in its worker).
    page_bytes(renderer, catalog.pages[slugs[0]], now)

    def collect(results: Iterator[list[tuple[str, bytes | None, str, tuple[str, str, str] | None]]]) -> Rendered:
        bodies: dict[str, bytes] = {}
        staged: dict[str, str] = {}
        cards: dict[str, tuple[str, str, str] | None] = {}
        try:
            for name, body, digest, card in (item for items in results for item in items):
                if body is None:
                    staged[name] = digest
                else:
                    bodies[name] = body
                cards[name[:-5]] = card  # <slug>.html
                if in_place and card is not None:
                    staged[card[0]] = card[2]  # linked into the export by the worker
        except Exception as exc:
            # All pages again, here: write_files then writes every one (and its twins) over
            # whatever a worker left in staging.
            log.warning("parallel rendering failed (%s); rendering in one process", exc)
            return here()
        return bodies, staged, cards

    with _fork_lock:  # two builds in one process must not hand their workers each other's catalog
        _forked = (renderer, catalog, now, old, staging, in_place)
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
                try:
                    results = pool.map(render_chunk, chunks)  # all submitted: the workers start now
                except Exception as exc:  # the workers could not start (fork failed)
                    log.warning("parallel rendering failed (%s); rendering in one process", exc)
                    results = None
                yield here if results is None else lambda: collect(results)
        finally:
            _forked = None


def guided_chunks(items: list[Any], workers: int, smallest: int = 8, largest: int = 256) -> list[list[Any]]:
    """``items`` cut into chunks that shrink as they go (guided scheduling): each is the
    remaining work over twice the workers, at least ``smallest`` and at most ``largest`` (a
    render worker holds a chunk's pages and twins in memory: about 4 MB for 256).

    Big chunks first keep the pool's messages few; small ones last make the workers finish
    together. Equal chunks of a quarter of a worker's share left one worker idle for up to a
    chunk at the end of each phase: 40-90 ms of a cold build of 1,000 offers.
    """
    chunks = []
    start = 0
    while start < len(items):
        size = min(largest, max(smallest, (len(items) - start) // (2 * workers)))
        chunks.append(items[start : start + size])
        start += size
    return chunks


def _parse_chunk(paths: list[Path], content_dir: Path) -> list[tuple[Page | None, list[Problem]]]:
    """In a parse worker: :func:`read_file` of each path, in order."""
    return read_files(paths, content_dir)


def _can_fork() -> bool:
    """fork is what shares the catalog; macOS offers it but calls it unsafe (its system libraries)."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


# What forked render workers need, set by rendering_pages for the life of its pool.
_forked: tuple[Renderer, Catalog, datetime, Mapping[str, str], Path, bool] | None = None
_fork_lock = threading.Lock()


def render_chunk(slugs: list[str]) -> list[tuple[str, bytes | None, str, tuple[str, str, str] | None]]:
    """In a worker: ``(file name, bytes or None when written to staging, digest, og card)`` per page.

    The page's og card is drawn here if it is not in the instance folder's cache yet (a first
    build on a new instance draws every card, on every core). In a first build (the pages
    written in place) the card is hard-linked into the export here too: a thousand links and
    folder checks that would otherwise wait in the build's own process until every page is done.
    """
    assert _forked is not None, "render workers must be forked from rendering_pages"
    renderer, catalog, now, old, staging, in_place = _forked
    pages = [(f"{slug}.html", page_bytes(renderer, catalog.pages[slug], now)) for slug in slugs]
    done: list[tuple[str, bytes | None, str, tuple[str, str, str] | None]] = []
    changed: list[tuple[str, bytes]] = []
    for (name, body), slug in zip(pages, slugs, strict=True):
        digest = hashlib.sha256(body).hexdigest()
        card = renderer.cards.card(catalog.pages[slug].offer)
        if old.get(name) == digest:
            done.append((name, body, digest, card))  # unchanged: write_files checks the file is still there
        else:
            changed.append((name, body))
            done.append((name, None, digest, card))
    twins = [compress_twins(body) for _name, body in changed]
    for (name, body), packed in zip(changed, twins, strict=True):
        write_new(os.path.join(staging, name), body)
        for suffix, data in packed.items():
            write_new(os.path.join(staging, name + suffix), data)
    if in_place:
        for _name, _body, _digest, card in done:
            if card is not None:
                link_file(card[1], os.path.join(staging, card[0]), fresh=True)
    return done
