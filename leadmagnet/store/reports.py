"""Store verbs for reading leads out: export rows, incremental export cursors, the admin's leads list.

Exports stream: the ``iter_*`` verbs yield one row at a time from a single SQLite cursor (one
consistent snapshot, never ``fetchall``), so memory stays flat at a million rows. The leads list
pages by keyset (``id < last seen id``), never OFFSET, so page 20,000 costs what page 1 does.
:class:`Filters` says which submissions count, the same for CLI exports, admin exports and the list.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from leadmagnet.store.connection import Verbs, utcnow
from leadmagnet.store.leads import CONTACT_FIELDS

# A submission's ``data`` holds every answer; these are the built-in ones (the rest are custom).
BUILTIN_ANSWERS = frozenset({"email", *CONTACT_FIELDS})
_BUILTIN_PATHS = ", ".join(f"'$.{name}'" for name in sorted(BUILTIN_ANSWERS))

STAGE_RANK = "CASE s.stage WHEN 'bofu' THEN 3 WHEN 'mofu' THEN 2 WHEN 'tofu' THEN 1 ELSE 0 END"
RANK_STAGE = {3: "bofu", 2: "mofu", 1: "tofu", 0: None}


@functools.lru_cache(maxsize=4096)
def _offer_list(joined: str | None) -> tuple[str, ...]:
    """``"b,a"`` -> ``["a", "b"]``. Cached: a million contacts share a handful of combinations."""
    return tuple(sorted(set(joined.split(",")))) if joined else ()  # deduplicated here: DISTINCT costs a b-tree per contact


@functools.lru_cache(maxsize=4096)
def _tag_list(joined: str | None) -> tuple[str, ...]:
    """The JSON tag lists of several submissions (joined by U+001F) as one list, first seen first."""
    tags: dict[str, None] = {}
    for chunk in (joined or "").split("\x1f"):
        for tag in json.loads(chunk or "[]"):
            tags[tag] = None
    return tuple(tags)


def _submission_answers(data: str | None) -> dict[str, Any]:
    """The custom answers of a submission's ``data`` (every answer but the built-in fields)."""
    return {k: v for k, v in json.loads(data or "{}").items() if k not in BUILTIN_ANSWERS}


class ExportRows(Iterator[dict[str, Any]]):
    """An export's rows, streamed, and ``custom_fields``: the names of the custom answers they hold.

    The names are read (sorted) before the first row, so a CSV header can list a column for each;
    each row's ``custom`` is a dict of its answers by field name (checkbox answers as booleans).
    """

    def __init__(self, rows: Iterator[dict[str, Any]], custom_fields: tuple[str, ...]) -> None:
        self.rows = rows
        self.custom_fields = custom_fields

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.rows  # a for loop runs the generator itself: nothing added per row

    def __next__(self) -> dict[str, Any]:
        return next(self.rows)


