"""Export rows on PostgreSQL: the cells SQLite's SELECT writes (store/exporting.py), written in Python.

On SQLite every cell is computed in the SELECT, which calls Python functions registered on the
connection for what SQL cannot say. PostgreSQL cannot call into this process, so here the SELECT
reads each source field a cell needs once (the same joins, filters and per-contact aggregates),
and :func:`row_writer` writes the cells from them by the same rules, branch for branch, as
:meth:`~leadmagnet.store.exporting._Compiler.value`: the same text, the same formula neutralising,
the same clipping, byte for byte (tests/test_exporting.py's recorded bytes, on both backends).

The rows stream from a server-side cursor on a connection of their own (taken from the pool for
the export's length), so a million rows never sit in memory and two exports at once never share
a cursor. Python functions are cached per export, like SQLite's registered ones.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from leadmagnet.store.exporting import (
    BUILTIN_ANSWERS,
    INT_FIELDS,
    LIST_FIELDS,
    STAGE_RANK,
    TRIGGERS,
    Cell,
    answers_decoder,
    clip_bytes,
    decoder,
    safe,
)
from leadmagnet.store.postgres import PgConnection, pg_sql, translated

Writer = Callable[[tuple[Any, ...]], str]
# A plain number (a sign, then only digits, spaces and ( ) + - . /): SQLite's GLOB test, as a regex.
_ARITHMETIC = re.compile(r"[+-][0-9 ()+\-./]*")
_ROW_FIELDS = ("lifecycle_stage", "unsubscribed_at", "offer_slug")


def neutralise(text: str, spreadsheet: bool) -> str:
    """A leading apostrophe where ``text`` starts with a formula trigger (a plain number kept for an importer)."""
    if text and text[0] in TRIGGERS and (spreadsheet or not _ARITHMETIC.fullmatch(text)):
        return "'" + text
    return text


def as_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def contacts_sql(select: str, where: str, contact_where: str, with_tags: bool) -> str:
    """The contacts export's SELECT on PostgreSQL: one row per contact, in contact id order."""
    tags = ", string_agg(s.tags, chr(31) ORDER BY s.id) AS tags" if with_tags else ""
    return f"""SELECT {select}
FROM (
    SELECT s.contact_id, string_agg(s.offer_slug, ',') AS offers{tags}, max({STAGE_RANK}) AS stage_rank,
           count(*) AS submissions, max(s.consent_at) AS consent_at, max(s.id) AS last_submission_id
    FROM submissions s WHERE {where} GROUP BY s.contact_id
) AS a JOIN contacts c ON c.id = a.contact_id
WHERE {contact_where}
ORDER BY a.contact_id"""  # noqa: S608 - only our own fragments; values are parameters


