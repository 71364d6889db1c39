"""The build cache: what the previous build into the same ``OUT_DIR`` parsed and rendered.

It lives in the instance folder (``build-cache/``, private: it holds gated file names and join
links), one pickle per output folder, with a lock that makes builds into one folder take turns.
:func:`code_version` keys it: a change to leadmagnet's code (or an upgrade) starts afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from leadmagnet.build.pages import Listed
from leadmagnet.content.catalog import Catalog, Page
from leadmagnet.foundation.version import __version__

log = logging.getLogger(__name__)


@dataclass
class BuildCache:
    """What the previous build into the same OUT_DIR knew: its catalog and how it rendered pages."""

    version: str = ""
    catalog: Catalog | None = None
    render_key: str = ""
    # slug -> (the Page rendered, its state, its output path)
    pages: dict[str, tuple[Page, str, str]] = field(default_factory=dict)
    # What the index and tag pages showed, and their files.
    listed: Listed = field(default_factory=Listed)
    # slug -> the page's og card (path in the export, cached file, digest) or None (its own image)
    cards: dict[str, tuple[str, str, str] | None] = field(default_factory=dict)


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


def code_version() -> str:
    """leadmagnet's version plus the mtime and size of its modules: a code change invalidates the cache.

    On plain strings (``os.walk``): pathlib took 5 ms for the package's 130 modules, before
    any build could start.
    """
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # the whole leadmagnet package
    stamps = []
    for folder, _dirs, names in os.walk(package):
        rel = os.path.relpath(folder, package).replace(os.sep, "/")
        for name in names:
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                stamps.append((name if rel == "." else f"{rel}/{name}", st.st_mtime_ns, st.st_size))
    stamps.sort()
    return __version__ + "-" + hashlib.sha256(repr(stamps).encode()).hexdigest()[:16]


def read_cache(path: Path, version: str) -> BuildCache:
    """The previous build's cache, or an empty one if it is missing, stale or unreadable."""
    try:
        # Security: the cache lives in the private instance folder, which is trusted as much as
        # instance/config.py (executed at start); it is never read from the export.
        with path.open("rb") as fh:
            cache = pickle.load(fh)  # noqa: S301 - see above
            cards = pickle.load(fh) if isinstance(cache, BuildCache) and cache.version == version else {}  # noqa: S301
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return BuildCache()
    if not isinstance(cache, BuildCache) or cache.version != version or not isinstance(cards, dict):
        return BuildCache()
    cache.cards = cards
    return cache


class PendingCache:
    """A build cache written while the render workers work, put in place once the export is
    complete (:meth:`finish`) or removed if the build fails (:meth:`abandon`).

    The catalog is pickled straight into a temporary file next to the cache; only the og cards,
    known once the workers are done, are added at the end: writing the 2 MB pickle of 1,000
    offers took 5 to 40 ms after the last page, where both cores are otherwise idle.
    """

    def __init__(self, path: Path, file: BinaryIO, tmp: Path) -> None:
        self.path, self.file, self.tmp = path, file, tmp

    def finish(self, cards: dict[str, tuple[str, str, str] | None]) -> None:
        """Add the og cards (plain strings: no object shared with the rest) and put the cache in place."""
        try:
            with self.file:
                pickle.dump(cards, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(self.tmp, self.path)
        except OSError as exc:
            log.warning("could not save the build cache %s (%s); the next build parses everything again", self.path, exc)
            self.abandon()

    def abandon(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        self.tmp.unlink(missing_ok=True)


def dump_cache(cache: BuildCache, path: Path) -> PendingCache | None:
    """Start saving ``cache`` but its ``cards`` at ``path`` (:meth:`PendingCache.finish` adds them),
    or None (with a warning) if it cannot be pickled or written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file = tmp.open("wb")
    except OSError as exc:
        log.warning("could not save the build cache %s (%s); the next build parses everything again", path, exc)
        return None
    pending = PendingCache(path, file, tmp)
    try:
        pickle.dump(replace(cache, cards={}), file, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, OSError) as exc:
        log.warning("could not save the build cache (%s); the next build parses everything again", exc)
        pending.abandon()
        return None
    return pending