@dataclass(frozen=True)
class Filters:
    """Which submissions count: the same filters for CLI exports, admin exports and the leads list.

    ``since``/``until`` are ISO 8601 times compared with the submission's ``created_at``;
    ``after_id`` is an incremental export's cursor (only submissions with a larger id);
    ``confirmed_after`` (the time of the previous incremental run) also brings back submissions
    confirmed by double opt-in since then (their contact changed, and a ``--consented-only``
    export left them out while they were pending) or released from spam by an admin.
    """

    offers: tuple[str, ...] = ()
    tag: str | None = None
    since: str | None = None
    until: str | None = None
    include_spam: bool = False
    include_unsubscribed: bool = False
    consented_only: bool = False
    after_id: int = 0
    confirmed_after: str | None = None
    search: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def submission_where(self, alias: str = "s", with_cursor: bool = True) -> tuple[str, list[Any]]:
        """SQL conditions on submissions ``alias`` and their parameters."""
        where: list[str] = []
        params: list[Any] = []
        if with_cursor and self.confirmed_after:
            where.append(f"({alias}.id > ? OR {alias}.confirmed_at > ? OR {alias}.released_at > ?)")
            params += [self.after_id, self.confirmed_after, self.confirmed_after]
        elif with_cursor:
            where.append(f"{alias}.id > ?")
            params.append(self.after_id)
        if not self.include_spam:
            where.append(f"{alias}.spam = 0")
        if self.offers:
            where.append(f"{alias}.offer_slug IN ({', '.join('?' for _ in self.offers)})")
            params += list(self.offers)
        if self.tag:
            where.append(f"EXISTS (SELECT 1 FROM json_each({alias}.tags) WHERE json_each.value = ?)")  # noqa: S608 - alias is ours
            params.append(self.tag)
        if self.since:
            where.append(f"{alias}.created_at >= ?")
            params.append(self.since)
        if self.until:
            where.append(f"{alias}.created_at < ?")
            params.append(self.until)
        return " AND ".join(where) or "1 = 1", params

    def contact_where(self, consent: str = "a.consent_at") -> str:
        """SQL conditions on contacts ``c`` (and ``consent``: the submission's or aggregate's consent time)."""
        where = []
        if not self.include_unsubscribed:
            where.append("c.unsubscribed_at IS NULL")
        if self.consented_only:
            # Consent ticked on a form, not a double opt-in still waiting for its click, not withdrawn.
            where.append(f"{consent} IS NOT NULL AND c.opt_in_status NOT IN ('pending', 'unsubscribed')")
        return " AND ".join(where) or "1 = 1"


