"""Faster twins of parts of Python-Markdown, swapped into a converter by :func:`speed_up`.

Converting a pitch with stock Python-Markdown cost ~4.5 ms, mostly in passes that look at every
text node for characters it does not hold. Each class or function here stands in for one piece
of stock code and gives the same result by a shorter way (the docstring of each says why it is
the same). The rule: **slower, never different**.

- Each twin mirrors code in one or more Python-Markdown modules. :data:`STOCK_SOURCE` records the
  sha256 (first 12 hex digits) of each of those files, as released in Python-Markdown 3.11.3,
  and of the inline patterns the trigger tables are for. :func:`speed_up` swaps a twin in only
  when the installed files have those digests and the converter holds the stock object it
  replaces; anything else (another release, another extension, a patched file, no source
  shipped) keeps the stock code: slower, same output.
- ``tests/test_markdown_speedups.py`` proves it: a corpus of snippets, pitches, generated
  documents and fuzzed short texts must render byte for byte as a stock converter renders them.

After upgrading Python-Markdown, ``test_the_fast_paths_are_in_place`` fails if a mirrored module
changed. Then, for each module whose digest differs (``python -c "from leadmagnet import
markdown_speedups as s; print(s.digests())"`` prints the installed ones): read the upstream diff
of that file, check that every twin relying on it (the comment next to its entry in
:data:`STOCK_SOURCE` names them) still does what the new stock code does, adapt the twin if not,
update the digest, and run the proof tests. This module imports only the standard library and
``markdown``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Comment, Element, QName, SubElement

import markdown
from markdown import (
    blockparser,
    blockprocessors,
    core,
    htmlparser,
    inlinepatterns,
    postprocessors,
    preprocessors,
    serializers,
    treeprocessors,
    util,
)
from markdown.blockparser import BlockParser
from markdown.blockprocessors import (
    BlockProcessor,
    BlockQuoteProcessor,
    CodeBlockProcessor,
    EmptyBlockProcessor,
    HashHeaderProcessor,
    HRProcessor,
    ListIndentProcessor,
    OListProcessor,
    ParagraphProcessor,
    ReferenceProcessor,
    SetextHeaderProcessor,
    UListProcessor,
)
from markdown.extensions import attr_list, fenced_code, footnotes, sane_lists, smarty, tables
from markdown.extensions.attr_list import AttrListTreeprocessor
from markdown.extensions.fenced_code import FencedBlockPreprocessor
from markdown.extensions.footnotes import FootnoteBlockProcessor, FootnoteExtension
from markdown.extensions.sane_lists import SaneOListProcessor, SaneUListProcessor
from markdown.extensions.smarty import SubstituteTextPattern
from markdown.extensions.tables import TableProcessor
from markdown.postprocessors import RawHtmlPostprocessor
from markdown.preprocessors import HtmlBlockPreprocessor, NormalizeWhitespace
from markdown.treeprocessors import InlineProcessor, PrettifyTreeprocessor, UnescapeTreeprocessor

# The Python-Markdown 3.11.3 modules whose code the twins stand in for or rely on (first 12 hex
# digits of the sha256 of the file), and the inline patterns the trigger tables are for (of
# their names, priorities, classes and regexes: see _patterns_digest).
log = logging.getLogger(__name__)

# The release whose files STOCK_SOURCE holds. Another one keeps the stock code (a warning says so).
VERSION = "3.11.3"
STOCK_SOURCE = {
    "markdown.treeprocessors": "bf575e7cb994",  # SkippingInlineProcessor, TextOnlyInlineProcessor, Prettify, Unescape
    "markdown.blockprocessors": "0522d16c4dda",  # BLOCK_NEEDS, PLAIN_FAILS
    "markdown.blockparser": "8f8090226569",  # PlainBlockParser
    "markdown.extensions.sane_lists": "76d51863c957",  # PLAIN_FAILS
    "markdown.extensions.smarty": "efdabc667936",  # TextOnlyInlineProcessor
    "markdown.postprocessors": "bd30e317d0b1",  # RawHtml
    "markdown.inlinepatterns": "35f1c45afbc3",  # get_text
    "markdown.preprocessors": "a6ae4d9c72a4",  # Normalize, HtmlBlocks
    "markdown.htmlparser": "caf8d97bcf23",  # HtmlBlocks
    "markdown.extensions.tables": "fb23019f3a0f",  # Tables (its test copied), PLAIN_FAILS
    "markdown.extensions.fenced_code": "61a1d4e5b825",  # FencedBlocks
    "markdown.extensions.footnotes": "6bf0b9573333",  # BLOCK_NEEDS["footnote"], PLAIN_FAILS, Footnotes
    "markdown.extensions.attr_list": "7049a49eb61b",  # AttrList
    "markdown.core": "b8fdb3a9eb5b",  # remember_block_level
    "markdown.serializers": "7cef1af99da2",  # to_html, _start_tag
    "markdown.util": "908fb0650fba",  # RememberingRegistry
    "inline patterns": "374b6667a4f5",  # TRIGGERS
    "smarty patterns": "489f569b5e2f",  # SMARTY_TRIGGERS, TextOnlyInlineProcessor._substitute
}
MIRRORED_MODULES = tuple(name for name in STOCK_SOURCE if name.startswith("markdown"))

# What each inline pattern needs in a text to match at all: a string its regular expression
# cannot match without. Python-Markdown's patterns and footnotes' (the "inline" pass), then
# the smarty extension's (the "smarty" pass). Valid for exactly these patterns: see
# STOCK_SOURCE.
TRIGGERS: dict[str, tuple[str, ...]] = {
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
SMARTY_TRIGGERS: dict[str, tuple[str, ...]] = {
    "smarty-em-dashes": ("--",),
    "smarty-en-dashes": ("--",),
    **{f"smarty-quotes-{i}": (quotes,) for i, quotes in enumerate(_SMARTY_QUOTES)},
    "smarty-ellipses": ("...",),
}


def digests() -> dict[str, str | None]:
    """The digests of the installed Python-Markdown modules named in :data:`STOCK_SOURCE`
    (None: no readable source), to compare with the recorded ones after an upgrade."""
    found: dict[str, str | None] = {}
    for name in STOCK_SOURCE:
        if name.startswith("markdown"):
            found[name] = _file_digest(importlib.import_module(name))
    md = markdown.Markdown(extensions=["footnotes", "smarty"])
    found["inline patterns"] = _patterns_digest(md.inlinePatterns)
    found["smarty patterns"] = _patterns_digest(md.treeprocessors["smarty"].inlinePatterns)
    return found


@functools.cache
def unchanged(*modules: types.ModuleType) -> bool:
    """True if each module's file is the one :data:`STOCK_SOURCE` was taken from.

    (Hashing files, not each function's source: ``inspect.getsource`` took 80 ms a process.)
    """
    return all(_file_digest(module) == STOCK_SOURCE.get(module.__name__) for module in modules)


@functools.cache
def _file_digest(module: types.ModuleType) -> str | None:
    """The digest of the module's file, as bytes (no decoding: it is read by every build process;
    for the UTF-8, LF-ended files of a release, the digest of their text). Once per module: the
    checks of :func:`speed_up` name most modules more than once."""
    try:
        source = Path(module.__file__ or "").read_bytes()
    except OSError:  # no file to read: cannot tell, so count it as changed
        return None
    return hashlib.sha256(source).hexdigest()[:12]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _patterns_digest(registry: util.Registry[Any]) -> str:
    """A digest of the inline patterns in ``registry``: names, priorities, classes and regexes."""
    lines = []
    for item in sorted(registry._priority, key=lambda item: -item.priority):
        pattern = registry._data[item.name]
        regex = getattr(getattr(pattern, "compiled_re", None), "pattern", None)
        lines.append(f"{item.name} {item.priority} {type(pattern).__name__} {regex!r}")
    return _digest("\n".join(lines))


def _patterns_known(registry: util.Registry[Any], key: str) -> bool:
    """True if ``registry`` holds exactly the inline patterns ``STOCK_SOURCE[key]`` was taken from."""
    return _patterns_digest(registry) == STOCK_SOURCE.get(key)


def _any_of(strings: set[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(s) for s in sorted(strings)))


class SkippingInlineProcessor(InlineProcessor):
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
        self.seen_items: object = None  # the registry's remembered list when last learnt
        self.trigger_strings: list[str] = []  # bit i of a mask stands for trigger_strings[i]
        self.trigger_bits: list[tuple[str, int]] = []  # each trigger string and its bit
        self.pattern_masks: list[int] = []  # the triggers of each pattern
        self.unknown_mask = -1  # the mask of any text when the patterns are not the known ones, else 0
        self.following_by_mask: dict[int, list[int]] = {}  # _following's memory (at most 2**triggers)
        self.regexes: list[re.Pattern[str] | None] = []
        self.needs_work: re.Pattern[str] | None = None
        self.excluding = True
        self.text_only = False

    @classmethod
    def create(
        cls, md: markdown.Markdown, patterns: util.Registry[Any], triggers: dict[str, tuple[str, ...]], key: str
    ) -> SkippingInlineProcessor | None:
        """The faster pass, or None if its patterns or the stock code are not the ones it knows."""
        if not unchanged(treeprocessors) or not _patterns_known(patterns, key):
            return None
        return cls(md, patterns, triggers, key)

    def _learn_patterns(self) -> None:
        """The patterns in the order the stock pass indexes them, and what each needs to match.

        Should the registry change after :meth:`create` (none of our extensions does that), to
        patterns other than the known ones, no pattern is skipped and the stock loop runs.
        """
        remembered = getattr(self.inlinePatterns, "_items", None)  # a RememberingRegistry's: a new list after each change
        if remembered is not None and remembered is self.seen_items:
            return
        patterns = list(self.inlinePatterns)  # sorts the registry by priority
        self.seen_items = getattr(self.inlinePatterns, "_items", None)
        if patterns != self.patterns:
            known = _patterns_known(self.inlinePatterns, self.key)
            names = [item.name for item in self.inlinePatterns._priority]
            every = {t for name in names for t in self.triggers[name]} if known else set()
            self.trigger_strings = sorted(every)
            bits = {t: 1 << i for i, t in enumerate(self.trigger_strings)}
            self.trigger_bits = list(bits.items())
            self.pattern_masks = [sum(bits[t] for t in set(self.triggers[name])) if known else -1 for name in names]
            self.unknown_mask = 0 if known else -1
            self.following_by_mask = {}
            self.needs_work = _any_of({*every, util.INLINE_PLACEHOLDER_PREFIX}) if known else None
            self.regexes = [p.getCompiledRegExp() if isinstance(p, inlinepatterns.InlineProcessor) else None for p in patterns]
            # Whether a pattern is excluded from some ancestors (they then need tracking), and
            # whether every one is a smarty substitution (making text only): class attributes.
            self.excluding = any(p.ANCESTOR_EXCLUDES for p in patterns)
            self.text_only = all(type(p) is SubstituteTextPattern and not p.ANCESTOR_EXCLUDES for p in patterns)
        self.patterns = patterns

    def _present(self, data: str) -> int:
        """The mask of the trigger strings ``data`` holds (-1 with unknown patterns)."""
        mask = self.unknown_mask
        for string, bit in self.trigger_bits:
            if string in data:
                mask |= bit
        return mask

    # Overrides InlineProcessor's private __handleInline (name-mangled, called by __applyPattern
    # too): the stock loop, minus the patterns that cannot match: none of their triggers is in
    # the text (the mask of those it holds is taken again after each match changed it), or
    # their regular expression finds nothing in the whole text (the stock __applyPattern looks
    # from startIndex on, at fewer places). A pattern that does not match leaves the text as it
    # is and restarts the next one at 0.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        count = len(self.patterns)
        if isinstance(data, util.AtomicString) or patternIndex >= count:  # (no pattern left: the stock loop ends at once)
            return data
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        patterns, regexes = self.patterns, self.regexes
        following = self._following(self._present(data))
        patternIndex = following[patternIndex]
        startIndex = 0
        while patternIndex < count:
            regex = regexes[patternIndex]
            if regex is not None and regex.search(data) is None:
                patternIndex = following[patternIndex + 1]
                startIndex = 0
                continue
            data, matched, startIndex = apply(patterns[patternIndex], data, patternIndex, startIndex)
            if matched:
                following = self._following(self._present(data))
            else:
                patternIndex = following[patternIndex + 1]
        return data

    def _following(self, present: int) -> list[int]:
        """For each pattern index i (and the count), the first index from i on of a pattern one
        of whose triggers the text holds, given their mask ``present`` (the count if none)."""
        try:
            return self.following_by_mask[present]
        except KeyError:
            following = [len(self.pattern_masks)]
            for mask in reversed(self.pattern_masks):
                following.append(len(self.pattern_masks) - len(following) if mask & present else following[-1])
            answer = self.following_by_mask[present] = following[::-1]
            return answer

    def run(self, tree: Element, ancestors: list[str] | None = None) -> Element:
        """Stock ``InlineProcessor.run``, skipping the text and tails that need no work.

        For such a text the stock pass sets it to None, finds no pattern and no placeholder, and
        sets it back; for a tail, likewise through a dummy element. Its ``parent_map`` (only
        read to find the root's ancestors, and the root has no parent in its own tree) is not
        built. Nor are its lists of ancestors' tags, one per element (read only by a pattern
        excluded from some ancestors, of which there is none then): the elements are visited
        from a plain queue, in the stock order. An element is not queued when no text or tail
        below it needs work (all joined, in one call, when :data:`ITERTEXT_YIELDS_ALL`; joining
        can only add a false match) and its own text added no children to it: its visit would
        change nothing (what else the pass does, to other elements, never reaches below it).
        """
        self._learn_patterns()
        if self.needs_work is None or self.excluding:  # the stock loop
            return super().run(tree, ancestors)
        needs_work = self.needs_work.search
        handle = self._InlineProcessor__handleInline
        expand = self._InlineProcessor__processPlaceholders  # type: ignore[attr-defined]
        self.stashed_nodes: dict[str, Element | str] = {}
        self.ancestors = []  # appended to and popped again by the stock code, read by no pattern
        queue = [tree]
        index = 0
        while index < len(queue):
            currElement = queue[index]
            index += 1
            insertQueue = []
            for child in currElement:
                text = child.text
                lst = None
                if text and text != "\n" and not isinstance(text, util.AtomicString) and needs_work(text):
                    child.text = None
                    lst = expand(handle(text), child)
                    queue += [node for node, _ in lst]
                    insertQueue.append((child, lst))
                tail = child.tail
                if tail and tail != "\n" and needs_work(tail):
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
                if len(child) and (lst or not ITERTEXT_YIELDS_ALL or needs_work("".join(child.itertext())) is not None):
                    queue.append(child)  # else nothing below it needs work: its visit would change nothing
            for element, lst in insertQueue:
                for i, obj in enumerate(lst):
                    element.insert(i, obj[0])
        return tree


class TextOnlyInlineProcessor(SkippingInlineProcessor):
    """The smarty pass: :class:`SkippingInlineProcessor`, visiting the elements in document order.

    Each smarty pattern (a :class:`SubstituteTextPattern`, excluded from no ancestor) turns a
    match into text, its HTML stored in the document's HTML stash: the pass adds no element,
    so the stock walk (a queue of elements, each with a copy of its ancestors' tags, which only
    an excluding pattern or an added element reads) handles each text and tail of the tree, as
    does :meth:`Element.iter`. Only the order of the texts differs, hence the numbers of the
    stashed pieces of HTML, which the ``raw_html`` postprocessor replaces each by its own
    whatever its number: the same page. Each text goes through :meth:`_substitute`, the stock
    loop without its general machinery (placeholders for elements, ancestors' tags).
    """

    def run(self, tree: Element, ancestors: list[str] | None = None) -> Element:
        self._learn_patterns()
        if self.needs_work is None or not self.text_only:
            return super().run(tree, ancestors)
        needs_work = self.needs_work.search
        handle = self._InlineProcessor__handleInline
        expand = self._InlineProcessor__processPlaceholders  # type: ignore[attr-defined]
        self.stashed_nodes = {}
        self.ancestors = []
        substitute = self._substitute
        prefix = util.INLINE_PLACEHOLDER_PREFIX
        for child in self._elements(tree, needs_work):
            text = child.text
            if text and text != "\n" and not isinstance(text, util.AtomicString) and needs_work(text):
                if type(text) is str and prefix not in text:
                    child.text = substitute(text)
                else:
                    child.text = None
                    expand(handle(text), child)  # text only: no element to insert
            tail = child.tail
            if tail and tail != "\n" and type(tail) is str and prefix not in tail and needs_work(tail):
                child.tail = substitute(tail)
            elif tail and tail != "\n" and needs_work(tail):
                dumby = Element("d")
                child.tail = None
                expand(handle(tail), dumby, False)
                if dumby.tail:
                    child.tail = dumby.tail
        return tree

    def _substitute(self, data: str) -> str:
        """What the stock pass makes of a text or tail (a ``str`` without a placeholder of this pass).

        The stock loop (``__handleInline``), inlined for substitutions: each match is replaced by a
        placeholder of this pass, numbered as the stock pass numbers it, and the search goes on
        after it or, when there is no match, with the next pattern that can match (see
        :meth:`SkippingInlineProcessor._InlineProcessor__handleInline`; a pattern whose trigger a
        substitution took out of the text is tried and finds nothing). So the text each regular
        expression searches is the stock one. Each placeholder is then replaced by its
        substitution, as the stock ``__processPlaceholders`` does: no match takes a character of a
        placeholder (every smarty pattern consumes only quotes, dashes, dots, white space, dash
        and space entities and an "s", none of which a placeholder holds), so each is still whole,
        and the text had no other. Without a match, the text is handed back as it is.
        """
        patterns, regexes = self.patterns, self.regexes
        count = len(patterns)
        following = self._following(self._present(data))
        index = following[0]
        start = 0
        stashed = self.stashed_nodes
        added: list[tuple[str, str]] = []
        while index < count:
            match = regexes[index].search(data, start)  # type: ignore[union-attr]  # all are InlineProcessors
            if match is None:
                index = following[index + 1]
                start = 0
                continue
            text, begin, end = patterns[index].handleMatch(match, data)
            key = f"{len(stashed):04d}"  # as the stock pass numbers them
            stashed[key] = text
            placeholder = util.INLINE_PLACEHOLDER % key
            added.append((placeholder, text))
            data = f"{data[:begin]}{placeholder}{data[end:]}"
            start = begin + len(placeholder)
        for placeholder, text in added:
            data = data.replace(placeholder, text, 1)
        return data

    @staticmethod
    def _elements(tree: Element, needs_work: Callable[[str], Any]) -> Iterator[Element]:
        """The elements below ``tree``, leaving out those below a child of it in which no text or
        tail needs work (all joined, in one call, when :data:`ITERTEXT_YIELDS_ALL`; looked at
        before the child's own text changes, which is all this pass changes around them)."""
        for top in tree:
            below = len(top) and (not ITERTEXT_YIELDS_ALL or needs_work("".join(top.itertext())) is not None)
            yield top
            if below:
                elements = top.iter()
                next(elements)  # top itself
                yield from elements


class Tables(TableProcessor):
    """The ``tables`` block processor, quicker with blocks and rows that need no care.

    Every block is tested for a table; the stock test splits its first rows into cells first.
    A table needs a pipe in its header row (two cells, or a border), so without one the stock
    test returns False too; what else it sets (``border``) is only used after a True.

    The stock split of a row into cells scans it for backslashes, backticks (code spans may
    hold pipes) and pipes; in a row without a backslash or a backtick it finds only pipes and
    splits at each of them, as ``str.split`` does. The stock end-border pattern (a pipe after
    an even number of backslashes, at the end) finds in a row without a backslash only a final
    pipe (a row holds no line break, which its ``$`` could also match before).
    """

    def test(self, parent: Element, block: str) -> bool:
        """The stock test (copied), a block without a pipe answered at once, and the end border
        of a row without a backslash found by ``endswith`` (see :meth:`_split_row`)."""
        if "|" not in block:
            return False
        is_table = False
        rows = [row.strip(" ") for row in block.split("\n")]
        if len(rows) > 1:
            header0 = rows[0]
            self.border = tables.PIPE_NONE
            if header0.startswith("|"):
                self.border |= tables.PIPE_LEFT
            if self._ends_with_border(header0):
                self.border |= tables.PIPE_RIGHT
            row = self._split_row(header0)
            row0_len = len(row)
            is_table = row0_len > 1

            # Each row in a single column table needs at least one pipe.
            if not is_table and row0_len == 1 and self.border:
                for index in range(1, len(rows)):
                    is_table = rows[index].startswith("|")
                    if not is_table:
                        is_table = self._ends_with_border(rows[index])
                    if not is_table:
                        break

            if is_table:
                row = self._split_row(rows[1])
                is_table = (len(row) == row0_len) and set("".join(row)) <= set("|:- ")
                if is_table:
                    self.separator = row

        return is_table

    def _ends_with_border(self, row: str) -> bool:
        """``RE_END_BORDER.search(row) is not None``: in a row without a backslash, a final pipe."""
        if "\\" in row:
            return self.RE_END_BORDER.search(row) is not None
        return row.endswith("|")

    def _split(self, row: str) -> list[str]:
        if "`" in row or "\\" in row:
            return super()._split(row)
        return row.split("|")

    def _split_row(self, row: str) -> list[str]:
        """The stock split, bordered rows without a backslash trimmed without a regex: there its
        end-border pattern (a pipe after an even number of backslashes, at the end) is a final pipe."""
        if "`" in row or "\\" in row:
            return super()._split_row(row)
        if self.border:
            if row.startswith("|"):
                row = row[1:]
            if row.endswith("|"):
                row = row[:-1]
        return row.split("|")


# Block processors whose stock test cannot be True for a block without one of these strings
# (each is a search for a regular expression that needs one) and does nothing else then; or,
# for footnote and reference, whose test is True but whose run finds no such match, puts the
# block back and returns False (and the parser goes on to the next processor, as after a False).
BLOCK_NEEDS: dict[str, tuple[type[BlockProcessor], tuple[str, ...]]] = {
    "hashheader": (HashHeaderProcessor, ("#",)),
    "setextheader": (SetextHeaderProcessor, ("\n=", "\n-")),  # an underline of = or -
    # Three runs of -, _ or * with up to two spaces between them.
    "hr": (HRProcessor, ("--", "- -", "-  -", "__", "_ _", "_  _", "**", "* *", "*  *")),
    "quote": (BlockQuoteProcessor, (">",)),
    "footnote": (FootnoteBlockProcessor, ("[^",)),  # a definition: [^label]:
    "reference": (ReferenceProcessor, ("]:",)),  # [label]: url
}


@functools.cache
def quick_test(stock: type[BlockProcessor], needs: tuple[str, ...]) -> type[BlockProcessor]:
    """``stock``, its test answering False at once for a block holding none of ``needs``."""

    def test(self: BlockProcessor, parent: Element, block: str) -> bool:
        for string in needs:
            if string in block:
                return stock.test(self, parent, block)
        return False

    return type(f"_Quick{stock.__name__}", (stock,), {"test": test, "__doc__": quick_test.__doc__})


# What a block must start with or hold for each block processor's stock test to be True. A
# "plain" block (most paragraphs and list items) starts with none of the first characters and
# holds none of the strings of the processors registered before the paragraph one: each of their
# tests is False (and changes nothing), so the parser would hand it to the paragraph processor.
PLAIN_FAILS: dict[type[BlockProcessor], tuple[str, tuple[str, ...]]] = {
    EmptyBlockProcessor: ("\n", ()),  # an empty block, or one starting with a blank line
    ListIndentProcessor: (" ", ()),  # starts with tab_length spaces
    CodeBlockProcessor: (" ", ()),  # likewise
    Tables: ("", ("|",)),
    # ^[ ]{0,3}\d+\.[ ]+ and ^[ ]{0,3}[*+-][ ]+, matched at the start of the block
    OListProcessor: (" 0123456789", ()),
    SaneOListProcessor: (" 0123456789", ()),
    UListProcessor: (" *+-", ()),
    SaneUListProcessor: (" *+-", ()),
    **{quick_test(stock, needs): ("", needs) for stock, needs in BLOCK_NEEDS.values()},
}


@functools.cache
def _needs_pattern(needs: tuple[str, ...]) -> re.Pattern[str]:
    return _any_of(set(needs))  # compiled on first use, not by every build process


class PlainBlockParser(BlockParser):
    """The block parser, asking a block processor about a block only if its test can be True.

    The stock parser asks every block processor in turn whether a block is its kind, and a
    paragraph or list item goes through a dozen tests before the paragraph processor takes it.
    When every processor registered before the paragraph one is in :data:`PLAIN_FAILS`, those
    whose first characters and strings the block lacks are skipped (their test is False and
    changes nothing); a block with none of any of them goes straight to the paragraph processor.
    The others are asked in the stock order, and an empty block, a block changed by a processor
    that declined it, or any other processor, gets the stock loop.
    """

    _seen: object = None  # the registry's list of processors when last learnt
    _processors: list[BlockProcessor] = []
    # Each processor before the paragraph one: its first characters, its one string or its strings.
    _checks: list[tuple[BlockProcessor, str, str | None, tuple[str, ...] | None]] | None = None
    _starts = ""
    _breaks: re.Pattern[str] | None = None

    def _learn(self) -> None:
        registry = self.blockprocessors
        remembered = getattr(registry, "_items", None)  # a RememberingRegistry's: a new list after each change
        if remembered is not None and remembered is self._seen:
            return
        processors = list(registry)
        self._seen = getattr(registry, "_items", None)
        if processors == self._processors:
            return
        self._processors, self._checks = processors, None
        checks, starts, breaks = [], set(), set()
        for processor in processors:
            if type(processor) is ParagraphProcessor:
                if processor.tab_length >= 1:  # else a code block's test is true of any block
                    self._checks = checks
                break
            fails = PLAIN_FAILS.get(type(processor))
            if fails is None:
                break
            needs = fails[1]
            checks.append((processor, fails[0], needs[0] if len(needs) == 1 else None, needs if len(needs) > 1 else None))
            starts.update(fails[0])
            breaks.update(fails[1])
        self._starts = "".join(sorted(starts))
        self._breaks = _any_of(breaks) if breaks else None

    def parseBlocks(self, parent: Element, blocks: list[str]) -> None:
        while blocks:
            if self._seen is None or getattr(self.blockprocessors, "_items", None) is not self._seen:
                self._learn()  # the processors changed (or are not remembered): what to skip, again
            block = blocks[0]
            checks = self._checks
            if checks is None or not block:
                for processor in self.blockprocessors:  # the stock loop, for one block
                    if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
                        break
                continue
            first = block[0]
            if first not in self._starts and (self._breaks is None or self._breaks.search(block) is None):
                self._processors[len(checks)].run(parent, blocks)  # the paragraph processor's
                continue
            for processor, starts, needle, needs in checks:
                if not (
                    first in starts
                    or (needle is not None and needle in block)
                    or (needs is not None and _needs_pattern(needs).search(block) is not None)
                    or blocks[0] is not block
                ):
                    continue  # its test is False
                if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
                    break
            else:  # the paragraph processor, and any after it (never reached: its test is True)
                for processor in self._processors[len(checks) :]:
                    if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
                        break


class Prettify(PrettifyTreeprocessor):
    """The ``prettify`` pass, without recursion and looking up ``is_block_level`` once per element.

    The stock pass visits the root and, below each block-level element other than ``code`` and
    ``pre``, its block-level children. A visit reads the element's own text, tail and first
    child's tag and sets only its own text and tail, so the visits can go in any order: here
    from a stack, each child's tag looked up once, in the memory of :func:`remember_block_level`
    when the converter has it, and a child without children (table cells, list items,
    paragraphs) visited at once, where its visit only sets its tail. (The ``br`` and ``pre``
    loops are stock.)
    """

    def _prettifyETree(self, elem: Element) -> None:
        is_block_level = self.md.is_block_level
        known: dict[Any, bool] = getattr(is_block_level, "known", {})
        if not is_block_level(elem.tag):  # the stock visit of such an element sets only its tail
            if not elem.tail or not elem.tail.strip():
                elem.tail = "\n"
            return
        stack = [elem]
        while stack:
            elem = stack.pop()  # a block-level element
            if elem.tag not in ("code", "pre"):
                first = None
                for child in elem:
                    tag = child.tag
                    try:
                        child_block = known[tag]
                    except (KeyError, TypeError):  # not remembered yet, or unhashable
                        child_block = is_block_level(tag)
                    if first is None:
                        first = child_block
                    if child_block:
                        if len(child):
                            stack.append(child)
                        else:  # the visit of an element without children sets only its tail
                            tail = child.tail
                            if not tail or not tail.strip():
                                child.tail = "\n"
                if first:
                    text = elem.text
                    if not text or not text.strip():
                        elem.text = "\n"
            tail = elem.tail
            if not tail or not tail.strip():
                elem.tail = "\n"


class Normalize(NormalizeWhitespace):
    """The ``normalize_whitespace`` preprocessor, not running its pattern over a text it cannot match.

    The stock code, except that the last substitution (lines of spaces made empty) is made
    only when the text holds a space before a line break, which its pattern needs.
    """

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        source = source.replace(util.STX, "").replace(util.ETX, "")
        source = source.replace("\r\n", "\n").replace("\r", "\n") + "\n\n"
        source = source.expandtabs(self.md.tab_length)
        if " \n" in source:
            source = re.sub(r"(?<=\n) +\n", "\n", source)
        return source.split("\n")


class FencedBlocks(FencedBlockPreprocessor):
    """The ``fenced_code_block`` preprocessor, not searching a text without a fence for fenced code.

    Its pattern needs three backticks or three tildes; without a match the stock code hands
    back the lines joined and split again (what it first learns of other extensions is only
    used after a match, and is learnt then).
    """

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if "```" in text or "~~~" in text:
            return super().run(lines)
        return text.split("\n")


class HtmlBlocks(HtmlBlockPreprocessor):
    """The ``html_block`` preprocessor, not parsing a text without ``<`` or ``&`` as HTML.

    The stock one feeds the whole text to an :class:`HTMLParser` that stashes raw HTML blocks.
    With neither character in the text the parser finds no tag, comment or reference: it hands
    the whole text to ``handle_data``, which appends it to the document unchanged.
    """

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        if "<" in source or "&" in source:
            return super().run(lines)
        return source.split("\n")


def _itertext_yields_all() -> bool:
    """True if ``Element.itertext`` yields the text and tail of every element below the root,
    whatever its tag, as the C ElementTree does (the Python one leaves out comments' texts)."""
    root = Element("div")
    comment = Comment("c")
    root.append(comment)
    comment.tail = "t"
    SubElement(comment, "p").text = "p"
    return list(root.itertext()) == ["c", "p", "t"]


ITERTEXT_YIELDS_ALL = _itertext_yields_all()


class AttrList(AttrListTreeprocessor):
    """The ``attr_list`` pass, skipped when no text in the tree holds a "{".

    Each change the stock pass makes follows a match of one of its patterns, in an element's
    text or tail, and every one of them starts with "{". The texts are looked at joined, in
    one call, when :data:`ITERTEXT_YIELDS_ALL` (all but the root's tail, looked at apart).
    """

    def run(self, doc: Element) -> None:
        if ITERTEXT_YIELDS_ALL:
            if "{" in "".join(doc.itertext()) or "{" in (doc.tail or ""):
                super().run(doc)
            return
        for elem in doc.iter():
            if "{" in (elem.text or "") or "{" in (elem.tail or ""):
                super().run(doc)
                return


class Unescape(UnescapeTreeprocessor):
    """The ``unescape`` pass, not rewriting text without an escaped character (an STX).

    The stock pass assigns every text and attribute value the result of ``re.sub``: the same
    text, as a plain ``str``, when there is nothing to replace. So do we, without running the
    pattern. When no text or tail holds an escape (the stock pattern, searched for in all of
    them joined, in one call, when :data:`ITERTEXT_YIELDS_ALL`: joining can only add matches
    across two texts, which sends us to the loop), only attribute values are looked at: a text
    then keeps its characters and only its type (an ``AtomicString`` stays one, which only the
    inline passes, run before this one, read; the page is written the same).
    """

    def run(self, root: Element) -> None:
        unescape = self.unescape
        if ITERTEXT_YIELDS_ALL and self.RE.search("".join(root.itertext())) is None and util.STX not in (root.tail or ""):
            for elem in root.iter():
                for key, value in elem.items():
                    if value is not None and (util.STX in value or type(value) is not str):
                        elem.set(key, unescape(value))
            return
        for elem in root.iter():
            text = elem.text
            if text and elem.tag != "code" and (util.STX in text or type(text) is not str):
                elem.text = unescape(text)
            tail = elem.tail
            if tail and (util.STX in tail or type(tail) is not str):
                elem.tail = unescape(tail)
            for key, value in elem.items():  # an escape in a link, an image's alt, an attr_list value
                if value is not None and (util.STX in value or type(value) is not str):
                    elem.set(key, unescape(value))


class Footnotes(FootnoteExtension):
    """The ``footnotes`` extension, not walking a tree in which no text holds its place marker.

    The stock search for the marker (where the footnotes go) recurses through every element,
    reading its text and tail; when the marker is in none of them (looked for in all of them
    joined, when :data:`ITERTEXT_YIELDS_ALL`) it finds nothing, as here.
    """

    def findFootnotesPlaceholder(self, root: Element) -> tuple[Element, Element, bool] | None:
        if ITERTEXT_YIELDS_ALL and self.getConfig("PLACE_MARKER") not in "".join(root.itertext()):
            return None
        return super().findFootnotesPlaceholder(root)


@functools.cache
def _brackets() -> re.Pattern[str]:
    return re.compile(r"[\[\]]")  # compiled on first use, not by every build process


def get_text(self: inlinepatterns.LinkInlineProcessor, data: str, index: int) -> tuple[str, int, bool]:
    """``LinkInlineProcessor.getText``, jumping from bracket to bracket instead of stepping
    through each character: the text up to the bracket that closes the one before ``index``,
    the index after it, and whether there was one (else the rest of the text, its end)."""
    bracket_count = 1
    for m in _brackets().finditer(data, index):
        bracket_count += 1 if m.group() == "[" else -1
        if bracket_count == 0:
            return data[index : m.start()], m.start() + 1, True
    return data[index:], max(index, len(data)), False


@functools.cache
def _raw_html_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The stock raw_html pattern, its first branch alone, and its second alone after an empty
    group (compiled on first use, not by every build process)."""
    placeholder = util.HTML_PLACEHOLDER % r"([0-9]+)"
    return re.compile(f"<p>{placeholder}</p>|{placeholder}"), re.compile(f"<p>{placeholder}</p>"), re.compile(f"(){placeholder}")


class RawHtml(RawHtmlPostprocessor):
    """The ``raw_html`` postprocessor: the stock code, its pattern compiled once, a text without a
    wrapped placeholder searched for bare ones alone, and one without an STX left as it is.

    The stock pattern is a placeholder wrapped in "<p>" and "</p>", or a bare one; both hold
    an STX: a text without one holds no match (``sub`` returns it unchanged). In a text where
    ``wrapped_only`` (the first branch) finds nothing, the first branch cannot match, so the
    matches are those of the second branch alone (a search for a literal start, much quicker
    than for either branch at each "<"); ``bare`` gives it the second group's number, after an
    empty first group, which the stock callback reads as "not wrapped".
    """

    wrapped: re.Pattern[str] | None = None
    wrapped_only: re.Pattern[str] | None = None
    bare: re.Pattern[str] | None = None

    def run(self, text: str) -> str:
        stash = self.md.htmlStash
        if not stash.html_counter:
            return text
        if self.wrapped is None or self.wrapped_only is None or self.bare is None:
            self.wrapped, self.wrapped_only, self.bare = _raw_html_patterns()
        wrapped_only, either, bare = self.wrapped_only, self.wrapped, self.bare

        def sub(text: str) -> str:
            if util.STX not in text:
                return text
            pattern = either if wrapped_only.search(text) else bare
            return pattern.sub(substitute_match, text)

        def substitute_match(m: re.Match[str]) -> str:
            if key := m.group(1):
                wrapped = True
            else:
                key = m.group(2)
                wrapped = False
            if (key := int(key)) >= stash.html_counter:
                return m.group(0)
            html = self.stash_to_string(stash.rawHtmlBlocks[key])
            if not wrapped or self.isblocklevel(html):
                return sub(html)
            return sub(f"<p>{html}</p>")

        return sub(text)


def to_html(root: Element) -> str:
    """``markdown.serializers.to_html_string``, recursing instead of keeping a stack of pending
    strings, and writing text without ``&``, ``<`` or ``>`` (all its escaping replaces) as it is."""
    data: list[str] = []
    _write_element(data.append, root, 0)
    return "".join(data)


# For each tag written: its start tag without attributes, its end tag ("" for a void element,
# which the stock code leaves without one) and whether its text is written raw (script, style),
# as the stock code works them out from the tag for every element.
_TAGS: dict[str, tuple[str, str, bool]] = {}


def _tag(tag: str) -> tuple[str, str, bool]:
    if len(_TAGS) > 1000:  # tags of raw HTML are the marketer's: keep the memory bounded
        _TAGS.clear()
    lower = tag.lower()
    answer = _TAGS[tag] = (f"<{tag}>", "" if lower in serializers.HTML_EMPTY else f"</{tag}>", lower in ("script", "style"))
    return answer


def _start_tag(tag: str, items: list[tuple[Any, Any]]) -> str:
    """The start tag of an element with attributes, as the stock code writes it (html format)."""
    parts = [f"<{tag}"]
    boolean = serializers.BOOLEAN_ATTRIBUTES["html"]
    for k, v in sorted(items):
        if isinstance(k, QName):
            k = k.text
        if isinstance(v, QName):
            v = v.text
        if v is None:
            parts.append(f" {k}")
        else:
            if type(v) is not str or "&" in v or "<" in v or ">" in v or '"' in v:  # what its escaping replaces
                v = serializers._escape_attrib_html(v)
            if k == v and k in boolean:
                parts.append(f" {v}")
            else:
                parts.append(f' {k}="{v}"')
    parts.append(">")
    return "".join(parts)


def _write_element(write: Callable[[str], None], el: Element, depth: int) -> None:
    """Write ``el``, its children and its tail, as the stock serializer does for it."""
    tag = el.tag
    if type(tag) is not str or depth > 100:  # comment, processing instruction, QName...; or deep
        serializers._serialize_html(write, el, "html")  # which writes its tail too
        return
    try:
        start, end, raw = _TAGS[tag]
    except KeyError:
        start, end, raw = _tag(tag)
    items = el.items()
    write(_start_tag(tag, items) if items else start)
    text = el.text
    if text:
        if raw or ("&" not in text and "<" not in text and ">" not in text and type(text) is str):
            write(text)
        else:
            write(serializers._escape_cdata(text))
    for child in el:
        _write_element(write, child, depth + 1)
    if end:
        write(end)
    tail = el.tail
    if tail:
        if "&" not in tail and "<" not in tail and ">" not in tail and type(tail) is str:
            write(tail)
        else:
            write(serializers._escape_cdata(tail))


class RememberingRegistry(util.Registry[Any]):
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


def remember_block_level(md: markdown.Markdown) -> None:
    """Answer ``md.is_block_level(tag)`` from memory: prettify and attr_list ask it of every element.

    The answer depends only on the tag and on ``md.block_level_elements``, which no extension
    this project loads changes once the converter is built.
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

    is_block_level.known = known  # type: ignore[attr-defined]  # read by Prettify
    md.is_block_level = is_block_level  # type: ignore[method-assign]


def _replace(registry: util.Registry[Any], name: str, item: Any) -> None:
    """Register ``item`` under ``name`` in place of the stock one, at the stock one's priority."""
    (priority,) = [entry.priority for entry in registry._priority if entry.name == name]
    registry.register(item, name, priority)


def speed_up(md: markdown.Markdown) -> None:
    """Swap the twins above into a built converter wherever it holds the stock object they
    replace and the stock code is the one they mirror; leave everything else as it is.

    An inline pass (Python-Markdown's, smarty's) is swapped only when its registered patterns
    are exactly those of its trigger table: another one (a new extension, a new Python-Markdown)
    leaves the stock pass in place.
    """
    processors = md.treeprocessors
    if type(processors["inline"]) is InlineProcessor:
        inline = SkippingInlineProcessor.create(md, md.inlinePatterns, TRIGGERS, "inline patterns")
        if inline is not None:
            _replace(processors, "inline", inline)
    if "smarty" in processors and type(processors["smarty"]) is InlineProcessor:
        fast = TextOnlyInlineProcessor if unchanged(smarty) else SkippingInlineProcessor
        smarty_pass = fast.create(md, processors["smarty"].inlinePatterns, SMARTY_TRIGGERS, "smarty patterns")
        if smarty_pass is not None:
            _replace(processors, "smarty", smarty_pass)
    blocks = md.parser.blockprocessors
    if "table" in blocks and type(blocks["table"]) is TableProcessor and unchanged(tables):
        _replace(blocks, "table", Tables(md.parser, blocks["table"].config))
    if unchanged(blockprocessors, footnotes):
        for name, (stock, needs) in BLOCK_NEEDS.items():
            if name in blocks and type(blocks[name]) is stock:
                # The subclass only answers test sooner: it holds no state of its own.
                blocks[name].__class__ = quick_test(stock, needs)
    if type(md.parser) is BlockParser and unchanged(blockparser, blockprocessors, footnotes, sane_lists, tables):
        md.parser.__class__ = PlainBlockParser  # no state of its own but what it learns of the processors
    if type(processors["prettify"]) is PrettifyTreeprocessor and unchanged(treeprocessors):
        _replace(processors, "prettify", Prettify(md))
    if "attr_list" in processors and type(processors["attr_list"]) is AttrListTreeprocessor and unchanged(attr_list):
        _replace(processors, "attr_list", AttrList(md))
    if type(processors["unescape"]) is UnescapeTreeprocessor and unchanged(treeprocessors):
        _replace(processors, "unescape", Unescape(md))
    pre = md.preprocessors
    if type(pre["normalize_whitespace"]) is NormalizeWhitespace and unchanged(preprocessors):
        _replace(pre, "normalize_whitespace", Normalize(md))
    if "fenced_code_block" in pre and type(pre["fenced_code_block"]) is FencedBlockPreprocessor and unchanged(fenced_code):
        pre["fenced_code_block"].__class__ = FencedBlocks  # no state of its own: keeps the stock one's
    if type(pre["html_block"]) is HtmlBlockPreprocessor and unchanged(preprocessors, htmlparser):
        _replace(pre, "html_block", HtmlBlocks(md))
    if unchanged(core):
        remember_block_level(md)
    if unchanged(inlinepatterns):
        for pattern in md.inlinePatterns:
            if (
                isinstance(pattern, inlinepatterns.LinkInlineProcessor)
                and type(pattern).getText is inlinepatterns.LinkInlineProcessor.getText
            ):
                # On the instance, so that its class, which the trigger tables are checked by, stays the stock one.
                pattern.getText = types.MethodType(get_text, pattern)
    if (
        "footnote" in processors
        and type(footnote_ext := getattr(processors["footnote"], "footnotes", None)) is FootnoteExtension
        and unchanged(footnotes)
    ):
        footnote_ext.__class__ = Footnotes  # no state of its own: keeps the stock one's
    if type(md.postprocessors["raw_html"]) is RawHtmlPostprocessor and unchanged(postprocessors):
        _replace(md.postprocessors, "raw_html", RawHtml(md))
    if md.serializer is serializers.to_html_string and unchanged(serializers):
        md.serializer = to_html
    if not _warned and not unchanged(*(importlib.import_module(name) for name in MIRRORED_MODULES)):
        _warn_stock()
    if unchanged(util):
        registries = [md.preprocessors, blocks, processors, md.inlinePatterns, md.postprocessors]
        registries += [getattr(processors["smarty"], "inlinePatterns", None)] if "smarty" in processors else []
        for registry in registries:
            if type(registry) is util.Registry:
                registry.__class__ = RememberingRegistry


_warned = False


def _warn_stock() -> None:
    """Say once per process that some fast paths are off (the pages are the same, built slower)."""
    global _warned
    _warned = True
    log.warning(
        "Python-Markdown %s: some of its files differ from those of %s, which leadmagnet's Markdown fast "
        "paths were checked against; those parts render with Python-Markdown's own code (same pages, slower builds)",
        markdown.__version__,
        VERSION,
    )
