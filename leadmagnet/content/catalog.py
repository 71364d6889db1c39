"""Read ``content/*.md`` into an immutable :class:`Catalog`, swapped whole when a file changes.

Content flows one way, as in Pelican: every file is read and validated before the catalog is
built; a broken file is reported (file, key, what is expected) and skipped while the other offers
keep serving. :class:`CatalogCache` re-reads the folder when a file's mtime changes, checking at
most once per ``interval`` seconds so the hot path costs nothing.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from leadmagnet.content import markup
from leadmagnet.content.contract import dated_warnings, parse_offer
from leadmagnet.content.frontmatter import load_front_matter, split_front_matter
from leadmagnet.content.funnel import next_problems
from leadmagnet.content.offer import CONTROL, Offer
from leadmagnet.content.problems import Problem, below, did_you_mean, display_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """An offer plus its rendered Markdown (pitch and thank-you text)."""

    offer: Offer
    body_html: str
    thank_you_html: str
    images: frozenset[str] = frozenset()
    # A/B test: the variant this page shows (None: no test running), and, on the control's page,
    # every variant's page by name (the control's own included).
    variant: str | None = None
    variants: dict[str, Page] = field(default_factory=dict, compare=False, repr=False)

    def shown(self, name: str | None) -> Page:
        """The page of variant ``name`` while a test runs; this page for any other name."""
        return self.variants.get(name, self) if name else self


@dataclass(frozen=True)
class Catalog:
    """Every valid offer by slug, the problems found, and the files that may be served publicly."""

    content_dir: Path
    pages: dict[str, Page] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    public_files: frozenset[str] = frozenset()
    version: int = 0
    media_owners: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What each file parsed to, keyed by path (a plain string: a thousand Path objects cost more
    # than the check they serve), with the (mtime, size) it was parsed at and the signature of
    # the other files it may refer to: the next reload re-reads only what changed.
    parsed: dict[str, tuple[tuple[float, int], Page | None, tuple[Problem, ...]]] = field(default_factory=dict, repr=False)
    assets: tuple[tuple[str, float, int], ...] = ()

    def media_shown(self, path: str, now: datetime) -> bool:
        """True if ``path`` is a file that a page published at ``now`` shows.

        A draft or scheduled offer's cover stays private until its page is public; gated files
        and Markdown sources are never in ``media_owners`` (see :func:`load_catalog`).
        """
        for slug in self.media_owners.get(path, ()):
            page = self.pages.get(slug)
            if page is not None and page.offer.is_published(now):
                return True
        return False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    def offers(self) -> list[Offer]:
        return [p.offer for p in self.pages.values()]

    def get(self, slug: str) -> Page | None:
        return self.pages.get(slug)


def read_file(path: Path, content_dir: Path) -> tuple[Page | None, list[Problem]]:
    """Read, validate and render one offer file."""
    return read_files([path], content_dir)[0]


def read_files(paths: list[Path], content_dir: Path) -> list[tuple[Page | None, list[Problem]]]:
    """:func:`read_file` of each path, in order, done stage by stage: every file's front matter
    is read and validated, then every valid offer's Markdown is rendered. The same results;
    each stage keeps its code and data in the core's caches (a build's parse workers)."""
    offers = [_offer_in(path, content_dir) for path in paths]
    return [
        (_page_of(offer, path, content_dir), problems) if offer is not None else (None, problems)
        for path, (offer, problems) in zip(paths, offers, strict=True)
    ]


def _offer_in(path: Path, content_dir: Path) -> tuple[Offer | None, list[Problem]]:
    """The validated offer of one file (None if it has errors), and every problem."""
    rel = display_path(path, content_dir)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
            mtime = os.fstat(fh.fileno()).st_mtime
    except UnicodeDecodeError as exc:
        return None, [Problem(rel, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8")]
    except OSError as exc:
        return None, [Problem(rel, None, f"cannot be read: {exc.strerror}")]
    front, body = split_front_matter(text)
    if front is None:
        return None, [Problem(rel, None, "has no front matter; start the file with --- then key: value lines, then ---")]
    try:
        meta: Any = load_front_matter(front)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(rel, None, f"front matter is not valid YAML{where}: {problem}")]
    return parse_offer(path, content_dir, meta, body, mtime)


def _page_of(offer: Offer, path: Path, content_dir: Path) -> Page:
    """An offer with its pitch and thank-you text rendered from Markdown.

    With ``variants``, each variant's page is made too (``Page.variants``, the control's page
    included), and the control's ``images`` hold every variant's, so each one's media is public.
    Once a ``winner`` is chosen, the page is the winner's and no test runs (``variant`` None).
    """
    base = _folder_in(path, content_dir)
    if offer.winner is not None:
        return _rendered(offer.as_variant(offer.winner), base, None)
    if not offer.variants:
        return _rendered(offer, base, None)
    shown = {name: _rendered(offer.as_variant(name), base, name) for name in offer.weights()}
    control = shown[CONTROL]
    images = frozenset().union(*(page.images for page in shown.values()))
    page = Page(offer, control.body_html, control.thank_you_html, images, CONTROL, shown)
    shown[CONTROL] = page
    return page


def _rendered(offer: Offer, base: str, variant: str | None) -> Page:
    pitch = markup.render(offer.body, base)
    thanks = markup.render(offer.thank_you, base) if offer.thank_you else markup.Rendered("", set())
    return Page(offer, pitch.html, thanks.html, frozenset(pitch.images | thanks.images), variant)


def _folder_in(path: Path, content_dir: Path) -> str:
    """The folder of ``path`` relative to ``content_dir``, in POSIX form; ``""`` for the top."""
    folder, root = os.path.dirname(path), str(content_dir)
    if folder == root:
        return ""
    rest = below(folder, root)
    if rest is not None:
        return rest.replace(os.sep, "/")
    base = path.parent.relative_to(content_dir).as_posix()  # not in pathlib's normal form
    return "" if base == "." else base


def load_catalog(
    content_dir: Path,
    version: int = 0,
    check_theme: Callable[[str], str | None] | None = None,
    previous: Catalog | None = None,
    scanned: tuple[list[tuple[str, tuple[float, int]]], tuple[tuple[str, float, int], ...]] | None = None,
    now: datetime | None = None,
) -> Catalog:
    """Read every ``*.md`` file in ``content_dir`` (recursively) into a catalog.

    ``check_theme(name)`` returns what is wrong with a theme (missing, broken ``extends``) or
    None, so an offer naming an unusable theme is an error instead of a 500 at request time.
    Slug clashes are decided by path order: the alphabetically first file keeps the slug.

    With ``previous`` (the catalog being replaced), a file whose mtime and size are unchanged
    is not parsed again, as long as no other file (an image, a gated file) changed either: with
    a thousand offers, saving one re-renders one Markdown body, not a thousand.

    ``scanned``: what :func:`scan_content` found a moment ago, when the caller has just parsed exactly
    those files (a build's parse workers): not listed and stat'ed a second time.

    The problems include the warnings that depend on the moment ``now`` (default: the current
    time): an ``expires_at`` or a webinar start already past. Nothing is logged: the caller
    reports the problems once (``check`` prints them, :class:`CatalogCache` logs them).
    """
    content_dir = Path(content_dir)
    pages: dict[str, Page] = {}
    problems: list[Problem] = []
    owners: dict[str, list[str]] = {}
    if not content_dir.is_dir():
        problems.append(Problem(str(content_dir), None, "content folder does not exist"))
        return Catalog(content_dir, problems=tuple(problems), version=version)
    sources, assets = scanned if scanned is not None else scan_content(content_dir)
    now = now or datetime.now(UTC)
    reusable = previous.parsed if previous is not None and previous.assets == assets else {}
    parsed: dict[str, tuple[tuple[float, int], Page | None, tuple[Problem, ...]]] = {}
    for path, stamp in sources:
        hit = reusable.get(path)
        if hit is not None and hit[0] == stamp:
            page, found = hit[1], list(hit[2])
        else:
            page, found = read_file(Path(path), content_dir)
        parsed[path] = (stamp, page, tuple(found))
        problems.extend(found)
        if page is None:
            continue
        if page.offer.expires_at is not None or page.offer.starts_at is not None:
            problems.extend(dated_warnings(page.offer, now))
        slug = page.offer.slug
        theme_problem = check_theme(page.offer.theme) if check_theme is not None and page.offer.theme else None
        if theme_problem:
            problems.append(Problem(page.offer.source, "theme", theme_problem))
            continue
        if slug in pages:
            other = pages[slug].offer.source
            problems.append(Problem(page.offer.source, "slug", f"{slug!r} is already used by {other}; give one of them another slug"))
            continue
        pages[slug] = page
        for rel in page.offer.public_files() | page.images:
            owners.setdefault(rel, []).append(slug)
    for page in pages.values():  # a stop_when naming no offer would never stop anything: say so
        for other in page.offer.stop_when:
            if other not in pages:
                message = f"{other!r} is not an offer's slug{did_you_mean(other, pages)}, so its submission can stop nothing"
                problems.append(Problem(page.offer.source, "stop_when", message, "warning"))
    problems.extend(next_problems({slug: p.offer for slug, p in pages.items()}))
    # Security: a gated file or an offer's Markdown source never becomes public, even when a
    # pitch shows it as an image by mistake; the delivery issue serves gated files by signed link.
    private = {p.offer.file for p in pages.values() if p.offer.file}
    owners = {rel: slugs for rel, slugs in owners.items() if rel not in private and not rel.lower().endswith(".md")}
    media_owners = {rel: tuple(slugs) for rel, slugs in owners.items()}
    return Catalog(content_dir, pages, tuple(problems), frozenset(owners), version, media_owners, parsed, assets)


def _walk(folder: Path) -> list[tuple[tuple[str, ...], str]]:
    """``(relative parts, path)`` of everything under ``folder``, in ``sorted(folder.rglob("*"))`` order.

    Symlinked folders are listed but not entered, as with ``rglob``. Built on ``os.scandir`` and
    plain strings: with a thousand offers this runs on every reload check and incremental build,
    and pathlib made it three times slower.
    """
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(path: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(path) as listing:
                entries = list(listing)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return
        for entry in entries:
            rel = (*parts, entry.name)
            found.append((rel, entry.path))
            try:
                inside = entry.is_dir(follow_symlinks=False)
            except OSError:
                inside = False
            if inside:
                walk(entry.path, rel)

    walk(str(folder), ())
    found.sort()  # by path parts, as pathlib sorts paths
    return found


def scan_content(content_dir: Path) -> tuple[list[tuple[str, tuple[float, int]]], tuple[tuple[str, float, int], ...]]:
    """The offer files (sorted, with mtime and size) and a signature of every other file.

    What :func:`load_catalog` lists before parsing; a build lists it once, parses the files on
    every core and hands the listing back to :func:`load_catalog` as ``scanned``.
    """
    sources: list[tuple[str, tuple[float, int]]] = []
    assets: list[tuple[str, float, int]] = []
    for rel, path in _walk(content_dir):
        try:
            st = os.stat(path)
        except OSError:
            continue
        name = rel[-1]
        if name.endswith(".md") and len(name) > 3 and not any(part.startswith((".", "_")) for part in rel):
            sources.append((path, (st.st_mtime, st.st_size)))
        elif not stat.S_ISDIR(st.st_mode):
            assets.append((path, st.st_mtime, st.st_size))
    return sources, tuple(assets)


def signature(*folders: Path) -> tuple[tuple[str, float, int], ...]:
    """mtime and size of every file and folder under the folders: changes whenever a file is saved."""
    entries = []
    for folder in folders:
        for _rel, path in _walk(folder):
            try:
                st = os.stat(path)
            except OSError:
                continue
            entries.append((path, st.st_mtime, st.st_size))
    return tuple(entries)


class CatalogCache:
    """Hold the current catalog; reload it when content (or theme) files change.

    ``get()`` looks at mtimes at most once per ``interval`` seconds (0 = every call; tests use
    that), and swaps in a whole new catalog so a request never sees half a reload.
    """

    def __init__(
        self,
        content_dir: Path,
        watch: tuple[Path, ...] = (),
        interval: float = 1.0,
        check_theme: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.content_dir = Path(content_dir)
        self.check_theme = check_theme
        # Each folder once: the site's themes folder is often the bundled one (a checkout).
        self.watch = tuple(dict.fromkeys(p.resolve() for p in (self.content_dir, *watch)))
        self.interval = interval
        self.clock = clock
        self.scans = 0
        self._lock = threading.Lock()
        self._checked = clock()
        self._signature = signature(*self.watch)
        self._catalog = _logged(load_catalog(self.content_dir, 1, check_theme))
        self.listeners: list[Any] = []

    def get(self) -> Catalog:
        """The current catalog, re-read first if a watched file changed (checked per ``interval``)."""
        if self.interval >= 0 and self.clock() - self._checked >= self.interval:
            with self._lock:
                if self.clock() - self._checked >= self.interval:
                    self._checked = self.clock()
                    self.scans += 1
                    current = signature(*self.watch)
                    if current != self._signature:
                        self._signature = current
                        self._catalog = _logged(load_catalog(self.content_dir, self._catalog.version + 1, self.check_theme, self._catalog))
                        for listener in self.listeners:
                            listener(self._catalog)
        return self._catalog


def _logged(catalog: Catalog) -> Catalog:
    """``catalog``, its problems logged: in a server the log is where a broken file shows."""
    for problem in catalog.problems:
        (log.error if problem.level == "error" else log.warning)("%s", problem)
    return catalog
