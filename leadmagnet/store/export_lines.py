"""CSV lines written by SQLite: one ``printf`` per row, quoted by Python only where a cell needs it.

A row of the SELECT is ``(line[, cursor])``: ``line`` is the row's finished cells as UTF-8 bytes,
separated by 0xFF (see :mod:`leadmagnet.store.export_cells` for the three sorts of cell), where a
finished field's own ``, " CR LF`` are 0xFE 0xFD then one of 0xF8-0xFB (an escape). No stored
text holds those bytes (they never occur in UTF-8), so every ``, " CR LF`` left in a line belongs
to a stored field's cell, which ``csv.writer`` would quote. :class:`CsvLines` makes a chunk of such
rows CSV text exactly as ``csv.writer`` (QUOTE_MINIMAL, comma, CRLF) writes the cells:

* a chunk whose lines hold none of them (most chunks) is one ``join`` and one ``translate`` (the
  separators to commas, the escaped bytes back), C loops over the chunk's bytes;
* otherwise each of its rows is looked at, and the stored-field cells holding one are quoted.

Every chunk is checked: it must hold one separator fewer than cells per row, every 0xF8-0xFD
byte must be part of an escape, and it must be UTF-8 once the separators and escapes are mapped
back. A value written into the database by another program as some other encoding (Latin-1, say)
stops the export with :class:`StoredTextError`, naming the row, as reading it into Python did
before: a lone ``ø ù ú û ý`` or ``þ`` then one of ``ø ù ú û`` ("Søren", "þú") included. Only the
exact Latin-1 sequence ``þý`` then one of ``ø ù ú û``, which no language writes, would pass as an
escape.

``printf``'s ``%s`` ends a text at a NUL character: a stored value holding one (the forms drop
every control character; only a value written some other way can) loses what follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadmagnet.store.export_cells import ESCAPE, SEPARATOR

MAX_ARGS = 100  # SQLite's functions take at most 127 arguments: a longer line nests its printf
# Back to CSV: separators to commas, escapes to their characters (ESCAPE's bytes are deleted).
_UNESCAPED = bytes.maketrans(b"\xff\xf8\xf9\xfa\xfb", b',,"\r\n')
# For the check of a chunk holding escapes: an escape becomes a three-byte UTF-8 character (0xE3,
# then two continuation bytes); a lone 0xF8-0xFB or 0xFD becomes a continuation byte with no lead,
# and a 0xFE not followed by 0xFD and one of them a lead without its continuations: all fail UTF-8
# decoding, as any other stray byte does.
_CHECKED = bytes.maketrans(b"\xfe\xfd\xf8\xf9\xfa\xfb\xff", b"\xe3\x80\x80\x81\x82\x83,")
_ESCAPE_BYTES = (b"\xfd", b"\xf8", b"\xf9", b"\xfa", b"\xfb")


def _escapes_whole(data: bytes) -> bool:
    """Every 0xF8-0xFD byte of ``data`` (lines, or one line) is part of an escape.

    Without any escape (most chunks) that is a few ``in`` tests, microseconds for 1,000 lines;
    with escapes, a ``translate`` and a decode (0.1 ms). Other stray bytes are left to the UTF-8
    check of what is written.
    """
    if b"\xfe" not in data:
        return not any(byte in data for byte in _ESCAPE_BYTES)
    try:
        data.translate(_CHECKED).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
        if not _escapes_whole(data):  # a stray 0xF8-0xFB would read as one of , " CR LF
            self._not_text(chunk)
        if b"," not in data and b'"' not in data and data.count(b"\r") == n and data.count(b"\n") == n:
            text = data.translate(_UNESCAPED, ESCAPE)
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
        return (b",".join(cells) + b"\r\n").translate(_UNESCAPED, ESCAPE)

    def _not_text(self, chunk: Sequence[tuple[Any, ...]]) -> None:
        """Raise :class:`StoredTextError` naming the first row of ``chunk`` that is not text."""
        for row in chunk:
            line = row[0]
            try:
                line.translate(_UNESCAPED, ESCAPE).decode("utf-8")
                if line.count(SEPARATOR) == self.width - 1 and _escapes_whole(line):
                    continue
            except UnicodeDecodeError:
                pass
            shown = line.split(SEPARATOR)[0].decode("utf-8", "replace")
            raise StoredTextError(
                f"the database holds a value that is not UTF-8 text, in the row that starts {shown!r}: another program"
                " wrote it (in another encoding?); correct it, e.g. with the sqlite3 shell, then export again"
            )
        raise StoredTextError("the database holds a value that is not UTF-8 text; another program wrote it")
