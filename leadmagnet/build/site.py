"""Static export: every published page as plain files any web server or CDN can serve.

``leadmagnet build OUT_DIR`` writes, under ``OUT_DIR``:

- ``index.html`` (when ``LEADMAGNET_INDEX_PAGE`` is on), ``<slug>.html`` per published offer and
  ``404.html``; their forms post to ``LEADMAGNET_BASE_URL`` (the live server captures the lead and
  shows the thank-you page), and a small external ``beacon.js`` counts the view there;
- ``sitemap.xml`` and ``robots.txt``;
- ``media/<path>``: only the files the published pages show (covers, presenter photos, images in
  the Markdown), never a gated file, never an offer's Markdown source;
- ``static/<theme>/<fingerprint>/<path>``: the theme files, at the same fingerprinted URLs the live
  server uses, so they can be cached for a year;
- a ``.gz`` and a ``.br`` twin of every text file, for servers that serve precompressed files
  (nginx ``gzip_static``, most CDNs).

The build needs no database and no running server: it reads the settings, the content and the
themes, and renders with the same :class:`~leadmagnet.render.renderer.Renderer` as the live pages.

Builds are incremental, at three levels:

1. parsing: the parsed catalog is kept in the instance folder (``build-cache/``, private: it holds
   gated file names and join links) and handed to :func:`load_catalog` as ``previous``, so only
   offer files whose mtime or size changed are parsed again;
2. rendering: a page whose parsed offer, state (open, ended...), theme files and settings are all
   unchanged is not rendered again;
3. writing: ``OUT_DIR/.leadmagnet-build.json`` records the SHA-256 of every file; only files whose
   bytes changed are written and compressed, and files of the previous build that are no longer
   part of the site are deleted. Files the build did not write are never touched: a non-empty
   ``OUT_DIR`` without a manifest is refused instead of mixed into.

A cold build parses the offer files and renders the pages in parallel, one process per core
(forked, so the workers share the parsed catalog and the renderer without pickling them); the render
workers also compress the changed pages and write them to a staging folder inside ``OUT_DIR``.
Everything is rendered before the first file of the export is replaced (as in Pelican), so a
build that fails leaves the previous export whole. A first build (a new or empty ``OUT_DIR``)
has no export to keep whole: its workers write in place, and a failure removes what it wrote.
Builds into one ``OUT_DIR`` take turns (a lock next to its cache in the instance folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemBytecodeCache

from leadmagnet.content import markup
from leadmagnet.content.catalog import Catalog, Page, _scan, load_catalog, read_files, signature
from leadmagnet.content.offer import Problem
from leadmagnet.foundation.version import __version__
from leadmagnet.render.compression import compress, is_compressible
from leadmagnet.render.renderer import Renderer, robots_txt, sitemap_xml
from leadmagnet.render.themes import Themes

log = logging.getLogger(__name__)

MANIFEST = ".leadmagnet-build.json"
TWINS = {"gzip": ".gz", "br": ".br"}
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
# Settings that change what a page looks like; a change re-renders every page.
RENDER_SETTINGS = ("BASE_URL", "SITE_NAME", "DEFAULT_THEME", "INDEX_PAGE", "THEMES_DIR", "PAGE_MAX_AGE")
# Below this many files to parse or pages to render, one process beats starting a pool.
PARALLEL_MIN = 64
MIME_BY_SUFFIX = {
    ".html": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".css": "text/css",
    ".js": "application/javascript",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


class BuildError(ValueError):
    """The export cannot be written (the message names the folder and what to do)."""


@dataclass
class BuildReport:
    """What a build did: files written (with their twins) and kept, files removed, problems."""

    out_dir: Path
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: tuple[Problem, ...] = ()
    warnings: list[str] = field(default_factory=list)
    parsed: int = 0
    rendered: int = 0

    @property
    def total(self) -> int:
        return len(self.written) + len(self.unchanged)


@dataclass
class BuildCache:
    """What the previous build into the same OUT_DIR knew: its catalog and how it rendered pages."""

    version: str = ""
    catalog: Catalog | None = None
    render_key: str = ""
    # slug -> (the Page rendered, its state, its output path)
    pages: dict[str, tuple[Page, str, str]] = field(default_factory=dict)


def build(settings: Mapping[str, Any], out_dir: Path, now: datetime | None = None) -> BuildReport:
    """Export the site described by ``settings`` (``config.resolve()`` or an app's config) into ``out_dir``.

    Builds into one folder take turns (a second one waits for the first to finish).
    """
    out_dir = Path(out_dir).resolve()
    cache_path = cache_file(settings, out_dir)
    with build_lock(cache_path.with_suffix(".lock")):
        return _build(settings, out_dir, cache_path, now)


def cache_file(settings: Mapping[str, Any], out_dir: Path) -> Path:
    """Where the build cache for exports into ``out_dir`` lives (private: in the instance folder)."""
    return Path(settings["INSTANCE_DIR"]) / "build-cache" / (hashlib.sha256(str(out_dir).encode()).hexdigest()[:16] + ".pickle")


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (waiting for it) while a build runs; no lock where the
    system has no ``fcntl`` (Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "ab") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(settings: Mapping[str, Any], out_dir: Path, cache_path: Path, now: datetime | None) -> BuildReport:
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
    previous_pages = cache.pages if cache.render_key == render_key else {}
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
    published, to_render, kept, rendered = plan_pages(catalog, now, previous_pages, present)
    try:
        # The offer pages render on every core while this process makes the other files and
        # the build cache's bytes.
        with rendering_pages(renderer, catalog, to_render, now, manifest, staging) as pages_done:
            files = extra_files(renderer, catalog, published, now)
            cache_bytes = dump_cache(BuildCache(version, catalog, render_key, rendered))
            bodies, staged = pages_done()
        files.update(bodies)
        report.problems = catalog.problems
        report.rendered = len(rendered) - len(kept)
        write_files(out_dir, files, kept, manifest, report, staging, staged)
    except BaseException:
        if fresh and not existed:
            shutil.rmtree(out_dir, ignore_errors=True)
        elif fresh:
            for entry in os.scandir(out_dir):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):  # the build's own error is the one to report
                        os.unlink(entry.path)
        raise
    finally:
        if not fresh:
            shutil.rmtree(staging, ignore_errors=True)
    write_cache(cache_path, cache_bytes)
    return report


def code_version() -> str:
    """leadmagnet's version plus the mtime and size of its modules: a code change invalidates the cache."""
    package = Path(__file__).resolve().parent.parent  # the whole leadmagnet package
    stamps = []
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        stamps.append((path.relative_to(package).as_posix(), st.st_mtime_ns, st.st_size))
    return __version__ + "-" + hashlib.sha256(repr(stamps).encode()).hexdigest()[:16]


def build_renderer(settings: Mapping[str, Any]) -> Renderer:
    """The renderer of the live pages, on the settings alone: no app, no database, no Flask."""
    # Exported forms (and the view beacon) go to the live server, not to the static host.
    config = {**settings, "FORM_BASE": str(settings["BASE_URL"]).rstrip("/")}
    # Templates cannot change under a build that takes a second: no check of their files per page.
    return Renderer(config, Themes(Path(settings["THEMES_DIR"])), auto_reload=False)


def themes_folders(themes: Themes, settings: Mapping[str, Any]) -> tuple[Path, ...]:
    return tuple(p for p in (Path(settings["THEMES_DIR"]), themes.bundled) if p.is_dir())


def parse_catalog(content_dir: Path, themes: Themes, previous: Catalog | None, report: BuildReport) -> Catalog:
    """The catalog, parsing only files changed since ``previous``; a cold parse uses every core."""
    if previous is not None and previous.content_dir == content_dir:
        catalog = load_catalog(content_dir, check_theme=themes.problem, previous=previous)
        before = {path: entry[1] for path, entry in previous.parsed.items()}
        report.parsed = sum(1 for path, entry in catalog.parsed.items() if entry[1] is None or before.get(path) is not entry[1])
        return catalog
    sources, assets = _scan(content_dir)
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


def plan_pages(
    catalog: Catalog, now: datetime, previous_pages: dict[str, tuple[Page, str, str]], present: set[str]
) -> tuple[list[Page], list[str], set[str], dict[str, tuple[Page, str, str]]]:
    """Which offer pages the export has, and which of them must be rendered.

    Returns the published pages, the slugs to render, the page files kept as they are (same
    parsed offer, state, theme and settings as when ``previous_pages`` rendered them, and still
    ``present``), and per slug what the next build's cache records as rendered.
    """
    kept: set[str] = set()
    rendered: dict[str, tuple[Page, str, str]] = {}
    published = [p for p in catalog.pages.values() if p.offer.is_published(now)]
    to_render: list[str] = []
    for page in published:
        slug = page.offer.slug
        state = page.offer.state(now)
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
    """Everything but the offer pages, by path relative to OUT_DIR: index, 404, sitemap,
    robots.txt, media, theme files."""
    cfg = renderer.config
    themes = renderer.themes
    files: dict[str, bytes] = {}
    if cfg["INDEX_PAGE"]:
        offers = sorted((p.offer for p in published), key=lambda o: (o.type, o.title))
        files["index.html"] = renderer.render("index.html", offers=offers, canonical=cfg["BASE_URL"] + "/", now=now).encode()
    files["404.html"] = renderer.render(
        "error.html", status=404, title="Page not found", message="This page does not exist, or the offer is not published."
    ).encode()
    files["sitemap.xml"] = sitemap_xml(cfg["BASE_URL"], catalog, now, cfg["INDEX_PAGE"]).encode()
    files["robots.txt"] = robots_txt(cfg["BASE_URL"]).encode()

    # Security: only what a published page shows. media_shown() already excludes gated files
    # and Markdown sources, whatever a pitch links to.
    root = catalog.content_dir.resolve()
    for rel in sorted(catalog.public_files):
        if not catalog.media_shown(rel, now):
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


@contextlib.contextmanager
def rendering_pages(
    renderer: Renderer, catalog: Catalog, slugs: list[str], now: datetime, old: Mapping[str, str], staging: Path | None
) -> Iterator[Callable[[], tuple[dict[str, bytes], dict[str, str]]]]:
    """Start rendering the offer pages of ``slugs``; yields a function that waits for them.

    That function returns the pages' bytes by file name, and the digests of those already
    written with their twins to ``staging`` (their bytes stay in the workers: the manifest
    only needs the digest).

    Many pages are rendered on every core by forked workers, which also compress each page whose
    bytes differ from ``old`` (the previous manifest) and write it with its twins to ``staging``:
    compressing and writing are the other half of the work per page. Few pages are rendered
    here, when the function is called, and :func:`write_files` compresses and writes them.
    """
    global _forked

    def here() -> tuple[dict[str, bytes], dict[str, str]]:
        return {f"{slug}.html": page_bytes(renderer, catalog.pages[slug], now) for slug in slugs}, {}

    if not (len(slugs) >= PARALLEL_MIN and (os.cpu_count() or 1) > 1 and staging is not None and _can_fork()):
        yield here
        return
    from concurrent.futures import ProcessPoolExecutor  # loads multiprocessing: only for big builds
    from multiprocessing import get_context

    workers = os.cpu_count() or 1
    chunks = guided_chunks(slugs, workers)
    staging.mkdir(parents=True, exist_ok=True)
    # Forked workers inherit this (the renderer, its templates and the catalog): nothing to pickle
    # but the slugs there and the digests back. One page rendered here first loads the templates,
    # fingerprints and inlined CSS once, for every worker (it is then a cache hit in its worker).
    page_bytes(renderer, catalog.pages[slugs[0]], now)

    def collect(results: Iterator[list[tuple[str, bytes | None, str]]]) -> tuple[dict[str, bytes], dict[str, str]]:
        bodies: dict[str, bytes] = {}
        staged: dict[str, str] = {}
        try:
            for name, body, digest in (item for items in results for item in items):
                if body is None:
                    staged[name] = digest
                else:
                    bodies[name] = body
        except Exception as exc:
            # All pages again, here: write_files then writes every one (and its twins) over
            # whatever a worker left in staging.
            log.warning("parallel rendering failed (%s); rendering in one process", exc)
            return here()
        return bodies, staged

    with _fork_lock:  # two builds in one process must not hand their workers each other's catalog
        _forked = (renderer, catalog, now, old, staging)
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
                try:
                    results = pool.map(_render_chunk, chunks)  # all submitted: the workers start now
                except Exception as exc:  # the workers could not start (fork failed)
                    log.warning("parallel rendering failed (%s); rendering in one process", exc)
                    results = None
                yield here if results is None else lambda: collect(results)
        finally:
            _forked = None


def page_bytes(renderer: Renderer, page: Page, now: datetime) -> bytes:
    """An offer page's bytes as the live server sends them, without what only the server needs
    (its ETag, a second SHA-256 of the page, and the renderer's page cache)."""
    return renderer.offer_html(page, page.offer.state(now)).encode("utf-8")


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
_forked: tuple[Renderer, Catalog, datetime, Mapping[str, str], Path] | None = None
_fork_lock = threading.Lock()


def _render_chunk(slugs: list[str]) -> list[tuple[str, bytes | None, str]]:
    """In a worker: ``(file name, bytes or None when written to staging, digest)`` per page."""
    assert _forked is not None, "render workers must be forked from rendering_pages"
    renderer, catalog, now, old, staging = _forked
    pages = [(f"{slug}.html", page_bytes(renderer, catalog.pages[slug], now)) for slug in slugs]
    done: list[tuple[str, bytes | None, str]] = []
    changed: list[tuple[str, bytes]] = []
    for name, body in pages:
        digest = hashlib.sha256(body).hexdigest()
        if old.get(name) == digest:
            done.append((name, body, digest))  # unchanged: write_files checks the file is still there
        else:
            changed.append((name, body))
            done.append((name, None, digest))
    twins = [compress_twins(body) for _name, body in changed]
    for (name, body), packed in zip(changed, twins, strict=True):
        write_new(os.path.join(staging, name), body)
        for suffix, data in packed.items():
            write_new(os.path.join(staging, name + suffix), data)
    return done


def write_new(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` with three system calls: no buffered file object (three
    thousand files a cold build; Python's file objects cost a quarter of the writing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def check_out_dir(out_dir: Path, content_dir: Path) -> None:
    """Refuse folders a build must not write into (the message says what to do instead)."""
    if out_dir == content_dir or content_dir.is_relative_to(out_dir) or out_dir.is_relative_to(content_dir):
        raise BuildError(f"{out_dir}: the output folder must be outside the content folder {content_dir}; pick another folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(f"{out_dir}: exists and is not a folder; pick a folder name")
    if out_dir.is_dir() and not (out_dir / MANIFEST).exists() and any(out_dir.iterdir()):
        raise BuildError(
            f"{out_dir}: folder is not empty and was not made by leadmagnet build (no {MANIFEST}); pick an empty or new folder"
        )


def read_cache(path: Path, version: str) -> BuildCache:
    """The previous build's cache, or an empty one if it is missing, stale or unreadable."""
    try:
        # Security: the cache lives in the private instance folder, which is trusted as much as
        # instance/config.py (executed at start); it is never read from the export.
        with path.open("rb") as fh:
            cache = pickle.load(fh)  # noqa: S301 - see above
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return BuildCache()
    if not isinstance(cache, BuildCache) or cache.version != version:
        return BuildCache()
    return cache


def dump_cache(cache: BuildCache) -> bytes | None:
    """The cache's bytes, or None (with a warning) if it cannot be pickled."""
    try:
        return pickle.dumps(cache, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("could not save the build cache (%s); the next build parses everything again", exc)
        return None


def write_cache(path: Path, data: bytes | None) -> None:
    """Save the cache made by :func:`dump_cache` (after the export is complete)."""
    if data is None:
        return
    try:
        write_atomic(path, data)
    except OSError as exc:
        log.warning("could not save the build cache %s (%s); the next build parses everything again", path, exc)


def read_manifest(out_dir: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of the previous build; empty when there is none or it is unreadable."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def write_files(
    out_dir: Path,
    files: dict[str, bytes],
    kept: set[str],
    old: dict[str, str],
    report: BuildReport,
    staging: Path | None = None,
    staged: Mapping[str, str] | None = None,
) -> None:
    """Write changed files (and twins), delete stale ones, then the manifest.

    ``staged`` maps files already written, with their twins, in ``staging`` to their digests:
    they are moved into place instead (their bytes are not in ``files``).
    """
    staged = staged or {}
    new: dict[str, str] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel in sorted(kept):
        if os.path.isfile(os.path.join(out_dir, rel)):
            new[rel] = old[rel]
            report.unchanged.append(rel)
    changed: list[tuple[Path, bytes]] = []
    moves: list[str] = []  # staged elsewhere than in place (a rebuild): renamed into place
    in_place = staging == out_dir  # a first build: the workers wrote where the pages belong
    for rel in sorted(files.keys() | staged.keys()):
        if rel in staged and staging is not None:
            # On strings: a thousand pages a cold build, where pathlib cost a third of this loop.
            new[rel] = staged[rel]
            report.written.append(rel)
            if not in_place:
                moves.append(rel)
            continue
        target = out_dir / rel
        data = files[rel]
        digest = hashlib.sha256(data).hexdigest()
        new[rel] = digest
        if old.get(rel) == digest and target.is_file():
            report.unchanged.append(rel)
            continue
        changed.append((target, data))
        report.written.append(rel)
    for folder in sorted({target.parent for target, _data in changed} | {out_dir / os.path.dirname(rel) for rel in moves}):
        folder.mkdir(parents=True, exist_ok=True)
    # Staged pages are renamed into place here (a thousand renames cost less than handing them
    # to threads); the rest are compressed by threads: zlib, brotli and file writes release the
    # GIL, so they overlap on every core.
    root, source = str(out_dir), str(staging)
    for rel in moves:
        for suffix in ("", *TWINS.values()):
            os.replace(os.path.join(source, rel + suffix), os.path.join(root, rel + suffix))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for _ in pool.map(lambda item: write_with_twins(*item), changed):
            pass
    for rel in sorted(set(old) - set(new)):
        target = out_dir / rel
        if not target.resolve().is_relative_to(out_dir):
            continue  # a tampered manifest must not delete anything outside the export
        for path in (target, *(target.with_name(target.name + s) for s in TWINS.values())):
            path.unlink(missing_ok=True)
        report.removed.append(rel)
        prune_empty_dirs(target.parent, out_dir)
    manifest = {"generator": "leadmagnet build", "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "files": new}
    write_atomic(out_dir / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def write_with_twins(target: Path, data: bytes) -> None:
    """Write one file and, for text, its ``.gz`` and ``.br`` twins (removing twins it no longer has).

    The folder exists already (made by :func:`write_files`).
    """
    folder, name = os.path.split(target)
    replace_file(folder, name, data)
    stale_twins = set(TWINS.values())
    if is_compressible(MIME_BY_SUFFIX.get(target.suffix)):
        for suffix, packed in compress_twins(data).items():
            replace_file(folder, name + suffix, packed)
            stale_twins.discard(suffix)
    for suffix in stale_twins:
        target.with_name(target.name + suffix).unlink(missing_ok=True)


def compress_twins(data: bytes) -> dict[str, bytes]:
    """The ``.gz`` and ``.br`` twins of a text file, compressed as hard as a build affords."""
    return {suffix: compress(data, coding, best=True) for coding, suffix in TWINS.items()}


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a server never sends a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(str(path.parent), path.name, data)


def replace_file(folder: str, name: str, data: bytes) -> None:
    """:func:`write_atomic` into an existing folder, on plain strings (cheaper than pathlib)."""
    tmp = os.path.join(folder, f".{name}.tmp")
    write_new(tmp, data)
    os.replace(tmp, os.path.join(folder, name))


def prune_empty_dirs(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to ``root`` while they are empty."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
