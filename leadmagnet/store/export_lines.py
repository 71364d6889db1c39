"""CSV lines written by SQLite: one ``printf`` per row, quoted by Python only where a cell needs it.

A row of the SELECT is ``(line[, cursor])``: ``line`` is the row's finished cells as UTF-8 bytes,
separated by 0xFF (see :mod:`leadmagnet.store.export_cells` for the three sorts of cell), where a
finished field's own ``, " CR LF`` are 0xFE 0xFD then one of 0xF8-0xFB (an escape). No stored
text holds those bytes (they never occur in UTF-8), so every ``, " CR LF`` left in a line belongs
to a stored field's cell, which ``csv.writer`` would quote. :class:`CsvLines` makes a chunk of such
rows CSV text exactly as ``csv.writer`` (QUOTE_MINIMAL, comma, CRLF) writes the cells:

* a chunk whose lines hold none of them (most chunks) is one ``join``, the escapes replaced (if
  the chunk holds any) and one ``translate`` (the separators to commas), C loops over its bytes;
* otherwise each of its rows is looked at, and the stored-field cells holding one are quoted.

Every chunk is checked: it must hold one separator fewer than cells per row, and be UTF-8 once
the separators and the escapes (exactly those three-byte sequences) are mapped back. A value
written into the database by another program as some other encoding (Latin-1, say) stops the
export with :class:`StoredTextError`, naming the row, as reading it into Python did before: its
stray bytes, 0xF8-0xFE among them ("Søren", "þú"), are left as they are and fail that check. Only
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
# Each escape, exactly, back to its character. A stray 0xF8-0xFE byte is left as it is, and then
# fails the UTF-8 check of what is written (those bytes never occur in UTF-8).
_ESCAPE_LEAD = ESCAPE[:1]
_ESCAPES = tuple((ESCAPE + bytes([code]), char) for code, char in zip(b"\xf8\xf9\xfa\xfb", (b",", b'"', b"\r", b"\n"), strict=True))


def _unescaped(data: bytes) -> bytes:
    """``data`` (lines, or one line) with its separators as commas and its escapes as their characters."""
    if _ESCAPE_LEAD in data:  # most chunks hold no escape: one test of a C loop
        for escaped, char in _ESCAPES:
            data = data.replace(escaped, char)
    return data.translate(_SEPARATORS)


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
        if data.count(SEPARATOR) != n * (self.width - 1):
            self._not_text(chunk)
        if b"," not in data and b'"' not in data and data.count(b"\r") == n and data.count(b"\n") == n:
            text = _unescaped(data)
        else:
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