class Reports(Verbs):
    """Export rows (streamed), incremental export cursors, and the admin's leads list."""

    # -- exports ----------------------------------------------------------------------------

    def iter_contact_rows(self, filters: Filters) -> ExportRows:
        """One row per contact having a matching submission, in contact id order, streamed.

        ``offers``/``tags`` are tuples, ``stage`` the furthest funnel stage reached,
        ``last_submission_id`` the highest matching submission id (the incremental cursor),
        ``custom`` the contact's latest answer to each custom field (a later submission's answer
        replaces an earlier one). An incremental run (``after_id``) picks the contacts with a newer
        submission, but their row still sums up every matching submission: a CRM update must not
        forget older offers.
        """
        sub_where, params = self._contact_submissions(filters)
        # Each distinct answers text once through json_each: a million contacts share few key sets (4x faster).
        names = self.db.conn.execute(
            "SELECT DISTINCT j.key FROM (SELECT DISTINCT c.custom FROM contacts c WHERE c.custom != '{}'"  # noqa: S608 - our fragments
            f" AND c.id IN (SELECT s.contact_id FROM submissions s WHERE {sub_where})) AS u, json_each(u.custom) AS j ORDER BY j.key",
            params,
        ).fetchall()
        return ExportRows(self._contact_rows(filters, sub_where, params), tuple(row[0] for row in names))

    def _contact_submissions(self, filters: Filters) -> tuple[str, list[Any]]:
        """The conditions on the submissions ``s`` a contacts export sums up."""
        sub_where, params = filters.submission_where(with_cursor=False)
        if filters.after_id or filters.confirmed_after:
            newer, newer_params = filters.submission_where("n")
            sub_where += f" AND s.contact_id IN (SELECT n.contact_id FROM submissions n WHERE {newer})"  # noqa: S608 - our fragments
            params += newer_params
        return sub_where + " AND s.id <= ?", [*params, self._last_id()]

    def _last_id(self) -> int:
        """The newest submission now: an export reads up to it, so a lead committed between reading
        the custom field names and the rows (a key the header lacks) waits for the next run."""
        return int(self.db.value("SELECT coalesce(max(id), 0) FROM submissions"))

    def _contact_rows(self, filters: Filters, sub_where: str, params: list[Any]) -> Iterator[dict[str, Any]]:
        sql = f"""
            SELECT c.id, c.email, c.first_name, c.last_name, c.company, c.job_title, c.phone, c.country,
                   c.first_seen, c.last_seen, c.opt_in_status, c.opt_in_at, c.unsubscribed_at, c.custom,
                   c.score, c.lifecycle_stage,
                   a.offers, a.tags, a.stage_rank, a.submissions, a.consent_at, a.last_submission_id
            FROM (
                SELECT s.contact_id, group_concat(s.offer_slug) AS offers,
                       group_concat(s.tags, char(31)) AS tags, max({STAGE_RANK}) AS stage_rank,
                       count(*) AS submissions, max(s.consent_at) AS consent_at, max(s.id) AS last_submission_id
                FROM submissions s WHERE {sub_where} GROUP BY s.contact_id
            ) AS a CROSS JOIN contacts c ON c.id = a.contact_id
            WHERE {filters.contact_where()}
        """  # noqa: S608 - only our own fragments; values are parameters
        # Streaming on purpose: CROSS JOIN keeps the grouped submissions as the outer loop, which
        # SQLite runs as a co-routine over the submissions_contact index, so rows come out one by
        # one in contact id order. An ORDER BY here made SQLite materialise and sort every row
        # first (12 s before the first of 1,000,000 rows, against 0.06 s without).
        cursor = self.db.conn.cursor()
        cursor.row_factory = None  # plain tuples: zip with the names is cheaper than sqlite3.Row
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        # Answers texts decoded once per export (most contacts share a few): a cache local to this
        # export, bounded, so neither memory nor an erased person's answers outlive it.
        decoded: dict[str, dict[str, Any]] = {}
        for values in cursor:
            item = dict(zip(names, values, strict=True))
            item["offers"] = _offer_list(item["offers"])
            item["tags"] = _tag_list(item.pop("tags"))
            item["stage"] = RANK_STAGE.get(item.pop("stage_rank") or 0)
            text = item["custom"] or "{}"
            answers = decoded.get(text)
            if answers is None:
                answers = json.loads(text)
                if len(decoded) < 4096:
                    decoded[text] = answers
            item["custom"] = answers  # shared between rows: read-only
            yield item

    def iter_submission_rows(self, filters: Filters) -> ExportRows:
        """One row per matching submission with its contact's details, in id order, streamed.

        ``custom`` holds the submission's own answers to the offer's custom fields, as given.
        """
        sub_where, params = filters.submission_where()
        where = f"{sub_where} AND {filters.contact_where('s.consent_at')} AND s.id <= ?"
        params.append(self._last_id())
        # Without the built-in answers (the email differs in every row) few texts are distinct: json_each
        # reads each once (2x faster than json_each over every submission).
        names = self.db.conn.execute(
            f"SELECT DISTINCT j.key FROM (SELECT DISTINCT json_remove(s.data, {_BUILTIN_PATHS}) AS answers"  # noqa: S608 - our fragments
            f" FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE {where}) AS u, json_each(u.answers) AS j ORDER BY j.key",
            params,
        ).fetchall()
        return ExportRows(self._submission_rows(where, params), tuple(row[0] for row in names))

    def _submission_rows(self, where: str, params: list[Any]) -> Iterator[dict[str, Any]]:
        sql = f"""
            SELECT s.id AS submission_id, s.created_at, s.offer_slug, s.offer_type, s.status, c.email,
                   c.first_name, c.last_name, c.company, c.job_title, c.phone, c.country, s.tags, s.stage,
                   s.consent_text, s.consent_at, s.utm_source, s.utm_medium, s.utm_campaign, s.utm_term,
                   s.utm_content, s.referrer, s.spam, c.opt_in_status, c.unsubscribed_at, c.score, c.lifecycle_stage, s.data
            FROM submissions s JOIN contacts c ON c.id = s.contact_id
            WHERE {where}
            ORDER BY s.id
        """  # noqa: S608 - only our own fragments; values are parameters
        for row in self.db.conn.execute(sql, params):
            item = dict(row)
            item["tags"] = json.loads(item["tags"] or "[]")
            item["custom"] = _submission_answers(item.pop("data"))
            item["last_submission_id"] = item["submission_id"]
            yield item

    def count_export_rows(self, kind: str, filters: Filters) -> int:
        """How many rows an export with these filters writes (for a progress bar)."""
        sub_where, params = filters.submission_where()
        if kind == "submissions":
            sql = f"SELECT count(*) FROM submissions s JOIN contacts c ON c.id = s.contact_id WHERE {sub_where} AND {filters.contact_where('s.consent_at')}"  # noqa: S608
        else:
            sql = (
                f"SELECT count(*) FROM (SELECT s.contact_id, max(s.consent_at) AS consent_at FROM submissions s"  # noqa: S608
                f" WHERE {sub_where} GROUP BY s.contact_id) a JOIN contacts c ON c.id = a.contact_id WHERE {filters.contact_where()}"
            )
        return int(self.db.value(sql, params))

    def get_export_cursor(self, name: str) -> int:
        """The last submission id exported by incremental export ``name`` (0 if never run)."""
        return int(self.db.value("SELECT last_id FROM export_cursors WHERE name = ?", (name,)) or 0)

    def get_export_cursor_time(self, name: str) -> str | None:
        """When the rows of incremental export ``name``'s last run were read (None if never run)."""
        return self.db.value("SELECT updated_at FROM export_cursors WHERE name = ?", (name,))

    def save_export_cursor(self, name: str, last_id: int, as_of: str | None = None) -> None:
        """Remember ``last_id`` and ``as_of`` (when the rows were read) for ``name``.

        Called only once the export file is safely on disk. ``updated_at`` holds ``as_of``: the
        next run also exports submissions confirmed after it.
        """
        with self.db.writing() as conn:
            conn.execute(
                "INSERT INTO export_cursors (name, last_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET last_id = max(last_id, excluded.last_id), updated_at = excluded.updated_at",
                (name, last_id, as_of or utcnow()),
            )

    def max_submission_id(self) -> int:
        return int(self.db.value("SELECT coalesce(max(id), 0) FROM submissions"))

    # -- leads list (keyset) -----------------------------------------------------------------

    def list_leads(
        self, filters: Filters, before_id: int | None = None, limit: int = 50, by_score: bool = False, below_score: int | None = None
    ) -> list[dict[str, Any]]:
        """Newest non-spam submissions first (``by_score``: highest contact score first), ``limit`` at a time, with their contact.

        Keyset pagination: the next page passes the last row's id as ``before_id`` (and, sorted
        by score, its score as ``below_score``); the index finds the spot directly however deep
        the page is (OFFSET would count past every earlier row). ``filters.search`` matches
        email, first/last name and company.
        """
        sub_where, params = filters.submission_where()
        where = [sub_where, filters.contact_where("s.consent_at")]
        if by_score and before_id is not None and below_score is not None:
            where.append("(c.score < ? OR (c.score = ? AND s.id < ?))")
            params += [below_score, below_score, before_id]
        elif before_id is not None:
            where.append("s.id < ?")
            params.append(before_id)
        if filters.search:
            like = "%" + filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(c.email LIKE ? ESCAPE '\\' OR c.first_name LIKE ? ESCAPE '\\' OR c.last_name LIKE ? ESCAPE '\\'"
                " OR c.company LIKE ? ESCAPE '\\' OR (c.first_name || ' ' || c.last_name) LIKE ? ESCAPE '\\')"
            )
            params += [like] * 5
        sql = (
            "SELECT s.id, s.created_at, s.offer_slug, s.status, s.utm_source, s.tags, c.id AS contact_id, c.email,"  # noqa: S608
            " c.first_name, c.last_name, c.company, c.score, c.lifecycle_stage FROM submissions s JOIN contacts c ON c.id = s.contact_id"
            f" WHERE {' AND '.join(where)} ORDER BY {'c.score DESC, ' if by_score else ''}s.id DESC LIMIT ?"
        )
        params.append(limit)
        rows = []
        for row in self.db.conn.execute(sql, params):
            item = dict(row)
            item["tags"] = json.loads(item["tags"] or "[]")
            rows.append(item)
        return rows
