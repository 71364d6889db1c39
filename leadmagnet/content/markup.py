"""Markdown, configured once: the extensions an offer's pitch may use, and image resolution.

The marketer's Markdown is trusted content (raw HTML allowed, as in Hugo or Pelican). Relative
image paths are resolved against the offer file's folder and rewritten to ``/media/<path>``; the
resolved paths are returned so that exactly those files, and no others, are served publicly.

The converter is stock Python-Markdown, extended only through its public extension API: the
image resolver, and a skip of the text nodes no inline pattern can change (:func:`skip_plain_text`,
on only for the exact patterns it was written for): a pitch renders in about a third of the time.
"""

from __future__ import annotations

import importlib
import logging
import posixpath
import re
import threading
from dataclasses import dataclass
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import InlineProcessor, Treeprocessor
from markdown.util import AtomicString, Registry

EXTENSIONS = ["tables", "fenced_code", "attr_list", "footnotes", "sane_lists", "smarty"]
MEDIA_PREFIX = "/media/"

log = logging.getLogger(__name__)


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


class _Layout(Treeprocessor):
    """What is kept of Python-Markdown's ``prettify`` pass, which :func:`_build` removes.

    Kept, for what a browser shows or a later pass reads: a newline after each top-level block
    (between the pitch's paragraphs, lists and raw HTML blocks: two iframes or videos, laid out
    inline, keep the space between them); a newline before the text after each ``<br>``
    (``attr_list``, which runs next, reads ``{...}`` at the start of a line: ``a  \n{.big}`` is a
    paragraph of class ``big``, ``Use  \n{SAVE20}`` keeps its text); and an indented code block
    ends with exactly one newline (``<pre><code>x\n</code></pre>``, not ``x\n\n\n``). Dropped:
    the newlines between nested block tags (``</li>\n<li>``), whitespace no browser shows, which
    cost about a quarter of a pitch's conversion time.
    """

    def run(self, root: Element) -> None:
        for block in root:
            if not block.tail or not block.tail.strip():
                block.tail = "\n"
        for br in root.iter("br"):
            br.tail = "\n" if not br.tail or not br.tail.strip() else "\n" + br.tail
        for pre in root.iter("pre"):
            if len(pre) == 1 and pre[0].tag == "code" and not len(pre[0]) and pre[0].text is not None:
                pre[0].text = AtomicString(pre[0].text.rstrip() + "\n")


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


