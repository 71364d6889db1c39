"""Export rows computed in SQL: every cell formatted, formula-neutralised and clipped by SQLite.

The export layer describes each column as a :class:`Cell` (a row field and how to write it: as
text, an ISO 8601 time, a mapped stage, a custom answer…); :meth:`ExportQuery.chunks` compiles
them into one SELECT whose rows are the finished cells, streamed from one cursor in chunks that
go straight to ``csv.writer.writerows``. Nothing is done per row in Python on the common path.

Where SQLite cannot give the same text as the Python writers (a time in another zone, a float
answer, a country name, a contact's several offers), the SQL calls a Python function registered
for this export, cached for this export only (erased people's data does not outlive it): the
cell's text is the Python writer's, byte for byte.

Formula neutralising (see ``leadmagnet.export.formats.neutralise``) is a CASE on the first
character: ``= + - @`` tab or CR gets a leading apostrophe, except a plain number (a sign, then only
digits, spaces and ``( ) + - . /``) in a file for an importer. Columns whose every possible text is
known and safe (a mapped stage, a constant) skip it.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadmagnet.store.connection import Verbs
from leadmagnet.store.reports import BUILTIN_ANSWERS, RANK_STAGE, STAGE_RANK, Filters

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Python's str.strip() whitespace, for trim() in the "required" cells.
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
INT_FIELDS = frozenset({"score", "submissions", "submission_id", "spam"})
LIST_FIELDS = frozenset({"offers", "tags"})


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


class _Compiler:
    """Builds the cell expressions of one query; collects the Python functions they call."""

    def __init__(self, fields: Mapping[str, str], kind: str, spreadsheet: bool, clip: int, prefix: str) -> None:
        self.fields, self.kind, self.spreadsheet, self.clip, self.prefix = fields, kind, spreadsheet, clip, prefix
        self.functions: dict[str, tuple[int, Callable[..., Any]]] = {}

    def function(self, fn: Callable[..., Any], nargs: int) -> str:
        name = f"{self.prefix}_{len(self.functions)}"
        self.functions[name] = (nargs, functools.lru_cache(maxsize=4096)(fn))
        return name

    def raw(self, field: str) -> str:
        return self.fields.get(field, "NULL")

    def decoder(self, field: str) -> Callable[[Any], Any]:
        return decoder(field, self.kind)

    def text(self, field: str) -> str:
        raw = self.raw(field)
        if field in INT_FIELDS:
            return f"coalesce(CAST({raw} AS TEXT), '')"
        if field == "offers":
            joined = self.function(lambda r: ", ".join(_offer_list(r)), 1)
            return f"CASE WHEN a.submissions = 1 THEN {raw} ELSE {joined}({raw}) END"
        if field == "tags":
            decode = self.decoder("tags")
            joined = self.function(lambda r: ", ".join(str(t) for t in decode(r)), 1)
            return f"CASE WHEN {raw} = '[]' THEN '' ELSE {joined}({raw}) END"  # cached: few distinct lists
        if field == "stage" and self.kind == "contacts":
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

        name = self.function(call, 4)
        extra = ", ".join(self.raw(f) for f in ("lifecycle_stage", "unsubscribed_at", "offer_slug"))
        return f"{name}({self.raw(cell.field)}, {extra})"

    def value(self, cell: Cell) -> tuple[str, bool]:
        """The cell's SQL expression (text, never NULL) and whether it can need neutralising."""
        kind, field, raw = cell.kind, cell.field, self.raw(cell.field)
        plain_text = field not in INT_FIELDS and field not in LIST_FIELDS and not (field == "stage" and self.kind == "contacts")
        if kind == "text":
            return self.text(field), not (field == "stage" and self.kind == "contacts")  # a stage's name is ours
        if kind in ("iso", "date") and plain_text and cell.python is not None:
            write = cell.python
            slow = self.function(lambda raw: write(raw, {}), 1)  # another zone, no zone, not a time: Python's text
            fast = f"substr({raw}, 1, 19) || 'Z'" if kind == "iso" else f"substr({raw}, 1, 10)"
            # The store's own UTC text, starting with a digit: its cell starts with that digit, nothing to neutralise.
            own = f"substr({raw}, 27) = '+00:00' AND length({raw}) = 32 AND {raw} >= '0' AND {raw} < ':'"
            return (
                f"CASE WHEN {own} THEN {fast} WHEN {raw} IS NULL OR {raw} = '' THEN '' ELSE {self.neutralise(f'{slow}({raw})')} END",
                False,
            )
        if kind == "required" and plain_text:
            return f"coalesce(nullif(trim(coalesce({raw}, ''), {_lit(WHITESPACE)}), ''), {_lit(cell.default)})", True
        if kind == "truthy" and field not in LIST_FIELDS and not (field == "stage" and self.kind == "contacts"):
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
            return self.answer(cell), True
        if cell.python is None:
            raise ValueError(f"export cell {field!r} of kind {kind!r} needs a Python writer")
        return self.python(cell), True

    def answer(self, cell: Cell) -> str:
        """A custom answer read from the answers JSON: text and integers (labelled), checkboxes in SQL."""
        if self.kind == "submissions" and cell.field in BUILTIN_ANSWERS:
            return "''"
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
        return (
            f"CASE WHEN {source} = '{{}}' THEN '' ELSE CASE json_type({source}, {path}) WHEN 'text' THEN {labelled}"
            f" WHEN 'integer' THEN {labelled} WHEN 'true' THEN {_lit(cell.yes)} WHEN 'false' THEN {_lit(cell.no)}"
            f" WHEN 'null' THEN '' WHEN 'real' THEN {fallback}({source}, {slug}) WHEN 'array' THEN {fallback}({source}, {slug})"
            f" WHEN 'object' THEN {fallback}({source}, {slug}) ELSE '' END END"
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
        comparison; the others read their first character once (CASE x WHEN).
        """
        inert = f"'''' || {expr}"
        # A plain number (a phone number) stays as typed for an importer, not for a spreadsheet.
        sign = inert if self.spreadsheet else f"CASE WHEN substr({expr}, 2) GLOB '*[^-0-9 ()+./]*' THEN {inert} ELSE {expr} END"
        return (
            f"CASE WHEN {expr} >= 'A' THEN {expr} ELSE CASE unicode({expr}) WHEN 61 THEN {inert} WHEN 64 THEN {inert}"
            f" WHEN 9 THEN {inert} WHEN 13 THEN {inert} WHEN 43 THEN {sign} WHEN 45 THEN {sign} ELSE {expr} END END"
        )


def clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


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


class ExportQuery:
    """One export's rows: ``custom_fields`` (the custom answers they hold, sorted) known before the
    rows, and :meth:`chunks` of finished cells. Reads submissions up to the newest at creation, so a
    lead committed meanwhile (with a key the header lacks) waits for the next run."""

    serials = itertools.count(1)  # next() is atomic: threads never share a number

    def __init__(self, verbs: Verbs, kind: str, filters: Filters) -> None:
        self.db, self.kind, self.filters = verbs.db, kind, filters
        dialect = self.db.dialect
        self.postgres = dialect == "postgresql"
        last_id = int(self.db.value("SELECT coalesce(max(id), 0) FROM submissions"))
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
            # Each distinct answers text once through json_each: a million contacts share few key sets.
            names_sql = (
                "SELECT DISTINCT j.key FROM (SELECT DISTINCT c.custom FROM contacts c WHERE c.custom != '{}'"  # noqa: S608 - our fragments
                f" AND c.id IN (SELECT s.contact_id FROM submissions s WHERE {self.where})) AS u, json_each(u.custom) AS j ORDER BY j.key"
            )
            if self.postgres:
                names_sql = (
                    "SELECT DISTINCT jsonb_object_keys(c.custom::jsonb) FROM contacts c WHERE c.custom != '{}'"  # noqa: S608 - our fragments
                    f" AND c.id IN (SELECT s.contact_id FROM submissions s WHERE {self.where})"
                )
        found = [row[0] for row in self.db.conn.execute(names_sql, names_params).fetchall()]
        # Sorted by code point, as SQLite's binary collation orders them (a PostgreSQL database's may not).
        self.custom_fields = tuple(sorted(found) if self.postgres else found)

    def sql(self, cells: Sequence[Cell], spreadsheet: bool = False, clip: int = 0, cursor: bool = False) -> tuple[str, _Compiler]:
        """The SELECT of finished cells (and the export cursor's submission id last, if ``cursor``)."""
        sources = SUBMISSION_SOURCES if self.kind == "submissions" else CONTACT_SOURCES
        # Two exports at once on one connection (a download while a file is written) keep their own functions.
        compiler = _Compiler(sources, self.kind, spreadsheet, clip, f"lm_export_{next(ExportQuery.serials)}")
        columns = [compiler.finish(*compiler.value(cell)) for cell in cells]
        if cursor:
            columns.append(sources["last_submission_id"])
        select = ",\n       ".join(columns) or "1"
        if self.kind == "submissions":
            sql = f"SELECT {select}\nFROM submissions s JOIN contacts c ON c.id = s.contact_id\nWHERE {self.where}\nORDER BY s.id"
            return sql, compiler
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
        return sql, compiler

    def chunks(
        self, cells: Sequence[Cell], spreadsheet: bool = False, clip: int = 0, cursor: bool = False, size: int = 1000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows in chunks of ``size`` tuples of cell texts, streamed from one cursor."""
        if self.postgres:
            yield from self._pg_chunks(cells, spreadsheet, clip, cursor, size)
            return
        sql, compiler = self.sql(cells, spreadsheet, clip, cursor)
        conn = self.db.conn
        for name, (nargs, fn) in compiler.functions.items():
            conn.create_function(name, nargs, fn, deterministic=True)
        try:
            rows = conn.cursor()
            rows.row_factory = None  # plain tuples, straight to csv.writer
            rows.execute(sql, self.params)
            while chunk := rows.fetchmany(size):
                yield chunk
        finally:
            for name, (nargs, _fn) in compiler.functions.items():
                conn.create_function(name, nargs, None)  # the caches (and any personal data in them) go

    def _pg_chunks(self, cells: Sequence[Cell], spreadsheet: bool, clip: int, cursor: bool, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """PostgreSQL: the SELECT reads the cells' fields, Python writes the cells (store/pg_export.py)."""
        from leadmagnet.store import pg_export  # psycopg is imported only for PostgreSQL

        sources = SUBMISSION_SOURCES if self.kind == "submissions" else CONTACT_SOURCES
        select, write = pg_export.row_writer(sources, self.kind, cells, spreadsheet, clip, cursor)
        if self.kind == "submissions":
            sql = f"SELECT {select} FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE {self.where} ORDER BY s.id"  # noqa: S608
        else:
            sql = pg_export.contacts_sql(select, self.where, self.filters.contact_where(), "a.tags" in select)
        yield from pg_export.stream(self.db, sql, self.params, write, size, f"lm_export_{next(ExportQuery.serials)}")


class Exporting(Verbs):
    """The export's rows as finished cells (see the module doc)."""

    def export_query(self, kind: str, filters: Filters) -> ExportQuery:
        return ExportQuery(self, kind, filters)
