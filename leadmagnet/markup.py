"""Markdown, configured once: the extensions an offer's pitch may use, and image resolution.

The marketer's Markdown is trusted content (raw HTML allowed, as in Hugo or Pelican). Relative
image paths are resolved against the offer file's folder and rewritten to ``/media/<path>``; the
resolved paths are returned so that exactly those files, and no others, are served publicly.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import posixpath
import re
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element, QName

import markdown
from markdown import blockprocessors, core, inlinepatterns, serializers, treeprocessors, util
from markdown.blockprocessors import (
    BlockProcessor,
    BlockQuoteProcessor,
    HashHeaderProcessor,
    HRProcessor,
    ReferenceProcessor,
    SetextHeaderProcessor,
)
from markdown.extensions import Extension, attr_list, footnotes, tables
from markdown.extensions.attr_list import AttrListTreeprocessor
from markdown.extensions.footnotes import FootnoteBlockProcessor
from markdown.extensions.smarty import SmartyExtension
from markdown.extensions.tables import TableProcessor
from markdown.treeprocessors import InlineProcessor, Treeprocessor, UnescapeTreeprocessor

# "smarty" (smart quotes, dashes, ellipses) is loaded as _Smarty, its faster equivalent.
EXTENSIONS = ["tables", "fenced_code", "attr_list", "footnotes", "sane_lists", "smarty"]
MEDIA_PREFIX = "/media/"
# What each inline pattern needs in a text to match at all: a string its regular expression
# cannot match without. Python-Markdown's patterns and footnotes' (the "inline" pass), then
# the smarty extension's (the "smarty" pass). Valid for exactly these patterns: see
# _STOCK_SOURCE.
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
}
# The quotes in smarty's 15 quote patterns, in the order of SmartyExtension.educateQuotes.
_SMARTY_QUOTES = ["'", '"', "\"'", "'\"", "'\"", "\"'", "'", "'", "'", "'", "'", '"', '"', '"', '"']
_SMARTY_TRIGGERS: dict[str, tuple[str, ...]] = {
    "smarty-em-dashes": ("--",),
    "smarty-en-dashes": ("--",),
    **{f"smarty-quotes-{i}": (quotes,) for i, quotes in enumerate(_SMARTY_QUOTES)},
    "smarty-ellipses": ("...",),
}

# The Python-Markdown 3.11.3 modules whose code the fast paths below stand in for or rely on
# (first 12 hex digits of the sha256 of the file), and the inline patterns the trigger tables
# are for (of their names, priorities, classes and regexes). When a release changes a module,
# the fast paths relying on it are off: slower again, never different, until someone checks
# them against the new code and updates the digest (test_the_fast_paths_are_in_place fails).
_STOCK_SOURCE = {
    "markdown.treeprocessors": "bf575e7cb994",
    "markdown.blockprocessors": "0522d16c4dda",
    "markdown.extensions.tables": "fb23019f3a0f",
    "markdown.extensions.footnotes": "6bf0b9573333",
    "markdown.extensions.attr_list": "7049a49eb61b",
    "markdown.core": "b8fdb3a9eb5b",
    "markdown.serializers": "7cef1af99da2",
    "markdown.util": "908fb0650fba",
    "inline patterns": "374b6667a4f5",
    "smarty patterns": "489f569b5e2f",
}


@functools.cache
def _unchanged(*modules: types.ModuleType) -> bool:
    """True if each module's file is the one :data:`_STOCK_SOURCE` was taken from.

    (Hashing files, not each function's source: ``inspect.getsource`` took 80 ms a process.)
    """
    for module in modules:
        try:
            source = Path(module.__file__ or "").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # no source shipped: cannot tell, so assume it changed
            return False
        if _digest(source) != _STOCK_SOURCE.get(module.__name__):
            return False
    return True


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _patterns_known(registry: util.Registry[Any], key: str) -> bool:
    """True if ``registry`` holds exactly the inline patterns ``_STOCK_SOURCE[key]`` was taken from."""
    lines = []
    for item in sorted(registry._priority, key=lambda item: -item.priority):
        pattern = registry._data[item.name]
        regex = getattr(getattr(pattern, "compiled_re", None), "pattern", None)
        lines.append(f"{item.name} {item.priority} {type(pattern).__name__} {regex!r}")
    return _digest("\n".join(lines)) == _STOCK_SOURCE.get(key)


def _any_of(strings: set[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(s) for s in sorted(strings)))


@dataclass
class Rendered:
    """Rendered HTML and the content-relative paths of the images it shows."""

    html: str
    images: set[str]


class _SkippingInlineProcessor(InlineProcessor):
    """An inline pass that leaves alone text in which none of its patterns can match.

    Python-Markdown tries every inline pattern on every text node of the tree, and before that
    builds a map of the whole tree and a copy of the ancestor list per element; most text in a
    pitch (list items, table cells, plain sentences) holds none of the characters the patterns
    start with. Here a text or tail with none of them, and no placeholder of this pass (what
    the stock pass would expand), is left as it is, which is what the stock pass makes of it;
    every other one goes through the stock code, in the stock order, trying only the patterns
    that can match in it, so the output is the same.

    Build it with :meth:`create`, which returns None unless the patterns are the ones the
    trigger table is for and the stock code is the one this mirrors.
    """

    def __init__(self, md: markdown.Markdown, patterns: util.Registry[Any], triggers: dict[str, tuple[str, ...]], key: str) -> None:
        super().__init__(md)
        self.inlinePatterns = patterns
        self.triggers = triggers
        self.key = key
        self.patterns: list[Any] = []
        self.pattern_triggers: list[re.Pattern[str] | None] = []
        self.regexes: list[re.Pattern[str] | None] = []
        self.needs_work: re.Pattern[str] | None = None

    @classmethod
    def create(
        cls, md: markdown.Markdown, patterns: util.Registry[Any], triggers: dict[str, tuple[str, ...]], key: str
    ) -> _SkippingInlineProcessor | None:
        """The faster pass, or None if its patterns or the stock code are not the ones it knows."""
        if not _unchanged(treeprocessors) or not _patterns_known(patterns, key):
            return None
        return cls(md, patterns, triggers, key)

    def _learn_patterns(self) -> None:
        """The patterns in the order the stock pass indexes them, and what each needs to match.

        Should the registry change after :meth:`create` (none of our extensions does that), to
        patterns other than the known ones, no pattern is skipped and the stock loop runs.
        """
        patterns = list(self.inlinePatterns)  # sorts the registry by priority
        if patterns != self.patterns:
            known = _patterns_known(self.inlinePatterns, self.key)
            names = [item.name for item in self.inlinePatterns._priority]
            self.pattern_triggers = [_any_of(set(self.triggers[name])) if known else None for name in names]
            every = {t for name in names for t in self.triggers[name]} if known else set()
            self.needs_work = _any_of({*every, util.INLINE_PLACEHOLDER_PREFIX}) if known else None
            self.regexes = [p.getCompiledRegExp() if isinstance(p, inlinepatterns.InlineProcessor) else None for p in patterns]
        self.patterns = patterns

    # Overrides InlineProcessor's private __handleInline (name-mangled, called by __applyPattern
    # too): the stock loop, minus the patterns that cannot match: their trigger is absent, or
    # their regular expression finds nothing in the whole text (the stock __applyPattern looks
    # from startIndex on, at fewer places). A pattern that does not match leaves the text as it
    # is and restarts the next one at 0.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, util.AtomicString):
            return data
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        startIndex = 0
        count = len(self.patterns)
        while patternIndex < count:
            trigger = self.pattern_triggers[patternIndex]
            regex = self.regexes[patternIndex]
            if (trigger is not None and trigger.search(data) is None) or (regex is not None and regex.search(data) is None):
                patternIndex += 1
                startIndex = 0
                continue
            data, matched, startIndex = apply(self.patterns[patternIndex], data, patternIndex, startIndex)
            if not matched:
                patternIndex += 1
        return data

    def run(self, tree: Element, ancestors: list[str] | None = None) -> Element:
        """Stock ``InlineProcessor.run``, skipping the text and tails that need no work.

        For such a text the stock pass sets it to None, finds no pattern and no placeholder, and
        sets it back; for a tail, likewise through a dummy element. Its ``parent_map`` (only
        read to find the root's ancestors, and the root has no parent in its own tree) is not
        built.
        """
        self._learn_patterns()
        if self.needs_work is None:  # a pattern we know nothing of: the stock loop
            return super().run(tree, ancestors)
        needs_work = self.needs_work.search
        handle = self._InlineProcessor__handleInline
        expand = self._InlineProcessor__processPlaceholders  # type: ignore[attr-defined]
        self.stashed_nodes: dict[str, Element | str] = {}
        tree_parents = [] if ancestors is None else ancestors[:]
        tree_parents.append(tree.tag.lower())
        stack = [(tree, tree_parents)]
        while stack:
            currElement, parents = stack.pop(0)
            self.ancestors = parents
            if currElement is not tree:
                parents.append(currElement.tag.lower())
            insertQueue = []
            for child in currElement:
                text = child.text
                if text and not isinstance(text, util.AtomicString) and needs_work(text):
                    parents.append(child.tag.lower())
                    child.text = None
                    lst = expand(handle(text), child)
                    stack += lst
                    insertQueue.append((child, lst))
                    parents.pop()
                tail = child.tail
                if tail and needs_work(tail):
                    tail = handle(tail)
                    dumby = Element("d")
                    child.tail = None
                    tailResult = expand(tail, dumby, False)
                    if dumby.tail:
                        child.tail = dumby.tail
                    pos = list(currElement).index(child) + 1
                    tailResult.reverse()
                    for newChild in tailResult:
                        currElement.insert(pos, newChild[0])
                if len(child):
                    stack.append((child, parents[:]))
            for element, lst in insertQueue:
                for i, obj in enumerate(lst):
                    element.insert(i, obj[0])
        return tree


class _Smarty(SmartyExtension):
    """Python-Markdown's ``smarty`` extension, its pass skipping text with nothing to educate.

    The stock pass tried its 18 patterns on every text node: 60% of the Markdown time.
    """

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        super().extendMarkdown(md)
        fast = _SkippingInlineProcessor.create(md, self.inlinePatterns, _SMARTY_TRIGGERS, "smarty patterns")
        if fast is not None:
            md.treeprocessors.register(fast, "smarty", 6)


class _Tables(TableProcessor):
    """The ``tables`` block processor, quicker with blocks and rows that need no care.

    Every block is tested for a table; the stock test splits its first rows into cells first.
    A table needs a pipe in its header row (two cells, or a border), so without one the stock
    test returns False too; what else it sets (``border``) is only used after a True.

    The stock split of a row into cells scans it for backslashes, backticks (code spans may
    hold pipes) and pipes; in a row without a backslash or a backtick it finds only pipes and
    splits at each of them, as ``str.split`` does.
    """

    def test(self, parent: Element, block: str) -> bool:
        return "|" in block and super().test(parent, block)

    def _split(self, row: str) -> list[str]:
        if "`" in row or "\\" in row:
            return super()._split(row)
        return row.split("|")


# Block processors whose stock test cannot be True for a block without one of these strings
# (each is a search for a regular expression that needs one) and does nothing else then; or,
# for footnote and reference, whose test is True but whose run finds no such match, puts the
# block back and returns False (and the parser goes on to the next processor, as after a False).
_BLOCK_NEEDS: dict[str, tuple[type[BlockProcessor], tuple[str, ...]]] = {
    "hashheader": (HashHeaderProcessor, ("#",)),
    "setextheader": (SetextHeaderProcessor, ("\n=", "\n-")),  # an underline of = or -
    # Three runs of -, _ or * with up to two spaces between them.
    "hr": (HRProcessor, ("--", "- -", "-  -", "__", "_ _", "_  _", "**", "* *", "*  *")),
    "quote": (BlockQuoteProcessor, (">",)),
    "footnote": (FootnoteBlockProcessor, ("[^",)),  # a definition: [^label]:
    "reference": (ReferenceProcessor, ("]:",)),  # [label]: url
}


@functools.cache
def _quick_test(stock: type[BlockProcessor], needs: tuple[str, ...]) -> type[BlockProcessor]:
    """``stock``, its test answering False at once for a block holding none of ``needs``."""

    def test(self: BlockProcessor, parent: Element, block: str) -> bool:
        for string in needs:
            if string in block:
                return stock.test(self, parent, block)
        return False

    return type(f"_Quick{stock.__name__}", (stock,), {"test": test, "__doc__": _quick_test.__doc__})


class _AttrList(AttrListTreeprocessor):
    """The ``attr_list`` pass, skipped when no text in the tree holds a "{".

    Each change the stock pass makes follows a match of one of its patterns, in an element's
    text or tail, and every one of them starts with "{".
    """

    def run(self, doc: Element) -> None:
        for elem in doc.iter():
            if "{" in (elem.text or "") or "{" in (elem.tail or ""):
                super().run(doc)
                return


class _Unescape(UnescapeTreeprocessor):
    """The ``unescape`` pass, not rewriting text without an escaped character (an STX).

    The stock pass assigns every text the result of ``re.sub``: the same text, as a plain
    ``str``, when there is nothing to replace. So do we, without running the pattern.
    """

    def run(self, root: Element) -> None:
        unescape = self.unescape
        for elem in root.iter():
            text = elem.text
            if text and elem.tag != "code" and (util.STX in text or type(text) is not str):
                elem.text = unescape(text)
            tail = elem.tail
            if tail and (util.STX in tail or type(tail) is not str):
                elem.tail = unescape(tail)


def _to_html(root: Element) -> str:
    """``markdown.serializers.to_html_string``, recursing instead of keeping a stack of pending
    strings, and writing text without ``&``, ``<`` or ``>`` (all its escaping replaces) as it is."""
    data: list[str] = []
    _write_element(data.append, root, 0)
    return "".join(data)


def _write_element(write: Callable[[str], None], el: Element, depth: int) -> None:
    """Write ``el``, its children and its tail, as the stock serializer does for it."""
    tag = el.tag
    if type(tag) is not str or depth > 100:  # comment, processing instruction, QName...; or deep
        serializers._serialize_html(write, el, "html")  # which writes its tail too
        return
    items = el.items()
    if items:
        write(f"<{tag}")
        for k, v in sorted(items):  # as the stock code, html format
            if isinstance(k, QName):
                k = k.text
            if isinstance(v, QName):
                v = v.text
            if v is None:
                write(f" {k}")
            else:
                v = serializers._escape_attrib_html(v)
                if k == v and k in serializers.BOOLEAN_ATTRIBUTES["html"]:
                    write(f" {v}")
                else:
                    write(f' {k}="{v}"')
        write(">")
    else:
        write(f"<{tag}>")
    lower = tag.lower()
    text = el.text
    if text:
        if lower in ("script", "style") or ("&" not in text and "<" not in text and ">" not in text and type(text) is str):
            write(text)
        else:
            write(serializers._escape_cdata(text))
    for child in el:
        _write_element(write, child, depth + 1)
    if lower not in serializers.HTML_EMPTY:
        write(f"</{tag}>")
    tail = el.tail
    if tail:
        if "&" not in tail and "<" not in tail and ">" not in tail and type(tail) is str:
            write(tail)
        else:
            write(serializers._escape_cdata(tail))


class _RememberingRegistry(util.Registry[Any]):
    """A registry that keeps the sorted list of its items until one is registered or removed.

    The stock one sorts and lists them for every iteration, and the block parser iterates over
    its processors once per block. (Items are only ever added or removed by these two methods.)
    """

    _items: list[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        if self._items is None:
            self._items = list(super().__iter__())
        return iter(self._items)

    def register(self, item: Any, name: str, priority: float) -> None:
        self._items = None
        super().register(item, name, priority)

    def deregister(self, name: str, strict: bool = True) -> None:
        self._items = None
        super().deregister(name, strict)


def _remember_block_level(md: markdown.Markdown) -> None:
    """Answer ``md.is_block_level(tag)`` from memory: prettify and attr_list ask it of every element.

    The answer depends only on the tag and on ``md.block_level_elements``, which none of
    :data:`EXTENSIONS` changes once the converter is built.
    """
    stock = md.is_block_level
    known: dict[Any, bool] = {}

    def is_block_level(tag: Any) -> bool:
        try:
            return known[tag]
        except KeyError:
            if len(known) > 1000:  # tags of raw HTML are the marketer's: keep the memory bounded
                known.clear()
            answer = known[tag] = stock(tag)
            return answer
        except TypeError:  # an unhashable tag
            return stock(tag)

    md.is_block_level = is_block_level  # type: ignore[method-assign]


def _speed_up(md: markdown.Markdown) -> None:
    """Swap in the faster equivalents above wherever the stock code is the one they mirror.

    The main inline pass is swapped only when the registered patterns are exactly those of
    :data:`_TRIGGERS`: another one (a new extension, a new Python-Markdown) leaves the stock
    pass in place.
    """
    inline = _SkippingInlineProcessor.create(md, md.inlinePatterns, _TRIGGERS, "inline patterns")
    if inline is not None:
        md.treeprocessors.register(inline, "inline", 20)
    if _unchanged(tables) and type(md.parser.blockprocessors["table"]) is TableProcessor:
        md.parser.blockprocessors.register(_Tables(md.parser, md.parser.blockprocessors["table"].config), "table", 75)
    blocks = md.parser.blockprocessors
    if _unchanged(blockprocessors, footnotes):
        for name, (stock, needs) in _BLOCK_NEEDS.items():
            if type(blocks[name]) is stock:
                # The subclass only answers test sooner: it holds no state of its own.
                blocks[name].__class__ = _quick_test(stock, needs)
    if _unchanged(attr_list) and type(md.treeprocessors["attr_list"]) is AttrListTreeprocessor:
        md.treeprocessors.register(_AttrList(md), "attr_list", 8)
    if _unchanged(treeprocessors) and type(md.treeprocessors["unescape"]) is UnescapeTreeprocessor:
        md.treeprocessors.register(_Unescape(md), "unescape", 0)
    if _unchanged(core):
        _remember_block_level(md)
    if md.serializer is serializers.to_html_string and _unchanged(serializers):
        md.serializer = _to_html
    if _unchanged(util):
        registries = [md.preprocessors, md.parser.blockprocessors, md.treeprocessors, md.inlinePatterns, md.postprocessors]
        registries += [getattr(md.treeprocessors["smarty"], "inlinePatterns", None)] if "smarty" in md.treeprocessors else []
        for registry in registries:
            if type(registry) is util.Registry:
                registry.__class__ = _RememberingRegistry


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


def _build() -> tuple[markdown.Markdown, _ImageResolver]:
    """A Markdown converter with :data:`EXTENSIONS` and the image resolver, sped up where possible."""
    images = _ImageExtension()
    # Instances, not names: a name is looked up among the installed packages' entry points
    # (importlib.metadata reads every package's metadata), 40 ms of every build's start-up.
    extensions = [_make_extension(name) for name in EXTENSIONS]
    md = markdown.Markdown(extensions=[*extensions, images], output_format="html")
    _speed_up(md)
    assert images.resolver is not None
    return md, images.resolver


def _make_extension(name: str) -> Extension:
    """One of :data:`EXTENSIONS`, made as Python-Markdown makes a dotted name (``smarty``: our twin)."""
    if name == "smarty":
        return _Smarty()
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