# The plain-text skip. Python-Markdown runs two inline passes over every text node of the tree:
# its own ("inline", priority 20: links, emphasis, code...) and smarty's ("smarty", 6: quotes,
# dashes, ellipses). Each pass tries each of its patterns on each node, and most nodes (a table
# cell, a list item, a sentence) match none. A node wrapped in ``AtomicString`` is skipped by an
# inline pass (Python-Markdown's documented way to keep text from being processed), so a node
# that contains no character any pattern of a pass needs is wrapped just before that pass: the
# output is the same, the failing searches are not made.
#
# What each pattern needs is read off its regular expression, below, as Python-Markdown 3.11
# registers it for EXTENSIONS: name -> (the expression, what every match of it contains). The skip
# is switched on only when the converter holds exactly these patterns with exactly these
# expressions, and exactly these tree processors in this order; any other set (another extension,
# a changed expression in a new Python-Markdown) leaves the stock behaviour. A node holding STX or
# ETX (the placeholder of stashed raw HTML or of an escape) always goes through the stock passes.
_INLINE_PATTERNS: dict[str, tuple[str, str]] = {
    "backtick": (r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)", "`"),
    "escape": (r"\\(.)", r"\\"),
    "footnote": (r"\[\^([^\]]*)\]", r"\["),
    "reference": (r"(?<!\!)\[", r"\["),
    "link": (r"(?<!\!)\[", r"\["),
    "image_link": (r"\!\[", r"\["),
    "image_reference": (r"\!\[", r"\["),
    "short_reference": (r"(?<!\!)\[", r"\["),
    "short_image_ref": (r"\!\[", r"\["),
    "autolink": (r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>", "<"),
    "automail": (r"<([^<> !]+@[^@<> ]+)>", "<"),
    "linebreak": (r"  \n", r"  \n"),
    "html": (
        r"""(<(\/?+[a-zA-Z][^\s"'<>@]*+(?:\s+[^\s"'=<>]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'=<>]++))?+)*+\s*+/?"""
        r"""|!--(?:(?!<!--|-->).)*--|[?](?:(?!<[?]|[?]>).)*[?]|!\[CDATA\[(?:(?!<!\[CDATA\[|\]\]>).)*\]\])>)""",
        "<",
    ),
    "entity": (r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)", "&"),
    "em_strong": (r"\*|_", r"[*_]"),  # the delimiters' tokens; a run of them is then parsed
}
_OPEN_PUNCT = r"""(?=[!"#\$\%'()*+,-.\/:;<=>?\@\[\\\]\^_`{|}~]\B)"""
_CLOSE_CLASS = r"(?<=[^\ \t\r\n\[\{\(\-\u0002\u0003])"
_OPENING = r"(\s|&nbsp;|--|–|—|&[mn]dash;|&#8211;|&#8212;)"
_SMARTY_PATTERNS: dict[str, tuple[str, str]] = {
    "smarty-em-dashes": (r"(?<!-)---(?!-)", "--"),
    "smarty-en-dashes": (r"(?<!-)--(?!-)", "--"),
    "smarty-quotes-0": ("^'" + _OPEN_PUNCT, "'"),
    "smarty-quotes-1": ('^"' + _OPEN_PUNCT, '"'),
    "smarty-quotes-2": (r""""'(?=\w)""", '"'),
    "smarty-quotes-3": (r"""'"(?=\w)""", '"'),
    "smarty-quotes-4": (_CLOSE_CLASS + "\\'\"", '"'),
    "smarty-quotes-5": (_CLOSE_CLASS + "\\\"'", '"'),
    "smarty-quotes-6": (r"(?<!\w)'(?=\d{2}s)", "'"),
    "smarty-quotes-7": (_OPENING + r"'(?=\w)", "'"),
    "smarty-quotes-8": (_CLOSE_CLASS + r"'(?!\s|s\b|\d)", "'"),
    "smarty-quotes-9": (r"'(\s|s\b)", "'"),
    "smarty-quotes-10": ("'", "'"),
    "smarty-quotes-11": (_OPENING + r'"(?=\w)', '"'),
    "smarty-quotes-12": (r'"(?=\s)', '"'),
    "smarty-quotes-13": (_CLOSE_CLASS + '"', '"'),
    "smarty-quotes-14": ('"', '"'),
    "smarty-ellipses": (r"(?<!\.)\.{3}(?!\.)", r"\.\.\."),
}
_TREE_ORDER = ("footnote", "inline", "footnote-duplicate", "leadmagnet_layout", "attr_list", "smarty", "unescape", "leadmagnet_images")
_PLACEHOLDERS = "[\x02\x03]"
_skip_off_logged = threading.Event()


def _triggers(patterns: dict[str, tuple[str, str]]) -> str:
    return "|".join(dict.fromkeys(trigger for _expression, trigger in patterns.values()))


class _SkipBoth(Treeprocessor):
    """Before the first pass: wraps each node the first pass cannot change in ``AtomicString``.

    Of those, a node smarty needs all the same (an apostrophe, a dash) is noted in ``for_smarty``,
    to be handed back to smarty by :class:`_SkipSmarty`; the others skip both passes.
    """

    def __init__(self, md: markdown.Markdown, inline: str, smarty: str) -> None:
        super().__init__(md)
        self.inline = re.compile(f"{inline}|{_PLACEHOLDERS}").search
        self.smarty = re.compile(smarty).search
        self.for_smarty: list[tuple[Element, str]] = []

    def run(self, root: Element) -> None:
        inline, smarty, for_smarty = self.inline, self.smarty, self.for_smarty
        for_smarty.clear()
        for el in root.iter():
            text, tail = el.text, el.tail
            # type() is str: neither None nor an AtomicString already (code, say).
            if type(text) is str and text and not inline(text):
                el.text = AtomicString(text)
                if smarty(text):
                    for_smarty.append((el, text))
            # A tail before the first pass is rare (the block parsers make none): skipped only if
            # neither pass needs it, so that only a text is ever handed back.
            if type(tail) is str and tail and not inline(tail) and not smarty(tail):
                el.tail = AtomicString(tail)


