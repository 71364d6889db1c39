"""Markdown, configured once: the extensions an offer's pitch may use, and image resolution.

The marketer's Markdown is trusted content (raw HTML allowed, as in Hugo or Pelican). Relative
image paths are resolved against the offer file's folder and rewritten to ``/media/<path>``; the
resolved paths are returned so that exactly those files, and no others, are served publicly.
"""

from __future__ import annotations

import posixpath
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
    def __init__(self, base: str, images: set[str]) -> None:
        super().__init__()
        self.base = base
        self.images = images

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_ImageResolver(md, self.base, self.images), "leadmagnet_images", 1)


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


def render(text: str, base: str = "") -> Rendered:
    """Render Markdown to HTML; ``base`` is the folder of the source file inside content/."""
    images: set[str] = set()
    # A fresh converter per call: Markdown instances keep state and are not thread-safe, and
    # rendered pages are cached, so construction cost is paid once per file change.
    md = markdown.Markdown(extensions=[*EXTENSIONS, _ImageExtension(base, images)], output_format="html")
    return Rendered(md.convert(text), images)
