"""An export's cells as SQL: each preset column (a :class:`Cell`) compiled into one expression.

:class:`Compiler` turns a cell into the SQL of its finished text: formatted (ISO 8601 times, stage
mappings, custom answers read from the JSON), formula-neutralised and clipped. Where SQLite cannot
give the Python writers' exact text (a time in another zone, a float answer, a country name, a
contact's several offers) the SQL calls the Python writer itself, registered for that export only
and cached (C-level on a hit; the cache goes with the export, so an erased person's data does not
outlive it).

Two forms. *Cells* (:meth:`Compiler.value`): one column per cell, for JSON Lines and for
``csv.writer``. *Lines* (:meth:`Compiler.line_value`, for CSV on SQLite): every cell goes into one
``printf`` per row (:mod:`leadmagnet.store.export_lines`), since a Python string per cell cost more
than the rest of the SQL. A cell of a line is one of three sorts:

* our own constant (a mapped stage, a flag, a Salesforce status): finished in Python when the SQL
  is built, a blob literal;
* a stored field's text (a name, a phone number, a count, a time cut from the store's text): not
  quoted in SQL; Python quotes the few that need it (``export_lines``), as every ``, " CR LF`` left
  in a line is theirs;
* text a Python function wrote (the tags, several offers' tags, a custom answer, a country code):
  finished in Python, CSV-quoted included, its own ``, " CR LF`` escaped as bytes no UTF-8 text
  holds (``ESCAPE``).

Formula neutralising (``leadmagnet.export.formats.neutralise``; :func:`neutralise` is its twin
here) is a CASE on the first character: ``= + - @`` tab or CR gets a leading apostrophe, except
a plain number (a sign, then only digits, spaces and ``( ) + - . /``) in a file for an importer.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadmagnet.store.reports import BUILTIN_ANSWERS, RANK_STAGE

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Python's str.strip() whitespace, for trim() in the "required" cells.
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
INT_FIELDS = frozenset({"score", "submissions", "submission_id", "spam"})
LIST_FIELDS = frozenset({"offers", "tags"})
# The characters of a plain number after its sign (rtrim() with them leaves nothing of one).
NUMBER_CHARS = "0123456789 ()+-./"
_PLAIN_NUMBER = re.compile(r"[+-][0-9 ()+\-./]*")
# csv.writer (QUOTE_MINIMAL, comma, CRLF) quotes a field holding one of these.
QUOTED = (",", '"', "\r", "\n")
# A line is UTF-8 bytes with cells separated by 0xFF, and the , " CR LF of a finished field (one a
# Python function or our constant wrote) as 0xFE 0xFD then one of 0xF8-0xFB: bytes no UTF-8 text
# holds. Three bytes, not one: a value another program stored in Latin-1 may hold a lone 0xF8-0xFB
# (ø ù ú û: "Søren") or 0xFE then some of them ("þú"), which must stop the export (export_lines),
# not turn into a comma; only the exact sequence "þý" then one of "øùúû" would pass as an escape.
SEPARATOR = b"\xff"
ESCAPE = b"\xfe\xfd"
_ESCAPED = {b",": ESCAPE + b"\xf8", b'"': ESCAPE + b"\xf9", b"\r": ESCAPE + b"\xfa", b"\n": ESCAPE + b"\xfb"}


def _offer_list(joined: str | None) -> tuple[str, ...]:
    """``"b,a"`` -> ``("a", "b")``: a contact's offers, each once (DISTINCT in SQL costs a b-tree per contact)."""
    return tuple(sorted(set(joined.split(",")))) if joined else ()


def _tag_list(joined: str | None) -> tuple[str, ...]:
    """The JSON tag lists of several submissions (joined by U+001F) as one list, first seen first."""
    tags: dict[str, None] = {}
    for chunk in (joined or "").split("\x1f"):
        for tag in json.loads(chunk or "[]"):
            tags[tag] = None
    return tuple(tags)


def answers_decoder(kind: str) -> Callable[[str], dict[str, Any]]:
    """A cached decoder of a row's JSON answers (a submission's without the built-in fields),
    for this export only (erased people's data does not outlive it)."""
    strip = kind == "submissions"

    @functools.lru_cache(maxsize=1024)
    def decode(raw: str) -> dict[str, Any]:
        found = json.loads(raw or "{}")
        return {k: v for k, v in found.items() if k not in BUILTIN_ANSWERS} if strip else found

    return decode


