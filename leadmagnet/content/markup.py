"""Markdown, configured once: the extensions an offer's pitch may use, and image resolution.

The marketer's Markdown is trusted content (raw HTML allowed, as in Hugo or Pelican). Relative
image paths are resolved against the offer file's folder and rewritten to ``/media/<path>``; the
resolved paths are returned so that exactly those files, and no others, are served publicly.

The converter is stock Python-Markdown, extended only through its public extension API.
"""

from __future__ import annotations

import importlib
import posixpath
import threading
from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

EXTENSIONS = ["tables", "fenced_code", "attr_list", "footnotes", "sane_lists", "smarty"]
MEDIA_PREFIX = "/media/"


@dataclass
class Rendered:
    """Rendered HTML and the content-relative paths of the images it shows."""

    html: str
    images: set[str]


class _ImageResolver(Treeprocessor):
    def __init__(self, md: markdown.Markdown, base: str, images: set[str]) -> None:
        super().__init__(md)
        self.base = base
        self.images = images

    def run(self, root: Element) -> None:
        for img in root.iter("img"):
            src = img.get("src", "")
            resolved = resolve_relative(self.base, src)
            if resolved is not None:
                self.images.add(resolved)
                img.set("src", MEDIA_PREFIX + quote(resolved))
            img.set("loading", img.get("loading", "lazy"))
            img.set("decoding", "async")


class _ImageExtension(Extension):
    def __init__(self) -> None:
        super().__init__()
        self.resolver: _ImageResolver | None = None

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        self.resolver = _ImageResolver(md, "", set())
        # After "unescape" (priority 0): by then a backslash escape in a path (a\_b.png) is plain text.
        md.treeprocessors.register(self.resolver, "leadmagnet_images", -1)


def resolve_relative(base: str, src: str) -> str | None:
    """Resolve ``src`` from a file in folder ``base`` (both relative to content); None if external.

    Returns None for absolute URLs, data URIs, root-relative paths, and anything escaping the
    content folder, which therefore is neither rewritten nor made public.
    """
    if not src or "://" in src or src.startswith(("/", "data:", "#", "mailto:")):
        return None
    path = posixpath.normpath(posixpath.join(base, unquote(src.split("#")[0].split("?")[0])))
    if path.startswith("..") or path.startswith("/"):
        return None
    return path


_local = threading.local()


def _build() -> tuple[markdown.Markdown, _ImageResolver]:
    """A Markdown converter with :data:`EXTENSIONS` and the image resolver."""
    images = _ImageExtension()
    # Instances, not names: a name is looked up among the installed packages' entry points
    # (importlib.metadata reads every package's metadata), 40 ms of every build's start-up.
    extensions = [_make_extension(name) for name in EXTENSIONS]
    md = markdown.Markdown(extensions=[*extensions, images], output_format="html")
    assert images.resolver is not None
    return md, images.resolver


def _make_extension(name: str) -> Extension:
    """One of :data:`EXTENSIONS`, made as Python-Markdown makes it from its name."""
    return importlib.import_module(f"markdown.extensions.{name}").makeExtension()


def _converter() -> tuple[markdown.Markdown, _ImageResolver]:
    """This thread's Markdown converter, built once (building one cost a quarter of a pitch's time).

    Markdown instances keep state and are not thread-safe, hence one per thread; ``reset()``
    before each use clears what a conversion leaves behind (footnotes, stashed HTML).
    """
    md = getattr(_local, "md", None)
    if md is None:
        md, resolver = _build()
        _local.md, _local.resolver = md, resolver
    return md, _local.resolver


def render(text: str, base: str = "") -> Rendered:
    """Render Markdown to HTML; ``base`` is the folder of the source file inside content/."""
    md, resolver = _converter()
    images: set[str] = set()
    resolver.base, resolver.images = base, images
    try:
        html = md.reset().convert(text)
    except BaseException:
        _local.md = None  # a conversion that failed half-way may leave state behind: start afresh
        raise
    return Rendered(html, images)