class _SkipSmarty(Treeprocessor):
    """Before smarty: hands back the nodes :class:`_SkipBoth` kept from the first pass for smarty,
    then wraps each node no smarty pattern can change (most of what the first pass made)."""

    def __init__(self, md: markdown.Markdown, smarty: str, for_smarty: list[tuple[Element, str]]) -> None:
        super().__init__(md)
        self.smarty = re.compile(f"{smarty}|{_PLACEHOLDERS}").search
        self.for_smarty = for_smarty

    def run(self, root: Element) -> None:
        for el, text in self.for_smarty:
            if type(el.text) is AtomicString and el.text == text:  # as the first pass left it
                el.text = text
        self.for_smarty.clear()
        search = self.smarty
        for el in root.iter():
            text, tail = el.text, el.tail
            if type(text) is str and text and not search(text):
                el.text = AtomicString(text)
            if type(tail) is str and tail and not search(tail):
                el.tail = AtomicString(tail)


def _holds_exactly(registry: Registry, patterns: dict[str, tuple[str, str]]) -> bool:
    """``registry`` holds the patterns named in ``patterns``, no others, with those expressions."""
    return len(registry) == len(patterns) and all(
        name in registry and registry[name].getCompiledRegExp().pattern == expression for name, (expression, _trigger) in patterns.items()
    )


def _written_for(md: markdown.Markdown) -> bool:
    """``md`` holds exactly the tree processors and inline patterns the skip was written for."""
    tree = md.treeprocessors
    if len(tree) != len(_TREE_ORDER) or not all(name in tree for name in _TREE_ORDER):
        return False
    inline, smarty = tree["inline"], tree["smarty"]
    return (
        [tree.get_index_for_name(name) for name in _TREE_ORDER] == list(range(len(_TREE_ORDER)))
        and isinstance(inline, InlineProcessor)
        and isinstance(smarty, InlineProcessor)
        and _holds_exactly(md.inlinePatterns, _INLINE_PATTERNS)
        and _holds_exactly(smarty.inlinePatterns, _SMARTY_PATTERNS)
    )


def skip_plain_text(md: markdown.Markdown) -> bool:
    """Switch the plain-text skip on in ``md`` if it holds exactly what the skip was written for.

    Returns whether it did. Call it once all extensions are registered.
    """
    tree = md.treeprocessors
    if not _written_for(md):
        if not _skip_off_logged.is_set():
            _skip_off_logged.set()
            log.debug("Markdown's inline patterns are not the set the plain-text skip was written for: skip off")
        return False
    # After "footnote" (50), which adds the footnotes' text, before "inline" (20); then after
    # "attr_list" (8), which may cut a node's text, before "smarty" (6).
    first = _SkipBoth(md, _triggers(_INLINE_PATTERNS), _triggers(_SMARTY_PATTERNS))
    tree.register(first, "leadmagnet_plain_text", 30)
    tree.register(_SkipSmarty(md, _triggers(_SMARTY_PATTERNS), first.for_smarty), "leadmagnet_plain_text_smarty", 7)
    return True


_local = threading.local()


def _build(skip: bool = True) -> tuple[markdown.Markdown, _ImageResolver]:
    """A Markdown converter with :data:`EXTENSIONS` and the image resolver (and the plain-text skip)."""
    images = _ImageExtension()
    # Instances, not names: a name is looked up among the installed packages' entry points
    # (importlib.metadata reads every package's metadata), 40 ms of every build's start-up.
    extensions = [_make_extension(name) for name in EXTENSIONS]
    md = markdown.Markdown(extensions=[*extensions, images], output_format="html")
    # Less pretty-printing of the HTML (see _Layout): same priority, same place in the order.
    md.treeprocessors.deregister("prettify")
    md.treeprocessors.register(_Layout(md), "leadmagnet_layout", 10)
    if skip:
        skip_plain_text(md)
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