@dataclass(frozen=True)
class Cell:
    """One column of an export, for SQL: the row ``field`` it reads and ``kind``, how it is written.

    Kinds: ``text``; ``iso``/``date`` (``python`` formats what is not the store's own UTC text);
    ``required`` (stripped, ``default`` when blank); ``truthy`` (``yes``/``no``); ``map``
    (``values`` by the field's text, else ``default``); ``status`` (``values``: unsubscribed,
    sales-qualified, else); ``constant`` (``default``); ``answer`` (custom answer ``field``: ``yes``/``no``
    for a checkbox, ``values`` labels for every offer, ``by_offer`` per offer slug, ``python(answers
    dict, offer slug)`` for other JSON types); ``python`` (``python(value, row dict)``, cached).
    """

    field: str
    kind: str = "text"
    default: str = ""
    values: tuple[tuple[str, str], ...] = ()
    by_offer: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    yes: str = "1"
    no: str = "0"
    python: Callable[..., str] | None = None


def _lit(text: str) -> str:
    """A SQL string literal (our own constants and labels; quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _case(expr: str, values: Sequence[tuple[str, str]], default: str) -> str:
    if not values:
        return default
    return f"CASE {expr} " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in values) + f" ELSE {default} END"


def decoder(field: str, kind: str) -> Callable[[Any], Any]:
    """Raw SQL value of ``field`` in a ``kind`` export -> the value the Python row path had."""
    if field == "offers":
        return _offer_list
    if field == "tags":
        return _tag_list if kind == "contacts" else lambda raw: json.loads(raw or "[]")
    if field == "stage" and kind == "contacts":
        return lambda raw: RANK_STAGE.get(raw or 0)
    return lambda raw: raw


def safe(*texts: str) -> bool:
    return all(not t or t[0] not in TRIGGERS for t in texts)


def clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def neutralise(text: str, spreadsheet: bool) -> str:
    """``formats.neutralise``: a leading apostrophe where ``text`` starts with a formula trigger."""
    if text and text[0] in TRIGGERS and (spreadsheet or not _PLAIN_NUMBER.fullmatch(text)):
        return "'" + text
    return text


def quote(text: str) -> str:
    """A CSV field as ``csv.writer`` writes it (quoted only when it must be)."""
    if "," in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def finished(text: str) -> bytes:
    """A finished field (CSV-quoted) as part of a line: its , " CR LF escaped (see ``ESCAPE``)."""
    data = quote(text).encode("utf-8")
    for char, escaped in _ESCAPED.items():
        if char in data:
            data = data.replace(char, escaped)
    return data


