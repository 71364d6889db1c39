"""Themes: a Jinja loader chain per theme, and fingerprinted static files.

A theme is a folder with ``templates/`` and ``static/`` and an optional ``theme.toml`` whose
``extends = "name"`` names its parent. Lookups go most-specific first: the chosen theme, its
parents, then the bundled ``default`` theme; a site theme folder (``themes/<name>``) shadows a
bundled one of the same name. A template can extend ``default:offer.html`` to override single
blocks of the original. A theme ships only what it changes.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # leadmagnet/, above render/
THEME_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def bundled_dir(name: str) -> Path:
    """Folder of a bundled resource (``themes`` or ``content``), in a wheel or a checkout."""
    for candidate in (PACKAGE_DIR / "_bundled" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled {name} folder is missing from the installation")


class ThemeError(ValueError):
    """A theme that cannot be found or loops in its ``extends``."""


@dataclass
class Theme:
    """A resolved theme: its chain of folders (most specific first) and a loader over them."""

    name: str
    chain: tuple[Path, ...]
    loader: ChoiceLoader = field(repr=False)
    _fingerprints: dict[str, str] = field(default_factory=dict, repr=False)

    def static_file(self, path: str) -> Path | None:
        """The file behind ``/static/<theme>/<path>``, searched along the chain; None if absent."""
        for folder in self.chain:
            root = (folder / "static").resolve()
            try:
                candidate = (root / path).resolve()
                if candidate.is_relative_to(root) and candidate.is_file():
                    return candidate
            except (OSError, ValueError):  # a NUL byte or a name too long for the file system: no such file
                continue
        return None

    def fingerprint(self, path: str) -> str:
        """First 10 hex digits of the file's SHA-256, cached until the theme is reloaded."""
        digest = self._fingerprints.get(path)
        if digest is None:
            file = self.static_file(path)
            if file is None:
                raise ThemeError(f"theme {self.name!r} has no static file {path!r}")
            digest = hashlib.sha256(file.read_bytes()).hexdigest()[:10]
            self._fingerprints[path] = digest
        return digest

    def read_static(self, path: str) -> str:
        file = self.static_file(path)
        if file is None:
            raise ThemeError(f"theme {self.name!r} has no static file {path!r}")
        return file.read_text(encoding="utf-8")


class Themes:
    """Finds themes in the site's themes folder, then among the bundled ones."""

    def __init__(self, site_dir: Path | None) -> None:
        self.site_dir = Path(site_dir) if site_dir else None
        self.bundled = bundled_dir("themes")
        self._cache: dict[str, Theme] = {}

    def folder(self, name: str) -> Path:
        """The folder of theme ``name``: the site's first, then the bundled one."""
        # Security: a theme name comes from front matter and from /static/<theme>/ URLs, so it
        # must be a plain folder name, never a path that climbs out of the themes folders.
        if not THEME_NAME_RE.match(name):
            raise ThemeError(f"theme {name!r} is not a theme name (letters, digits, - and _)")
        for root in (self.site_dir, self.bundled):
            if root is not None and (root / name).is_dir():
                return root / name
        raise ThemeError(f"theme {name!r} not found in {self.site_dir} or the bundled themes")

    def names(self) -> list[str]:
        found = set()
        for root in (self.site_dir, self.bundled):
            if root is not None and root.is_dir():
                found |= {p.name for p in root.iterdir() if p.is_dir()}
        return sorted(found)

    def get(self, name: str) -> Theme:
        """The resolved theme ``name``; raises :class:`ThemeError` if it is missing or broken."""
        theme = self._cache.get(name)
        if theme is None:
            theme = self._cache[name] = self._resolve(name)
        return theme

    def problem(self, name: str) -> str | None:
        """What is wrong with theme ``name`` (for ``leadmagnet check`` and the catalog), or None."""
        try:
            self._resolve(name)
        except ThemeError as exc:
            return f"{exc}; available themes: {', '.join(self.names())}"
        return None

    def clear(self) -> None:
        self._cache.clear()

    def _parent(self, folder: Path) -> str | None:
        manifest = folder / "theme.toml"
        if not manifest.is_file():
            return None
        try:
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ThemeError(f"{manifest}: {exc}") from None
        parent = data.get("extends")
        if parent is not None and not isinstance(parent, str):
            raise ThemeError(f'{manifest}: extends must be a theme name such as "default"')
        return parent

    def _resolve(self, name: str) -> Theme:
        """Walk ``extends`` from ``name`` up; the bundled default always closes the chain."""
        default = self.bundled / "default"
        chain: list[Path] = []
        current: str | None = name
        while current:
            folder = self.folder(current)
            if folder in chain:
                raise ThemeError(f"theme {name!r}: extends loops back to {current!r}")
            chain.append(folder)
            parent = self._parent(folder)
            if parent is None and folder != default:
                # A site theme called "default" shadows the bundled one and still falls back to it.
                parent = "default" if current != "default" else None
            current = parent
        if default not in chain:
            chain.append(default)
        loaders = [FileSystemLoader(str(folder / "templates")) for folder in chain]
        prefix = PrefixLoader(
            {
                **{folder.name: FileSystemLoader(str(folder / "templates")) for folder in chain[1:]},
                "default": FileSystemLoader(str(default / "templates")),
            },
            delimiter=":",
        )
        return Theme(name, tuple(chain), ChoiceLoader([*loaders, prefix]))
