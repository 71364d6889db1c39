"""Markdown, configured once: the extensions an offer's pitch may use, and image resolution.

The marketer's Markdown is trusted content (raw HTML allowed, as in Hugo or Pelican). Relative
image paths are resolved against the offer file's folder and rewritten to ``/media/<path>``; the
resolved paths are returned so that exactly those files, and no others, are served publicly.
"""

from __future__ import annotations

import posixpath
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.extensions.smarty import SmartyExtension
from markdown.treeprocessors import InlineProcessor, Treeprocessor

# "smarty" (smart quotes, dashes, ellipses) is loaded as _Smarty, its faster equivalent.
EXTENSIONS = ["tables", "fenced_code", "attr_list", "footnotes", "sane_lists", "smarty"]
MEDIA_PREFIX = "/media/"
# Every pattern of the smarty extension needs one of these: a quote, "--" or "...".
_EDUCABLE = re.compile(r"['\"]|--|\.\.\.")
# What each inline pattern (Python-Markdown's, and footnotes') needs in a text to match at all.
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "escape": ("\\",),
    "footnote": ("[",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("[",),
    "image_reference": ("[",),
    "short_reference": ("[",),
    "short_image_ref": ("[",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "em_strong": ("*", "_"),
    "em_strong2": ("_",),
    "not_strong": ("*", "_"),
    "strong": ("*",),
    "emphasis": ("*",),
    "strong2": ("_",),
    "emphasis2": ("_",),
}


@dataclass
class Rendered:
    """Rendered HTML and the content-relative paths of the images it shows."""

    html: str
    images: set[str]


class _SkippingInlineProcessor(InlineProcessor):
    """An inline pass that leaves alone text in which none of its patterns can match.

    Python-Markdown tries every inline pattern on every text node; most text in a pitch (list
    items, table cells, plain sentences) holds none of the characters the patterns start with.
    Text that does holds one goes through the unchanged patterns, so the output is the same.
    """

    def __init__(self, md: markdown.Markdown, patterns: Any, triggers: re.Pattern[str]) -> None:
        super().__init__(md)
        self.inlinePatterns = patterns
        self.triggers = triggers

    # Overrides InlineProcessor's private __handleInline (name-mangled). Should a release of
    # Python-Markdown rename it, this stops being called: slower again, never different.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if not self.triggers.search(data):
            return data
        return super()._InlineProcessor__handleInline(data, patternIndex)  # type: ignore[misc]


class _Smarty(SmartyExtension):
    """Python-Markdown's ``smarty`` extension, its pass skipping text with nothing to educate.

    The stock pass tried its 18 patterns on every text node: 60% of the Markdown time.
    """

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        super().extendMarkdown(md)
        md.treeprocessors.register(_SkippingInlineProcessor(md, self.inlinePatterns, _EDUCABLE), "smarty", 6)


def _skip_plain_text(md: markdown.Markdown) -> None:
    """Make the main inline pass skip text that no registered pattern can match.

    Only when every registered pattern is one of :data:`_TRIGGERS`: an unknown one (a new
    extension, a new Python-Markdown) leaves the stock pass in place.
    """
    names = [name for name in _TRIGGERS if name in md.inlinePatterns]
    if len(names) != len(md.inlinePatterns):
        return
    triggers = sorted({t for name in names for t in _TRIGGERS[name]})
    pattern = re.compile("|".join(re.escape(t) for t in triggers))
    md.treeprocessors.register(_SkippingInlineProcessor(md, md.inlinePatterns, pattern), "inline", 20)


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
        md.treeprocessors.register(self.resolver, "leadmagnet_images", 1)


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


def _converter() -> tuple[markdown.Markdown, _ImageResolver]:
    """This thread's Markdown converter, built once (building one cost a quarter of a pitch's time).

    Markdown instances keep state and are not thread-safe, hence one per thread; ``reset()``
    before each use clears what a conversion leaves behind (footnotes, stashed HTML).
    """
    md = getattr(_local, "md", None)
    if md is None:
        images = _ImageExtension()
        extensions = [_Smarty() if name == "smarty" else name for name in EXTENSIONS]
        md = markdown.Markdown(extensions=[*extensions, images], output_format="html")
        _skip_plain_text(md)
        _local.md, _local.resolver = md, images.resolver
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
