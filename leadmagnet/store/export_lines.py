"""CSV lines written by SQLite: one ``printf`` per row, quoted by Python only where a cell needs it.

A row of the SELECT is ``(line[, cursor])``: ``line`` is the row's finished cells as UTF-8 bytes,
separated by 0xFF (see :mod:`leadmagnet.store.export_cells` for the three sorts of cell), where a
finished field's own ``, " CR LF`` are 0xFE 0xFD then one of 0xF8-0xFB (an escape). No stored
text holds those bytes (they never occur in UTF-8), so every ``, " CR LF`` left in a line belongs
to a stored field's cell, which ``csv.writer`` would quote. :class:`CsvLines` makes a chunk of such
rows CSV text exactly as ``csv.writer`` (QUOTE_MINIMAL, comma, CRLF) writes the cells:

* a chunk whose lines hold none of them (most chunks) is one ``join`` and one ``translate`` (the
  separators to commas, the escapes to their characters), C loops over its bytes, after the
  checks: no , or ", one count of the separators, CRs and LFs together, and, where it holds
  escapes, that each is whole (see ``_escapes_undone``);
* otherwise each of its rows is looked at, and the stored-field cells holding one are quoted.

Every chunk is checked: it must hold one separator fewer than cells per row, and be UTF-8 once
the separators and the escapes (exactly those three-byte sequences) are mapped back. A value
written into the database by another program as some other encoding (Latin-1, say) stops the
export with :class:`StoredTextError`, naming the row, as reading it into Python did before: a
stray 0xF8-0xFE byte among them ("Søren", "þú") fails the checks of :func:`_unescaped`, and the
others fail the UTF-8 check. Only
a stored exact escape, the Latin-1 sequence ``þý`` then one of ``ø ù ú û``, which no language
writes, would pass as one.

``printf``'s ``%s`` ends a text at a NUL character: a stored value holding one (the forms drop
every control character; only a value written some other way can) loses what follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadmagnet.store.export_cells import ESCAPE, SEPARATOR

MAX_ARGS = 100  # SQLite's functions take at most 127 arguments: a longer line nests its printf
_SEPARATORS = bytes.maketrans(SEPARATOR, b",")
# The escapes are unescaped by one ``translate`` that deletes their first two bytes and turns the
# last into its character: C loops, no work per escape. What it writes is kept only if every
# 0xF8-0xFE byte was part of an escape:
# * the ``translate`` took two bytes away per pair 0xFE 0xFD, no more: each 0xFE and 0xFD is in
#   a pair (the data holds at least as many of each as pairs);
# * a copy in which each pair's 0xFD is a UTF-8 lead byte taking one more byte and each
#   0xF8-0xFB such a byte (0xFE 0xFD 0xF8 -> "a" C2 80, a character below U+0100, which Python
#   decodes fastest) is UTF-8: each 0xF8-0xFB follows a pair, or a lead byte that a stored value
#   holds, which the check of what is written then catches (it stands before an ASCII character
#   there), as it catches a pair followed by something else.
# tests/test_export_lines.py holds this to csv.writer for every stored value of up to three bytes
# over the bytes that matter; run to five bytes, nothing else passed.
_CODES = b"\xf8\xf9\xfa\xfb"
_FINISH = bytes.maketrans(SEPARATOR + _CODES, b',,"\r\n')
_LEAD = ESCAPE[:1]
# A chunk's lines hold each separator, CR and LF at least where they belong (between cells, at
# each line's end): with the three as one byte, one count (a slow C loop, where `in` is memchr)
# tells whether a stored value holds one more. The checked copy of escapes maps them so too (they
# are ASCII either way, so its UTF-8 check is the same) and is counted the same way.
_MARKS = bytes.maketrans(SEPARATOR + b"\r\n", b",,,")
_CHECK = bytes.maketrans(SEPARATOR + b"\r\n" + ESCAPE + _CODES, b",,,a\xc2\x80\x81\x82\x83")


def _unescaped(data: bytes) -> bytes:
    """``data`` (lines, or one line) with its separators as commas and its escapes as their
    characters; ``data`` itself (not UTF-8: it holds 0xFE) where a byte is not part of an escape."""
    if _LEAD not in data:  # most chunks hold no escape: one test of a C loop
        return data.translate(_SEPARATORS)
    return _escapes_undone(data, data.translate(_CHECK))


def _escapes_undone(data: bytes, checked: bytes) -> bytes:
    """:func:`_unescaped` of ``data`` holding 0xFE, ``checked`` its copy translated by ``_CHECK``."""
    text = data.translate(_FINISH, ESCAPE)
    if len(text) != len(data) - 2 * data.count(ESCAPE):
        return data
    try:
        checked.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return text


def _plain_chunk(data: bytes, marks: int) -> bytes | None:
    """:func:`_unescaped` of ``data`` (lines) when no cell needs quoting: no , or " and exactly
    ``marks`` separators, CRs and LFs in all; otherwise None (a stored value holds one of them)."""
    if b"," in data or b'"' in data:
        return None
    if _LEAD not in data:
        return data.translate(_SEPARATORS) if data.translate(_MARKS).count(b",") == marks else None
    checked = data.translate(_CHECK)
    return _escapes_undone(data, checked) if checked.count(b",") == marks else None


def printf(parts: Sequence[str], separator: bytes = SEPARATOR) -> str:
    """SQL: ``parts`` (expressions; NULL as nothing) joined by ``separator`` in one ``printf`` (its
    format a blob literal: the separator is not UTF-8)."""
    if len(parts) > MAX_ARGS:
        return printf([printf(parts[i : i + MAX_ARGS], separator) for i in range(0, len(parts), MAX_ARGS)], separator)
    return f"printf(X'{separator.join(b'%s' for _ in parts).hex()}', {', '.join(parts)})"


def line_sql(cells: Sequence[str]) -> str:
    """SQL: the line of ``cells`` (see the module doc), as bytes."""
    return f"CAST({printf(cells)} AS BLOB)"


def _quoted(cell: bytes) -> bytes:
    if b"," in cell or b'"' in cell or b"\r" in cell or b"\n" in cell:
        return b'"' + cell.replace(b'"', b'""') + b'"'
    return cell


class StoredTextError(ValueError):
    """A stored value is not UTF-8 text: written into the database by another program."""


class CsvLines:
    """Chunks of line rows -> CSV text; ``plain``: the positions of the stored-field cells,
    ``width``: the number of cells in a row."""

    def __init__(self, plain: Sequence[int], width: int) -> None:
        self.plain, self.width = tuple(plain), width

    def __call__(self, chunk: Sequence[tuple[Any, ...]]) -> bytes:
        """The chunk's rows as CSV, UTF-8."""
        data = b"\r\n".join([row[0] for row in chunk]) + b"\r\n"
        n = len(chunk)
        text = _plain_chunk(data, n * (self.width + 1))  # w - 1 separators, CR and LF a line
        if text is None:
            if data.count(SEPARATOR) != n * (self.width - 1):
                self._not_text(chunk)
            text = b"".join([self.row(row[0]) for row in chunk])
        try:
            text.decode("utf-8")  # a C loop over the chunk; what goes to the file must be text
        except UnicodeDecodeError:
            self._not_text(chunk)
        return text

    def row(self, line: bytes) -> bytes:
        cells = line.split(SEPARATOR)
        for i in self.plain:
            cells[i] = _quoted(cells[i])
        return _unescaped(b",".join(cells) + b"\r\n")

    def _not_text(self, chunk: Sequence[tuple[Any, ...]]) -> None:
        """Raise :class:`StoredTextError` naming the first row of ``chunk`` that is not text."""
        for row in chunk:
            line = row[0]
            try:
                _unescaped(line).decode("utf-8")
                if line.count(SEPARATOR) == self.width - 1:
                    continue
            except UnicodeDecodeError:
                pass
            shown = line.split(SEPARATOR)[0].decode("utf-8", "replace")
            raise StoredTextError(
                f"the database holds a value that is not UTF-8 text, in the row that starts {shown!r}: another program"
                " wrote it (in another encoding?); correct it, e.g. with the sqlite3 shell, then export again"
            )
        raise StoredTextError("the database holds a value that is not UTF-8 text; another program wrote it")
