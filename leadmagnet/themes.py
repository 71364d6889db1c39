"""Themes: a Jinja loader chain per theme, and fingerprinted static files.

A theme is a folder with ``templates/`` and ``static/`` and an optional ``theme.toml`` whose
``extends = "name"`` names its parent. Lookups go most-specific first: the chosen theme, its
parents, then the bundled ``default`` theme; a site theme folder (``themes/<name>``) shadows a
bundled one of the same name. A template can extend ``default:offer.html`` to override single
blocks of the original. A theme ships only what it changes.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

PACKAGE_DIR = Path(__file__).resolve().parent


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
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return candidate
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
        theme = self._cache.get(name)
        if theme is None:
            theme = self._cache[name] = self._resolve(name)
        return theme

    def clear(self) -> None:
        self._cache.clear()

    def _resolve(self, name: str) -> Theme:
        chain: list[Path] = []
        current: str | None = name
        while current:
            folder = self.folder(current)
            if folder in chain:
                raise ThemeError(f"theme {name!r}: extends loops back to {current!r}")
            chain.append(folder)
            manifest = folder / "theme.toml"
            parent = None
            if manifest.is_file():
                parent = tomllib.loads(manifest.read_text(encoding="utf-8")).get("extends")
            if parent is None and current != "default":
                parent = "default"
            current = parent
        loaders = [FileSystemLoader(str(folder / "templates")) for folder in chain]
        prefix = PrefixLoader(
            {
                "default": FileSystemLoader(str(self.bundled / "default" / "templates")),
                **{folder.name: FileSystemLoader(str(folder / "templates")) for folder in chain[1:]},
            },
            delimiter=":",
        )
        return Theme(name, tuple(chain), ChoiceLoader([*loaders, prefix]))
