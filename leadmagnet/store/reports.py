"""Store verbs for export and admin: streaming rows, cursors, users, dashboard, leads, erasure.

Exports stream: the ``iter_*`` verbs yield one row at a time from a single SQLite cursor (one
consistent snapshot, never ``fetchall``), so memory stays flat at a million rows. The leads list
pages by keyset (``id < last seen id``), never OFFSET, so page 20,000 costs what page 1 does.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadmagnet.store.migrations import RANGE_DOWNLOADS_COUNTED_SINCE

STAGE_RANK = "CASE s.stage WHEN 'bofu' THEN 3 WHEN 'mofu' THEN 2 WHEN 'tofu' THEN 1 ELSE 0 END"
RANK_STAGE = {3: "bofu", 2: "mofu", 1: "tofu", 0: None}
# Tables whose rows never name a contact: their own bookkeeping, and admin users.
NOT_PERSONAL = {"users", "audit_log", "export_cursors", "page_views", "store_meta", "webinar_times"}
# Tables erase_contact clears by key: what is left of an address in them belongs to someone else.
KEYED_TABLES = {"contacts", "submissions", "outbox", "downloads", "email_attempts"}


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


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


class ReportVerbs:
    """Mixin of :class:`leadmagnet.store.Store`: exports, admin users, reports, erasure."""

    # -- exports ----------------------------------------------------------------------------

    def iter_contact_rows(self, filters: Filters) -> Iterator[dict[str, Any]]:
        """One row per contact having a matching submission, in contact id order, streamed.

        ``offers``/``tags`` are tuples, ``stage`` the furthest funnel stage reached,
        ``last_submission_id`` the highest matching submission id (the incremental cursor).
        An incremental run (``after_id``) picks the contacts with a newer submission, but their
        row still sums up every matching submission: a CRM update must not forget older offers.
        """
        sub_where, params = filters.submission_where(with_cursor=False)
        if filters.after_id or filters.confirmed_after:
            newer, newer_params = filters.submission_where("n")
            sub_where += f" AND s.contact_id IN (SELECT n.contact_id FROM submissions n WHERE {newer})"  # noqa: S608 - our fragments
            params += newer_params
        sql = f"""
            SELECT c.id, c.email, c.first_name, c.last_name, c.company, c.job_title, c.phone, c.country,
                   c.first_seen, c.last_seen, c.opt_in_status, c.opt_in_at, c.unsubscribed_at,
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
        cursor = self.conn.cursor()  # type: ignore[attr-defined]
        cursor.row_factory = None  # plain tuples: zip with the names is cheaper than sqlite3.Row
        cursor.execute(sql, params)
        names = [d[0] for d in cursor.description]
        for values in cursor:
            item = dict(zip(names, values, strict=True))
            item["offers"] = _offer_list(item["offers"])
            item["tags"] = _tag_list(item.pop("tags"))
            item["stage"] = RANK_STAGE.get(item.pop("stage_rank") or 0)
            yield item

    def iter_submission_rows(self, filters: Filters) -> Iterator[dict[str, Any]]:
        """One row per matching submission with its contact's details, in id order, streamed."""
        sub_where, params = filters.submission_where()
        sql = f"""
            SELECT s.id AS submission_id, s.created_at, s.offer_slug, s.offer_type, s.status, c.email,
                   c.first_name, c.last_name, c.company, c.job_title, c.phone, c.country, s.tags, s.stage,
                   s.consent_text, s.consent_at, s.utm_source, s.utm_medium, s.utm_campaign, s.utm_term,
                   s.utm_content, s.referrer, s.spam, c.opt_in_status, c.unsubscribed_at
            FROM submissions s JOIN contacts c ON c.id = s.contact_id
            WHERE {sub_where} AND {filters.contact_where("s.consent_at")}
            ORDER BY s.id
        """  # noqa: S608 - only our own fragments; values are parameters
        for row in self.conn.execute(sql, params):  # type: ignore[attr-defined]
            item = dict(row)
            item["tags"] = json.loads(item["tags"] or "[]")
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
        return int(self.conn.execute(sql, params).fetchone()[0])  # type: ignore[attr-defined]

    def get_export_cursor(self, name: str) -> int:
        """The last submission id exported by incremental export ``name`` (0 if never run)."""
        row = self.conn.execute("SELECT last_id FROM export_cursors WHERE name = ?", (name,)).fetchone()  # type: ignore[attr-defined]
        return int(row[0]) if row else 0

    def get_export_cursor_time(self, name: str) -> str | None:
        """When the rows of incremental export ``name``'s last run were read (None if never run)."""
        row = self.conn.execute("SELECT updated_at FROM export_cursors WHERE name = ?", (name,)).fetchone()  # type: ignore[attr-defined]
        return row[0] if row else None

    def save_export_cursor(self, name: str, last_id: int, as_of: str | None = None) -> None:
        """Remember ``last_id`` and ``as_of`` (when the rows were read) for ``name``.

        Called only once the export file is safely on disk. ``updated_at`` holds ``as_of``: the
        next run also exports submissions confirmed after it.
        """
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO export_cursors (name, last_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET last_id = max(last_id, excluded.last_id), updated_at = excluded.updated_at",
                (name, last_id, as_of or _now()),
            )

    @staticmethod
    def now() -> str:
        """The store's timestamp format (ISO 8601 UTC, microseconds), for ``as_of``."""
        return _now()

    def max_submission_id(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM submissions").fetchone()[0])  # type: ignore[attr-defined]

    # -- admin users and audit ---------------------------------------------------------------

    def add_user(self, email: str, password_hash: str) -> int:
        """Create an admin user, or replace the password of an existing one; return its id."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash",
                (email, password_hash, _now()),
            )
            user_id = conn.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()[0]
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), "cli", "admin_user_set", json.dumps({"user_id": user_id})),
            )
        return int(user_id)

    def get_user(self, *, email: str | None = None, user_id: int | None = None) -> dict[str, Any] | None:
        if email is not None:
            return self.query_one("SELECT * FROM users WHERE email = ?", (email,))  # type: ignore[attr-defined]
        return self.query_one("SELECT * FROM users WHERE id = ?", (user_id,))  # type: ignore[attr-defined]

    def audit(self, actor: str | None, action: str, detail: dict[str, Any] | None = None) -> None:
        """Append an audit entry. ``detail`` must hold no personal data (ids and counts only)."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)", (_now(), actor, action, json.dumps(detail or {}))
            )

    def audit_entries(self, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Audit entries, newest first, ``limit`` at a time (keyset: pass the last id as ``before_id``)."""
        rows = self.query(  # type: ignore[attr-defined]
            "SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?", (before_id if before_id is not None else 2**63 - 1, limit)
        )
        for row in rows:
            try:
                detail = json.loads(row["detail"] or "{}")
            except ValueError:
                detail = {"detail": row["detail"]}
            row["detail"] = detail if isinstance(detail, dict) else {"detail": detail}
        return rows

    # -- dashboard ---------------------------------------------------------------------------

    def dashboard(self, since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """Per offer: views, non-spam submissions, downloads, registrations, top UTM sources.

        ``since``/``until`` are ISO dates or times (``until`` exclusive). Conversion rate is
        submissions / views; registrations are non-spam webinar submissions not awaiting opt-in.
        """
        lo, hi = since or "", until or "9999"
        offers: dict[str, dict[str, Any]] = {}

        def entry(slug: str) -> dict[str, Any]:
            return offers.setdefault(slug, {"offer": slug, "views": 0, "submissions": 0, "downloads": 0, "registrations": 0, "sources": []})

        conn = self.conn  # type: ignore[attr-defined]
        for slug, views in conn.execute(
            "SELECT offer_slug, sum(views) FROM page_views WHERE day >= ? AND day < ? GROUP BY offer_slug",
            (lo[:10], hi[:10] if until else hi),
        ):
            entry(slug)["views"] = int(views)
        for slug, kind, subs, regs in conn.execute(
            "SELECT offer_slug, offer_type, count(*), sum(offer_type = 'webinar' AND status != 'pending') FROM submissions"
            " WHERE spam = 0 AND created_at >= ? AND created_at < ? GROUP BY offer_slug, offer_type",
            (lo, hi),
        ):
            e = entry(slug)
            e["submissions"] += int(subs)
            e["registrations"] += int(regs or 0)
            e["type"] = kind
        # A range is recorded only when it starts at byte 0 since m006; before, every range request
        # was recorded (later chunks too), so an older range row does not count.
        for slug, n in conn.execute(
            "SELECT s.offer_slug, count(*) FROM downloads d JOIN submissions s ON s.id = d.submission_id"
            " WHERE (d.range_request = 0 OR d.created_at >= (SELECT value FROM store_meta WHERE key = ?))"
            " AND d.created_at >= ? AND d.created_at < ? GROUP BY s.offer_slug",
            (RANGE_DOWNLOADS_COUNTED_SINCE, lo, hi),
        ):
            entry(slug)["downloads"] = int(n)
        for slug, source, n in conn.execute(
            "SELECT offer_slug, utm_source, count(*) AS n FROM submissions WHERE spam = 0 AND utm_source IS NOT NULL"
            " AND created_at >= ? AND created_at < ? GROUP BY offer_slug, utm_source ORDER BY offer_slug, n DESC, utm_source",
            (lo, hi),
        ):
            sources = entry(slug)["sources"]
            if len(sources) < 3:
                sources.append((source, int(n)))
        rows = sorted(offers.values(), key=lambda e: e["offer"])
        for e in rows:
            e["conversion"] = e["submissions"] / e["views"] if e["views"] else None
        totals = {k: sum(e[k] for e in rows) for k in ("views", "submissions", "downloads", "registrations")}
        totals["conversion"] = totals["submissions"] / totals["views"] if totals["views"] else None
        return {"offers": rows, "totals": totals}

    def email_health(self, stuck_before: str, since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """Emails that need a look: ``failed`` (queued in the period, given up on) with the newest
        ``last_error``, and ``stuck``: due before ``stuck_before`` and still not sent (no sender running).
        """
        conn = self.conn  # type: ignore[attr-defined]
        failed, last_error = conn.execute(  # both served by the outbox_failed index (status, created_at)
            "SELECT count(*), (SELECT last_error FROM outbox WHERE status = 'failed' AND created_at >= ? AND created_at < ?"
            " ORDER BY created_at DESC LIMIT 1) FROM outbox WHERE status = 'failed' AND created_at >= ? AND created_at < ?",
            (since or "", until or "9999") * 2,
        ).fetchone()
        (stuck,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at < ?", (stuck_before,)
        ).fetchone()
        return {"failed": int(failed), "last_error": last_error, "stuck": int(stuck)}

    # -- leads list (keyset) -----------------------------------------------------------------

    def list_leads(self, filters: Filters, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest non-spam submissions first, ``limit`` at a time, with their contact.

        Keyset pagination: the next page passes the last row's id as ``before_id``; the primary
        key index finds the spot directly however deep the page is (OFFSET would count past
        every earlier row). ``filters.search`` matches email, first/last name and company.
        """
        sub_where, params = filters.submission_where()
        where = [sub_where, filters.contact_where("s.consent_at")]
        if before_id is not None:
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
            " c.first_name, c.last_name, c.company FROM submissions s JOIN contacts c ON c.id = s.contact_id"
            f" WHERE {' AND '.join(where)} ORDER BY s.id DESC LIMIT ?"
        )
        params.append(limit)
        rows = []
        for row in self.conn.execute(sql, params):  # type: ignore[attr-defined]
            item = dict(row)
            item["tags"] = json.loads(item["tags"] or "[]")
            rows.append(item)
        return rows

    # -- one contact: everything stored, and erasure ------------------------------------------

    def contact_record(self, email: str) -> dict[str, Any] | None:
        """Everything stored about one contact: details, submissions, downloads, emails, consent."""
        contact = self.query_one("SELECT * FROM contacts WHERE email = ?", (email,))  # type: ignore[attr-defined]
        if contact is None:
            return None
        cid = contact["id"]
        contact["custom"] = json.loads(contact.get("custom") or "{}")
        submissions = self.query("SELECT * FROM submissions WHERE contact_id = ? ORDER BY id", (cid,))  # type: ignore[attr-defined]
        for sub in submissions:
            sub["data"] = json.loads(sub["data"] or "{}")
            sub["tags"] = json.loads(sub["tags"] or "[]")
        downloads = self.query(  # type: ignore[attr-defined]
            "SELECT d.* , s.offer_slug FROM downloads d JOIN submissions s ON s.id = d.submission_id WHERE s.contact_id = ? ORDER BY d.id",
            (cid,),
        )
        emails = self.query(  # type: ignore[attr-defined]
            "SELECT id, submission_id, kind, to_addr, subject, status, attempts, created_at, sent_at, last_error FROM outbox"
            " WHERE contact_id = ? OR to_addr = ? OR submission_id IN (SELECT id FROM submissions WHERE contact_id = ?) ORDER BY id",
            (cid, email, cid),
        )
        consent = [
            {"submission_id": s["id"], "offer_slug": s["offer_slug"], "consent_text": s["consent_text"], "consent_at": s["consent_at"]}
            for s in submissions
            if s["consent_text"]
        ]
        return {
            "contact": contact,
            "submissions": submissions,
            "downloads": downloads,
            "emails": emails,
            "consent": {
                "records": consent,
                "opt_in_status": contact["opt_in_status"],
                "opt_in_at": contact["opt_in_at"],
                "unsubscribed_at": contact["unsubscribed_at"],
            },
        }

    @staticmethod
    def _sweep(conn: Any, email: str, deleted: dict[str, int]) -> None:
        """Remove the address wherever it is still written, without touching anyone else's data.

        The address must appear as a whole token (``ada@example.co`` is not found inside
        ``ada@example.com`` or ``bada@example.co``). In the tables cleared by key, a leftover
        mention sits in another person's row (a referrer or campaign naming the erased address):
        that cell is redacted to ``[erased]``, the row stays. In any other table (a log added
        later) the row is about the person and is deleted.
        """
        token = r"(?<![\w.+-])" + re.escape(email) + r"(?![\w-]|\.\w)"
        text_re, bytes_re = re.compile(token, re.IGNORECASE), re.compile(token.encode(), re.IGNORECASE)
        needle = email.lower()
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            if table.startswith(("sqlite_", "_")) or table in NOT_PERSONAL:
                continue
            columns = [c[1] for c in conn.execute(f'PRAGMA table_info("{table}")') if (c[2] or "").upper() in ("TEXT", "BLOB", "")]
            if not columns:
                continue
            cond = " OR ".join(f'instr(lower(CAST("{c}" AS TEXT)), ?) > 0' for c in columns)
            names = ", ".join(f'"{c}"' for c in columns)
            candidates = conn.execute(f'SELECT rowid, {names} FROM "{table}" WHERE {cond}', [needle] * len(columns)).fetchall()  # noqa: S608
            for rowid, *values in candidates:
                changed = {}
                for column, value in zip(columns, values, strict=True):
                    if isinstance(value, str):
                        redacted = text_re.sub("[erased]", value)
                    elif isinstance(value, bytes):
                        redacted = bytes_re.sub(b"[erased]", value)
                    else:
                        continue
                    if redacted != value:
                        changed[column] = redacted
                if not changed:
                    continue  # only a longer address that contains this one
                if table in KEYED_TABLES:
                    sets = ", ".join(f'"{c}" = ?' for c in changed)
                    conn.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ?', [*changed.values(), rowid])  # noqa: S608
                    key = f"{table} (redacted)"
                else:
                    conn.execute(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))  # noqa: S608
                    key = table
                deleted[key] = deleted.get(key, 0) + 1

    def erase_contact(self, email: str, actor: str | None = None) -> dict[str, int] | None:
        """Delete every row that names this contact, outbox included; audit it without personal data.

        Known tables are cleared by key; then every table's text columns are swept for the
        address (see :meth:`_sweep`), so a table added later cannot keep a copy. One transaction:
        all or nothing.
        Returns the number of rows deleted per table, or None when no such contact exists.
        """
        deleted: dict[str, int] = {}
        # One BEGIN IMMEDIATE transaction: an erasure half done would leave personal data behind.
        with self.transaction() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()
            if row is None:
                return None
            cid = row[0]
            subs = "SELECT id FROM submissions WHERE contact_id = ?"
            steps = [
                (
                    "email_attempts",
                    f"DELETE FROM email_attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE contact_id = ? OR to_addr = ? OR submission_id IN ({subs}))",  # noqa: S608
                    (cid, email, cid),
                ),
                ("outbox", f"DELETE FROM outbox WHERE contact_id = ? OR to_addr = ? OR submission_id IN ({subs})", (cid, email, cid)),  # noqa: S608
                ("downloads", f"DELETE FROM downloads WHERE submission_id IN ({subs})", (cid,)),  # noqa: S608
                ("submissions", "DELETE FROM submissions WHERE contact_id = ?", (cid,)),
                ("contacts", "DELETE FROM contacts WHERE id = ?", (cid,)),
            ]
            for table, sql, params in steps:
                deleted[table] = conn.execute(sql, params).rowcount
            # Submission ids are rowids: once the newest rows are gone, SQLite hands their ids out
            # again. Pull incremental export cursors back to the newest id still stored, so a new
            # submission reusing an erased id is not skipped (the erased rows cannot be repeated).
            newest = conn.execute("SELECT coalesce(max(id), 0) FROM submissions").fetchone()[0]
            conn.execute("UPDATE export_cursors SET last_id = ? WHERE last_id > ?", (newest, newest))
            self._sweep(conn, email, deleted)
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (_now(), actor, "erase_contact", json.dumps({"contact_id": cid, "deleted": deleted})),
            )
        return deleted
