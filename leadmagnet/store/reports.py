"""Store verbs for reading leads out: export filters, counts and incremental cursors, the admin's leads list.

The export rows themselves are computed in SQL by :mod:`leadmagnet.store.exporting`. The leads list
pages by keyset (``id < last seen id``), never OFFSET, so page 20,000 costs what page 1 does.
:class:`Filters` says which submissions count, the same for CLI exports, admin exports and the list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leadmagnet.store.connection import Verbs, utcnow
from leadmagnet.store.leads import CONTACT_FIELDS

# A submission's ``data`` holds every answer; these are the built-in ones (the rest are custom).
BUILTIN_ANSWERS = frozenset({"email", *CONTACT_FIELDS})
_BUILTIN_PATHS = ", ".join(f"'$.{name}'" for name in sorted(BUILTIN_ANSWERS))

STAGE_RANK = "CASE s.stage WHEN 'bofu' THEN 3 WHEN 'mofu' THEN 2 WHEN 'tofu' THEN 1 ELSE 0 END"
RANK_STAGE = {3: "bofu", 2: "mofu", 1: "tofu", 0: None}


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

    def submission_where(self, alias: str = "s", with_cursor: bool = True, dialect: str = "sqlite") -> tuple[str, list[Any]]:
        """SQL conditions on submissions ``alias`` and their parameters (``dialect``: the database's)."""
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
        if self.tag and dialect == "postgresql":
            where.append(f"jsonb_exists({alias}.tags::jsonb, ?)")  # a string element of the JSON array
            params.append(self.tag)
        elif self.tag:
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
    """Export row counts and incremental export cursors, and the admin's leads list."""

    # -- exports (the rows themselves: store/exporting.py) ---------------------------------

    def count_export_rows(self, kind: str, filters: Filters) -> int:
        """How many rows an export with these filters writes (for a progress bar)."""
        sub_where, params = filters.submission_where(dialect=self.db.dialect)
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
            larger = "greatest" if self.db.dialect == "postgresql" else "max"  # SQLite's two-argument max()
            conn.execute(
                "INSERT INTO export_cursors (name, last_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"  # noqa: S608
                f" SET last_id = {larger}(export_cursors.last_id, excluded.last_id), updated_at = excluded.updated_at",
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
        sub_where, params = filters.submission_where(dialect=self.db.dialect)
        where = [sub_where, filters.contact_where("s.consent_at")]
        if by_score and before_id is not None and below_score is not None:
            where.append("(c.score < ? OR (c.score = ? AND s.id < ?))")
            params += [below_score, below_score, before_id]
        elif before_id is not None:
            where.append("s.id < ?")
            params.append(before_id)
        if filters.search:
            like = "%" + filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            op = "ILIKE" if self.db.dialect == "postgresql" else "LIKE"  # SQLite's LIKE ignores ASCII case
            where.append(
                f"(c.email {op} ? ESCAPE '\\' OR c.first_name {op} ? ESCAPE '\\' OR c.last_name {op} ? ESCAPE '\\'"
                f" OR c.company {op} ? ESCAPE '\\' OR (c.first_name || ' ' || c.last_name) {op} ? ESCAPE '\\')"
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