class RowWriter:
    """The source fields one export reads, and the function that turns them into its cells."""

    def __init__(self, sources: Mapping[str, str], kind: str, spreadsheet: bool, clip: int) -> None:
        self.sources, self.kind, self.spreadsheet, self.clip = sources, kind, spreadsheet, clip
        self.fields: list[str] = []  # the SELECT's columns, by field name

    def column(self, field: str) -> int | None:
        """The index of ``field`` in the SELECT (added on first use); None when the kind has no such field."""
        if field not in self.sources:
            return None
        if field not in self.fields:
            self.fields.append(field)
        return self.fields.index(field)

    def getter(self, field: str) -> Callable[[tuple[Any, ...]], Any]:
        index = self.column(field)
        return (lambda row: None) if index is None else (lambda row: row[index])

    def select(self) -> str:
        return ", ".join(self.sources[f] for f in self.fields) or "1"

    def contacts_stage(self, field: str) -> bool:
        return field == "stage" and self.kind == "contacts"

    def text(self, field: str) -> Writer:
        get, decode = self.getter(field), decoder(field, self.kind)
        if field in INT_FIELDS:
            return lambda row: "" if (v := get(row)) is None else str(v)
        if field in LIST_FIELDS or self.contacts_stage(field):
            return lambda row: as_text(decode(get(row)))
        return lambda row: as_text(get(row))

    def python(self, cell: Cell) -> Writer:
        """``cell.python(value, row)`` with the row fields the CRM formats read, cached per export."""
        write, field, decode = cell.python, cell.field, decoder(cell.field, self.kind)
        assert write is not None
        raw, stage, unsubscribed, slug = (self.getter(f) for f in (field, *_ROW_FIELDS))

        @functools.lru_cache(maxsize=4096)
        def call(value: Any, stage: Any, unsubscribed: Any, slug: Any) -> str:
            found = decode(value)
            return write(found, {field: found, "lifecycle_stage": stage, "unsubscribed_at": unsubscribed, "offer_slug": slug})

        return lambda row: call(raw(row), stage(row), unsubscribed(row), slug(row))

    def value(self, cell: Cell) -> tuple[Writer, bool]:
        """The cell's writer and whether its text can need neutralising (as ``_Compiler.value``)."""
        kind, field = cell.kind, cell.field
        get = self.getter(field)
        plain_text = field not in INT_FIELDS and field not in LIST_FIELDS and not self.contacts_stage(field)
        if kind == "text":
            return self.text(field), not self.contacts_stage(field)
        if kind in ("iso", "date") and plain_text and cell.python is not None:
            write, spreadsheet = cell.python, self.spreadsheet

            @functools.lru_cache(maxsize=4096)
            def moment(raw: Any) -> str:
                return "" if raw is None or raw == "" else neutralise(write(raw, {}), spreadsheet)

            return (lambda row: moment(get(row))), False
        if kind == "required" and plain_text:
            default = cell.default
            return (lambda row: as_text(get(row)).strip() or default), True
        if kind == "truthy" and field not in LIST_FIELDS and not self.contacts_stage(field):
            yes, no = cell.yes, cell.no
            return (lambda row: yes if get(row) else no), not safe(yes, no)
        if kind == "map" and plain_text:
            table, default = dict(cell.values), cell.default
            return (lambda row: table.get(get(row), default)), not safe(default, *table.values())
        if kind == "status":
            (_, closed), (_, working), (_, other) = cell.values
            unsubscribed, stage = self.getter("unsubscribed_at"), self.getter("lifecycle_stage")
            return (lambda row: closed if unsubscribed(row) else working if stage(row) == "sql" else other), not safe(
                closed, working, other
            )
        if kind == "constant":
            return (lambda row: cell.default), not safe(cell.default)
        if kind == "answer":
            return self.answer(cell), True
        if cell.python is None:
            raise ValueError(f"export cell {field!r} of kind {kind!r} needs a Python writer")
        return self.python(cell), True

    def answer(self, cell: Cell) -> Writer:
        """A custom answer: text and integers labelled, checkboxes yes/no, other JSON through ``cell.python``."""
        if self.kind == "submissions" and cell.field in BUILTIN_ANSWERS:
            return lambda row: ""
        source, slug = self.getter("custom"), self.getter("offer_slug")
        name, yes, no, merged = cell.field, cell.yes, cell.no, dict(cell.values)
        by_offer = {s: dict(v) for s, v in cell.by_offer} if self.kind == "submissions" else {}
        write, answers = cell.python, self.answers()
        assert write is not None

        def label(text: str, offer: Any) -> str:
            return by_offer.get(offer, merged).get(text, text)

        def cell_text(row: tuple[Any, ...]) -> str:
            raw = source(row)
            if raw is None or raw == "{}":
                return ""
            found = json.loads(raw).get(name) if isinstance(raw, str) else None
            if found is None:
                return ""
            if found is True:
                return yes
            if found is False:
                return no
            if type(found) is str:
                return label(found, slug(row))
            if type(found) is int:
                return label(str(found), slug(row))
            return write(answers(raw), slug(row))

        return cell_text

    def answers(self) -> Callable[[str], dict[str, Any]]:
        return answers_decoder(self.kind)

    def finish(self, write: Writer, risky: bool) -> Writer:
        """Neutralise formula triggers (when the text can start with one), then clip to bytes."""
        spreadsheet, clip = self.spreadsheet, self.clip
        if risky:
            inner = write
            write = lambda row: neutralise(inner(row), spreadsheet)  # noqa: E731
        if clip:
            plain = write
            write = lambda row: clip_bytes(plain(row), clip)  # noqa: E731
        return write


def row_writer(
    sources: Mapping[str, str], kind: str, cells: Sequence[Cell], spreadsheet: bool, clip: int, cursor: bool
) -> tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]:
    """The SELECT list of the source fields ``cells`` read, and the function writing a row's cells."""
    writer = RowWriter(sources, kind, spreadsheet, clip)
    writers = [writer.finish(*writer.value(cell)) for cell in cells]
    if cursor:
        last = writer.getter("last_submission_id")
        writers.append(last)  # the export cursor's submission id, last, as a number
    return writer.select(), lambda row: tuple(w(row) for w in writers)


def stream(
    db: PgConnection, sql: str, params: Sequence[Any], write: Callable[[tuple[Any, ...]], tuple[Any, ...]], size: int, name: str
) -> Iterator[list[tuple[Any, ...]]]:
    """``sql``'s rows, written by ``write``, in chunks of ``size``: a server-side cursor on a connection of its own."""
    try:
        with db.pool.connection() as conn, conn.transaction():
            rows = conn.cursor(name=name, row_factory=tuple_row)
            rows.execute(pg_sql(sql), list(params))
            while chunk := rows.fetchmany(size):
                yield [write(row) for row in chunk]
            rows.close()
    except psycopg.Error as exc:
        raise translated(exc) from exc
