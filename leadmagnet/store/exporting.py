"""Export rows computed in SQL: every cell formatted, formula-neutralised and clipped by SQLite.

The export layer describes each column as a :class:`Cell` (a row field and how to write it: as
text, an ISO 8601 time, a mapped stage, a custom answer…); :mod:`leadmagnet.store.export_cells`
compiles them into one SELECT whose rows are the finished cells, streamed from one cursor in
chunks: :meth:`ExportQuery.chunks` gives a column per cell (JSON Lines, PostgreSQL),
:meth:`ExportQuery.csv_chunks` the CSV lines themselves (SQLite: :mod:`leadmagnet.store.export_lines`).
Nothing is done per cell in Python on the common path.

A contacts export with the default filters reads ``contact_summaries`` (each contact's non-spam
submissions summed up, kept by triggers: :mod:`leadmagnet.store.contact_summaries`) instead of
grouping every submission by contact, which cost more than all the cells together.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from leadmagnet.store.connection import Verbs
from leadmagnet.store.export_cells import (
    BUILTIN_ANSWERS,
    INT_FIELDS,
    LIST_FIELDS,
    TRIGGERS,
    Cell,
    Compiler,
    answers_decoder,
    clip_bytes,
    decoder,
    safe,
)
from leadmagnet.store.export_lines import CsvLines, line_sql
from leadmagnet.store.reports import STAGE_RANK, Filters

__all__ = [
    "BUILTIN_ANSWERS",
    "INT_FIELDS",
    "LIST_FIELDS",
    "STAGE_RANK",
    "TRIGGERS",
    "Cell",
    "ExportQuery",
    "Exporting",
    "answers_decoder",
    "clip_bytes",
    "decoder",
    "safe",
]

CONTACT_SOURCES = {
    **{f: f"c.{f}" for f in ("email", "first_name", "last_name", "company", "job_title", "phone", "country", "score", "lifecycle_stage")},
    **{f: f"c.{f}" for f in ("first_seen", "last_seen", "opt_in_status", "opt_in_at", "unsubscribed_at", "custom")},
    **{f: f"a.{f}" for f in ("offers", "tags", "submissions", "consent_at", "last_submission_id")},
    "stage": "a.stage_rank",
}
SUBMISSION_SOURCES = {
    **{
        f: f"s.{f}"
        for f in ("created_at", "offer_slug", "offer_type", "status", "tags", "stage", "consent_text", "consent_at", "referrer", "spam")
    },
    **{f: f"s.{f}" for f in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")},
    **{f: f"c.{f}" for f in ("email", "first_name", "last_name", "company", "job_title", "phone", "country")},
    **{f: f"c.{f}" for f in ("opt_in_status", "unsubscribed_at", "score", "lifecycle_stage")},
    "submission_id": "s.id",
    "last_submission_id": "s.id",
    "custom": "s.data",
}
Chunk = list[tuple[Any, ...]]
# CSV lines per chunk: a chunk of 250 contacts is about 50 kB, and each of its copies (the joined
# lines, the translated ones) stays under glibc malloc's 128 kB thresholds. At 1,000 (214 kB)
# every chunk grew and shrank the heap three times (6,600 brk calls and their page faults per
# million contacts, against 75): 0.3 s more system time for the same work.
LINES_PER_CHUNK = 250


class ExportQuery:
    """One export's rows: ``custom_fields`` (the custom answers they hold, sorted) known before the
    rows, and :meth:`chunks` (or :meth:`csv_chunks`) of finished cells. Reads submissions up to the
    newest at creation, so a lead committed meanwhile (with a key the header lacks) waits for the
    next run; from ``contact_summaries``, a contact whose first submission is older is exported as
    they stand when their row is read (see the module doc)."""

    serials = itertools.count(1)  # next() is atomic: threads never share a number

    def __init__(self, verbs: Verbs, kind: str, filters: Filters) -> None:
        self.db, self.kind, self.filters = verbs.db, kind, filters
        dialect = self.db.dialect
        self.postgres = dialect == "postgresql"
        self.last_id = last_id = int(self.db.value("SELECT coalesce(max(id), 0) FROM submissions"))
        if kind == "submissions":
            sub_where, params = filters.submission_where(dialect=dialect)
            self.where = f"{sub_where} AND {filters.contact_where('s.consent_at')} AND s.id <= ?"
            self.params = names_params = [*params, last_id]
            # Without the built-in answers (the email differs in every row) few texts are distinct: json_each reads each once.
            paths = ", ".join(f"'$.{name}'" for name in sorted(BUILTIN_ANSWERS))
            names_sql = (
                f"SELECT DISTINCT j.key FROM (SELECT DISTINCT json_remove(s.data, {paths}) AS answers"  # noqa: S608 - our fragments
                f" FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE {self.where}) AS u, json_each(u.answers) AS j ORDER BY j.key"
            )
            if self.postgres:
                names_sql = (
                    "SELECT DISTINCT jsonb_object_keys(u.answers) FROM (SELECT DISTINCT s.data::jsonb - ?::text[] AS answers"  # noqa: S608
                    f" FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE {self.where}) AS u"
                )
                names_params = [sorted(BUILTIN_ANSWERS), *self.params]
        else:
            sub_where, params = filters.submission_where(with_cursor=False, dialect=dialect)
            if filters.after_id or filters.confirmed_after:
                newer, newer_params = filters.submission_where("n", dialect=dialect)
                sub_where += f" AND s.contact_id IN (SELECT n.contact_id FROM submissions n WHERE {newer})"  # noqa: S608 - our fragments
                params += newer_params
            self.where, self.params = sub_where + " AND s.id <= ?", [*params, last_id]
            names_params = self.params
            # Each distinct answers text once through json_each: a million contacts share few key sets. EXISTS, not
            # IN: only a contact with answers looks up its submissions (IN listed every submission's contact first).
            names_sql = (
                "SELECT DISTINCT j.key FROM (SELECT DISTINCT c.custom FROM contacts c WHERE c.custom != '{}' AND EXISTS"  # noqa: S608
                f" (SELECT 1 FROM submissions s WHERE s.contact_id = c.id AND {self.where})) AS u, json_each(u.custom) AS j ORDER BY j.key"
            )
            if self.postgres:
                names_sql = (
                    "SELECT DISTINCT jsonb_object_keys(c.custom::jsonb) FROM contacts c WHERE c.custom != '{}'"  # noqa: S608 - our fragments
                    f" AND c.id IN (SELECT s.contact_id FROM submissions s WHERE {self.where})"
                )
        found = [row[0] for row in self.db.conn.execute(names_sql, names_params).fetchall()]
        # Sorted by code point, as SQLite's binary collation orders them (a PostgreSQL database's may not).
        self.custom_fields = tuple(sorted(found) if self.postgres else found)
        # Every non-spam submission counts: the contacts' summaries hold the grouping already.
        f = filters
        self.summarised = kind == "contacts"
        self.summarised &= not (f.after_id or f.confirmed_after or f.include_spam or f.offers or f.tag or f.since or f.until)

    def _reads_summaries(self, cursor: bool) -> bool:
        """Whether the rows come from ``contact_summaries`` (not with the cursor, whose submission
        id must be no newer than the header's)."""
        return self.summarised and not cursor

    def _from(self, select: str, cursor: bool) -> tuple[str, list[Any]]:
        """The SELECT of ``select`` (cell columns) for this export's rows, and its parameters."""
        if self.kind == "submissions":
            sql = f"SELECT {select}\nFROM submissions s JOIN contacts c ON c.id = s.contact_id\nWHERE {self.where}\nORDER BY s.id"
            return sql, list(self.params)
        if self._reads_summaries(cursor):
            # A contact whose first submission came after the header was read waits for the next run;
            # one who came back meanwhile is exported as they stand now, like their contact fields.
            # ORDER BY c.id: SQLite walks contacts by rowid for it (no sort); without it, a covering
            # index (the email's, for an email-only preset) could set the order.
            join = "JOIN" if self.postgres else "CROSS JOIN"  # SQLite: contacts stay the outer loop
            sql = (
                f"SELECT {select}\nFROM contacts c {join} contact_summaries a ON a.contact_id = c.id\n"
                f"WHERE a.first_submission_id <= ? AND {self.filters.contact_where()}\nORDER BY c.id"
            )
            return sql, [self.last_id]
        tags = ", group_concat(s.tags, char(31)) AS tags" if "a.tags" in select else ""  # only when a cell reads them
        # CROSS JOIN keeps the grouped submissions as the outer loop, which SQLite runs as a co-routine over
        # the submissions_contact index: rows stream out in contact id order (an ORDER BY made SQLite
        # materialise and sort every row first: 12 s before the first of 1,000,000 rows).
        sql = f"""SELECT {select}
FROM (
    SELECT s.contact_id, group_concat(s.offer_slug) AS offers{tags}, max({STAGE_RANK}) AS stage_rank,
           count(*) AS submissions, max(s.consent_at) AS consent_at, max(s.id) AS last_submission_id
    FROM submissions s WHERE {self.where} GROUP BY s.contact_id
) AS a CROSS JOIN contacts c ON c.id = a.contact_id
WHERE {self.filters.contact_where()}"""  # noqa: S608 - only our own fragments; values are parameters
        return sql, list(self.params)

    def query_params(self, cursor: bool = False) -> list[Any]:
        """The parameters of :meth:`sql` and :meth:`line_sql`."""
        return self._from("", cursor)[1]

    def _compiler(self, spreadsheet: bool, clip: int, line: bool = False) -> Compiler:
        sources = SUBMISSION_SOURCES if self.kind == "submissions" else CONTACT_SOURCES
        # Two exports at once on one connection (a download while a file is written) keep their own functions.
        return Compiler(sources, self.kind, spreadsheet, clip, f"lm_export_{next(ExportQuery.serials)}", line=line)

    def sql(self, cells: Sequence[Cell], spreadsheet: bool = False, clip: int = 0, cursor: bool = False) -> tuple[str, Compiler]:
        """The SELECT of finished cells (and the export cursor's submission id last, if ``cursor``)."""
        compiler = self._compiler(spreadsheet, clip)
        columns = [compiler.finish(*compiler.value(cell)) for cell in cells]
        if cursor:
            columns.append(compiler.raw("last_submission_id"))
        return self._from(",\n       ".join(columns) or "1", cursor)[0], compiler

    def line_sql(
        self, cells: Sequence[Cell], spreadsheet: bool = False, clip: int = 0, cursor: bool = False
    ) -> tuple[str, Compiler, list[int]]:
        """The SELECT of CSV line rows (see :mod:`leadmagnet.store.export_lines`), and the positions of
        the stored-field cells, which Python may have to quote."""
        compiler = self._compiler(spreadsheet, clip, line=True)
        fields = [compiler.line_value(cell) for cell in cells]
        columns = [line_sql([expr for expr, _plain in fields])]
        if cursor:
            columns.append(compiler.raw("last_submission_id"))
        return self._from(",\n       ".join(columns), cursor)[0], compiler, [i for i, (_expr, plain) in enumerate(fields) if plain]

    def chunks(
        self, cells: Sequence[Cell], spreadsheet: bool = False, clip: int = 0, cursor: bool = False, size: int = 1000
    ) -> Iterator[Chunk]:
        """The rows in chunks of ``size`` tuples of cell texts, streamed from one cursor."""
        if self.postgres:
            yield from self._pg_chunks(cells, spreadsheet, clip, cursor, size)
            return
        sql, compiler = self.sql(cells, spreadsheet, clip, cursor)
        yield from self._stream(sql, self.query_params(cursor), [compiler], size)

    def csv_chunks(
        self, cells: Sequence[Cell], spreadsheet: bool = False, clip: int = 0, cursor: bool = False, size: int = LINES_PER_CHUNK
    ) -> tuple[Iterator[Chunk], CsvLines] | None:
        """The rows as CSV line rows and the function that makes a chunk of them CSV text (each row
        carries the cursor's submission id last, if ``cursor``); None where cells are the way
        (PostgreSQL; a single column, whose empty cell ``csv.writer`` quotes)."""
        if self.postgres or len(cells) < 2:
            return None
        sql, compiler, plain = self.line_sql(cells, spreadsheet, clip, cursor)
        return self._stream(sql, self.query_params(cursor), [compiler], size), CsvLines(plain, len(cells))

    def _stream(self, sql: str, params: list[Any], compilers: Sequence[Compiler], size: int) -> Iterator[Chunk]:
        conn = self.db.conn
        functions = {name: spec for compiler in compilers for name, spec in compiler.functions.items()}
        for name, (nargs, fn) in functions.items():
            conn.create_function(name, nargs, fn, deterministic=True)
        try:
            rows = conn.cursor()
            rows.row_factory = None  # plain tuples
            rows.execute(sql, params)
            while chunk := rows.fetchmany(size):
                yield chunk
        finally:
            for name, (nargs, _fn) in functions.items():
                conn.create_function(name, nargs, None)  # the caches (and any personal data in them) go

    def _pg_chunks(self, cells: Sequence[Cell], spreadsheet: bool, clip: int, cursor: bool, size: int) -> Iterator[Chunk]:
        """PostgreSQL: the SELECT reads the cells' fields, Python writes the cells (store/pg_export.py)."""
        from leadmagnet.store import pg_export  # psycopg is imported only for PostgreSQL

        sources = SUBMISSION_SOURCES if self.kind == "submissions" else CONTACT_SOURCES
        select, write = pg_export.row_writer(sources, self.kind, cells, spreadsheet, clip, cursor)
        if self.kind == "contacts" and not self._reads_summaries(cursor):
            sql, params = pg_export.contacts_sql(select, self.where, self.filters.contact_where(), "a.tags" in select), self.params
        else:
            sql, params = self._from(select, cursor)
        yield from pg_export.stream(self.db, sql, params, write, size, f"lm_export_{next(ExportQuery.serials)}")


class Exporting(Verbs):
    """The export's rows as finished cells (see the module doc)."""

    def export_query(self, kind: str, filters: Filters) -> ExportQuery:
        return ExportQuery(self, kind, filters)