class Compiler:
    """Builds the cell expressions of one query; collects the Python functions they call.

    With ``line``, :meth:`line_value` gives each cell as part of a CSV line (see the module doc).
    """

    def __init__(self, fields: Mapping[str, str], kind: str, spreadsheet: bool, clip: int, prefix: str, line: bool = False) -> None:
        self.fields, self.kind, self.spreadsheet, self.clip, self.prefix = fields, kind, spreadsheet, clip, prefix
        self.line = line
        self.functions: dict[str, tuple[int, Callable[..., Any]]] = {}

    def function(self, fn: Callable[..., Any], nargs: int, final: bool = False) -> str:
        """Register ``fn`` (cached) for this query; ``final``: its text is a line's finished field."""
        if final:
            write, spreadsheet, clip = fn, self.spreadsheet, self.clip

            def fn(*args: Any) -> bytes:
                text = neutralise(write(*args), spreadsheet)
                return finished(clip_bytes(text, clip) if clip else text)

        name = f"{self.prefix}_{len(self.functions)}"
        self.functions[name] = (nargs, functools.lru_cache(maxsize=4096)(fn))
        return name

    def final(self, text: str) -> str:
        """Our own constant as a line's finished field, a SQL literal."""
        text = neutralise(text, self.spreadsheet)
        return f"X'{finished(clip_bytes(text, self.clip) if self.clip else text).hex()}'"

    def raw(self, field: str) -> str:
        return self.fields.get(field, "NULL")

    def decoder(self, field: str) -> Callable[[Any], Any]:
        return decoder(field, self.kind)

    def contacts_stage(self, field: str) -> bool:
        return field == "stage" and self.kind == "contacts"

    def text(self, field: str) -> str:
        raw = self.raw(field)
        if self.line and not self.clip and field not in LIST_FIELDS and not self.contacts_stage(field):
            return raw  # printf writes NULL as nothing
        if field in INT_FIELDS:
            return f"coalesce(CAST({raw} AS TEXT), '')"
        if field == "offers":
            joined = self.function(lambda r: ", ".join(_offer_list(r)), 1)
            return f"CASE WHEN a.submissions = 1 THEN {raw} ELSE {joined}({raw}) END"
        if field == "tags":
            decode = self.decoder("tags")
            joined = self.function(lambda r: ", ".join(str(t) for t in decode(r)), 1, final=self.line)
            return f"CASE WHEN {raw} = '[]' THEN '' ELSE {joined}({raw}) END"  # cached: few distinct lists
        if self.contacts_stage(field):
            return (
                f"CASE {raw} " + " ".join(f"WHEN {rank} THEN {_lit(stage)}" for rank, stage in RANK_STAGE.items() if stage) + " ELSE '' END"
            )
        return f"coalesce({raw}, '')"

    def python(self, cell: Cell) -> str:
        """A call of ``cell.python(value, row)`` with the row fields the CRM formats read."""
        decode, write, field = self.decoder(cell.field), cell.python, cell.field
        assert write is not None

        def call(raw: Any, stage: Any, unsubscribed: Any, slug: Any) -> str:
            return write(decode(raw), {field: decode(raw), "lifecycle_stage": stage, "unsubscribed_at": unsubscribed, "offer_slug": slug})

        name = self.function(call, 4, final=self.line)
        extra = ", ".join(self.raw(f) for f in ("lifecycle_stage", "unsubscribed_at", "offer_slug"))
        return f"{name}({self.raw(cell.field)}, {extra})"

    def moment(self, cell: Cell) -> str:
        """An ``iso``/``date`` cell: the store's own UTC text cut in SQL, any other through Python."""
        raw, write = self.raw(cell.field), cell.python
        assert write is not None
        fast = f"substr({raw}, 1, 19) || 'Z'" if cell.kind == "iso" else f"substr({raw}, 1, 10)"
        # The store's own UTC text, starting with a digit: its cell starts with that digit, nothing to neutralise.
        own = f"{raw} >= '0' AND {raw} < ':' AND {raw} LIKE '{'_' * 26}+00:00'"  # 32 characters ending +00:00
        slow = self.function(lambda raw: write(raw, {}), 1)
        return f"CASE WHEN {own} THEN {fast} WHEN {raw} IS NULL OR {raw} = '' THEN '' ELSE {self.neutralise(f'{slow}({raw})')} END"

    def value(self, cell: Cell) -> tuple[str, bool]:
        """The cell's SQL expression (text, never NULL) and whether it can need neutralising."""
        kind, field, raw = cell.kind, cell.field, self.raw(cell.field)
        plain_text = field not in INT_FIELDS and field not in LIST_FIELDS and not self.contacts_stage(field)
        if kind == "text":
            return self.text(field), not self.contacts_stage(field)  # a stage's name is ours
        if kind in ("iso", "date") and plain_text and cell.python is not None:
            return self.moment(cell), False
        if kind == "required" and plain_text:
            return f"coalesce(nullif(trim(coalesce({raw}, ''), {_lit(WHITESPACE)}), ''), {_lit(cell.default)})", True
        if kind == "truthy" and field not in LIST_FIELDS and not self.contacts_stage(field):
            blank = f"coalesce({raw}, 0) = 0" if field in INT_FIELDS else f"coalesce({raw}, '') = ''"
            return f"CASE WHEN {blank} THEN {_lit(cell.no)} ELSE {_lit(cell.yes)} END", not safe(cell.yes, cell.no)
        if kind == "map" and plain_text:
            return _case(raw, cell.values, _lit(cell.default)), not safe(cell.default, *(v for _k, v in cell.values))
        if kind == "status":
            (_, closed), (_, working), (_, other) = cell.values
            unsubscribed, stage = self.raw("unsubscribed_at"), self.raw("lifecycle_stage")
            sql = f"CASE WHEN coalesce({unsubscribed}, '') != '' THEN {_lit(closed)} WHEN {stage} = 'sql' THEN {_lit(working)} ELSE {_lit(other)} END"
            return sql, not safe(closed, working, other)
        if kind == "constant":
            return _lit(cell.default), not safe(cell.default)
        if kind == "answer":
            empty, answer = self.answer(cell)
            return f"CASE WHEN {empty} THEN '' ELSE {answer} END", True
        if cell.python is None:
            raise ValueError(f"export cell {field!r} of kind {kind!r} needs a Python writer")
        return self.python(cell), True

    def line_value(self, cell: Cell) -> tuple[str, bool]:
        """The cell as a field of a CSV line, and whether it is a stored field's text (Python quotes it if it must)."""
        kind, field, raw = cell.kind, cell.field, self.raw(cell.field)
        ours = field in LIST_FIELDS or self.contacts_stage(field)
        final = self.final
        if kind == "text":
            if field == "tags":
                return self.text(field), False  # a Python function's finished text
            if self.contacts_stage(field):
                return self.finish(self.text(field), False), False  # our stage names
            if field in INT_FIELDS and not self.clip:
                # A number not below zero (numbers sort before text) starts with a digit: nothing to neutralise.
                return f"CASE WHEN {raw} >= 0 AND {raw} < '' THEN {raw} ELSE {self.finish(raw, True)} END", True
            return self.finish(self.text(field), True), True  # a stored field's text: Python quotes it if it must
        if kind in ("iso", "date") and not ours and field not in INT_FIELDS and cell.python is not None:
            # The store's text cut (a stored field's characters) or Python's ISO 8601 text (digits, - : T Z).
            return self.finish(self.moment(cell), False), True
        if kind == "required" and not ours and field not in INT_FIELDS:
            return self.finish(self.value(cell)[0], True), True
        if kind == "truthy" and not ours:
            blank = f"coalesce({raw}, 0) = 0" if field in INT_FIELDS else f"coalesce({raw}, '') = ''"
            return f"CASE WHEN {blank} THEN {final(cell.no)} ELSE {final(cell.yes)} END", False
        if kind == "map" and not ours and field not in INT_FIELDS:
            values = " ".join(f"WHEN {_lit(k)} THEN {final(v)}" for k, v in cell.values)
            return (f"CASE {raw} {values} ELSE {final(cell.default)} END" if values else final(cell.default)), False
        if kind == "status":
            (_, closed), (_, working), (_, other) = cell.values
            unsubscribed, stage = self.raw("unsubscribed_at"), self.raw("lifecycle_stage")
            sql = f"CASE WHEN coalesce({unsubscribed}, '') != '' THEN {final(closed)} WHEN {stage} = 'sql' THEN {final(working)} ELSE {final(other)} END"
            return sql, False
        if kind == "constant":
            return final(cell.default), False
        if kind == "answer":
            empty, answer = self.answer(cell)
            done = self.function(finished, 1)
            return f"CASE WHEN {empty} THEN '' ELSE {done}({self.finish(answer, True)}) END", False
        if cell.python is None:
            raise ValueError(f"export cell {field!r} of kind {kind!r} needs a Python writer")
        return self.python(cell), False  # finished by its function

    def answer(self, cell: Cell) -> tuple[str, str]:
        """A custom answer read from the answers JSON: (when it is empty, its text); text and integers
        (labelled), checkboxes in SQL, other JSON types through Python."""
        if self.kind == "submissions" and cell.field in BUILTIN_ANSWERS:
            return "1", "''"
        source, slug = self.raw("custom"), self.raw("offer_slug")
        path = _lit('$."' + cell.field.replace('"', '""') + '"')
        text = f"CAST(json_extract({source}, {path}) AS TEXT)"
        merged = _case(text, cell.values, text)
        labelled = merged
        if cell.by_offer and self.kind == "submissions":
            labelled = (
                f"CASE {slug} " + " ".join(f"WHEN {_lit(s)} THEN {_case(text, v, text)}" for s, v in cell.by_offer) + f" ELSE {merged} END"
            )
        assert cell.python is not None
        write, decode = cell.python, self._answers

        def other(raw: str, offer: Any) -> str:
            return write(decode(raw), offer)

        fallback = self.function(other, 2)
        return f"{source} = '{{}}'", (
            f"CASE json_type({source}, {path}) WHEN 'text' THEN {labelled}"
            f" WHEN 'integer' THEN {labelled} WHEN 'true' THEN {_lit(cell.yes)} WHEN 'false' THEN {_lit(cell.no)}"
            f" WHEN 'null' THEN '' WHEN 'real' THEN {fallback}({source}, {slug}) WHEN 'array' THEN {fallback}({source}, {slug})"
            f" WHEN 'object' THEN {fallback}({source}, {slug}) ELSE '' END"
        )

    @functools.cached_property
    def _answers(self) -> Callable[[str], dict[str, Any]]:
        return answers_decoder(self.kind)

    def finish(self, expr: str, risky: bool) -> str:
        """Neutralise formula triggers (when the text can start with one), then clip to bytes."""
        if risky:
            expr = self.neutralise(expr)
        if self.clip:
            clip = self.function(functools.partial(clip_bytes, limit=self.clip), 1)
            expr = f"CASE WHEN length(CAST({expr} AS BLOB)) <= {self.clip} THEN {expr} ELSE {clip}({expr}) END"
        return expr

    def neutralise(self, expr: str) -> str:
        """``expr`` with a leading apostrophe where it starts with a formula trigger.

        Every trigger sorts before ``A``, so a cell ``>= 'A'`` (most: names, emails) costs one
        comparison; the others read their first character once (CASE x WHEN). A sign followed by
        nothing but a number's characters (rtrim() leaves nothing) is a plain number.
        """
        inert = f"'''' || {expr}"
        # A plain number (a phone number) stays as typed for an importer, not for a spreadsheet.
        sign = inert if self.spreadsheet else f"CASE WHEN rtrim({expr}, {_lit(NUMBER_CHARS)}) = '' THEN {expr} ELSE {inert} END"
        return (
            f"CASE WHEN {expr} >= 'A' THEN {expr} ELSE CASE unicode({expr}) WHEN 61 THEN {inert} WHEN 64 THEN {inert}"
            f" WHEN 9 THEN {inert} WHEN 13 THEN {inert} WHEN 43 THEN {sign} WHEN 45 THEN {sign} ELSE {expr} END END"
        )
