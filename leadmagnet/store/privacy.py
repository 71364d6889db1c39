"""Store verbs for privacy: everything stored about one contact, and erasing it all.

An erasure is one transaction, all or nothing: known tables are cleared by key, then every
table's text is swept for the address (:meth:`Privacy._sweep`), so a table added later cannot keep
a copy. What is left of an address in another person's row is redacted, that row kept.

An erasure is about the bytes, not only the rows. Every connection runs with ``secure_delete``
(see :mod:`~leadmagnet.store.connection`), so what a delete frees is zeroed, and the erasure ends
with a checkpoint that truncates the WAL, where the pages as they were before the delete would
otherwise stay. The rate limiter's file is swept the same way (:func:`erase_rate_limit_keys`).

On PostgreSQL a deleted or updated row's old version stays in its table's pages (and indexes)
until ``VACUUM``: an erasure ends by vacuuming every table it touched (:meth:`Privacy.vacuum`),
outside any transaction. What PostgreSQL keeps even then (WAL segments until recycled, backups,
replicas) is in docs/decisions.md ("PostgreSQL: erasure").
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from leadmagnet.store.connection import Verbs, utcnow
from leadmagnet.store.ratelimits import RateLimits

log = logging.getLogger(__name__)

# Tables whose rows never name a contact: their own bookkeeping, and admin users. lead_days is
# counted from the submissions by triggers: their erasure (or redaction) moves its counts, and a
# row falling to zero is deleted with its value. offer_people, offer_days and lead_responses hold
# ids, offers and times, kept by triggers: an erasure's deletes take the person's rows out of them.
NOT_PERSONAL = {
    "offer_people",
    "offer_days",
    "lead_responses",
    "users",
    "audit_log",
    "export_cursors",
    "page_views",
    "page_view_details",
    "lead_days",
    "store_meta",
    "webinar_times",
    "variant_views",
    "rate_limits",  # PostgreSQL's counters: erased by key with erase_rate_limit_keys, as SQLite's file
}
# store_meta key: when the first erasure VACUUMed the file (see Privacy._zero_free_space_once).
FREE_SPACE_ZEROED = "free_space_zeroed_at"
# Tables erase_contact clears by key: what is left of an address in them belongs to someone else.
KEYED_TABLES = {"contacts", "submissions", "outbox", "downloads", "email_attempts", "webhook_events", "webhook_deliveries"}
# PostgreSQL: besides the tables an erasure deletes from or redacts in, those its deletes reach
# through ON DELETE CASCADE and the roll-up triggers, and the cursors it pulls back.
ALSO_TOUCHED = ("score_events", "sequence_progress", "webhook_deliveries", "lead_days", "variant_lead_days", "export_cursors")
# VACUUM that also cleans the indexes (PostgreSQL 14+ may skip them when few rows are dead).
VACUUM = "VACUUM (INDEX_CLEANUP ON)"
# Column types the sweep reads, per dialect.
_SQLITE_TEXT = ("TEXT", "BLOB", "")
_PG_TEXT = ("text", "bytea", "character varying", "json", "jsonb")


def has_table(db: Any, name: str) -> bool:
    """Whether table ``name`` exists in ``db`` (an SQLite file or a PostgreSQL database)."""
    if db.dialect == "postgresql":
        return bool(db.value("SELECT to_regclass(?) IS NOT NULL", (name,)))
    return bool(db.value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))


class Privacy(Verbs):
    """A contact's whole record (a subject access request) and its erasure."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self._touched: set[str] = set()  # PostgreSQL: tables to VACUUM once the erasure's transaction is over

    # -- one contact: everything stored, and erasure ------------------------------------------

    def contact_record(self, email: str) -> dict[str, Any] | None:
        """Everything stored about one contact: details, submissions, downloads, emails, webhook events, consent."""
        contact = self.db.row("SELECT * FROM contacts WHERE email = ?", (email,))
        if contact is None:
            return None
        cid = contact["id"]
        contact["custom"] = json.loads(contact.get("custom") or "{}")
        submissions = self.db.rows("SELECT * FROM submissions WHERE contact_id = ? ORDER BY id", (cid,))
        for sub in submissions:
            sub["data"] = json.loads(sub["data"] or "{}")
            sub["tags"] = json.loads(sub["tags"] or "[]")
        downloads = self.db.rows(
            "SELECT d.* , s.offer_slug FROM downloads d JOIN submissions s ON s.id = d.submission_id WHERE s.contact_id = ? ORDER BY d.id",
            (cid,),
        )
        emails = self.db.rows(
            "SELECT id, submission_id, kind, to_addr, subject, status, attempts, created_at, sent_at, last_error FROM outbox"
            " WHERE contact_id = ? OR to_addr = ? OR submission_id IN (SELECT id FROM submissions WHERE contact_id = ?) ORDER BY id",
            (cid, email, cid),
        )
        sequences = self.db.rows(
            "SELECT offer_slug, started_at, position, sent, last_sent_at, next_due_at, status, stopped_reason, stopped_at"
            " FROM sequence_progress WHERE contact_id = ? ORDER BY id",
            (cid,),
        )
        score_events = self.db.rows(
            "SELECT event, offer_slug, points, created_at FROM score_events WHERE contact_id = ? ORDER BY id", (cid,)
        )
        has_hooks = has_table(self.db, "webhook_events")
        webhooks = (
            self.db.rows("SELECT event_id, type, created_at FROM webhook_events WHERE contact_id = ? ORDER BY id", (cid,))
            if has_hooks
            else []
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
            "sequences": sequences,
            "score_events": score_events,
            "webhooks": webhooks,
            "consent": {
                "records": consent,
                "opt_in_status": contact["opt_in_status"],
                "opt_in_at": contact["opt_in_at"],
                "unsubscribed_at": contact["unsubscribed_at"],
            },
        }

    def _text_columns(self, conn: Any) -> dict[str, list[tuple[str, bool]]]:
        """Every table's text and binary columns (name, is binary), but our own bookkeeping's."""
        found: dict[str, list[tuple[str, bool]]] = {}
        if self.db.dialect == "postgresql":
            for table, column, kind in conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            ).fetchall():
                if kind in _PG_TEXT and table != "leadmagnet_migrations":
                    found.setdefault(table, []).append((column, kind == "bytea"))
        else:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                if table.startswith(("sqlite_", "_")):
                    continue
                for c in conn.execute(f'PRAGMA table_info("{table}")'):
                    if (c[2] or "").upper() in _SQLITE_TEXT:
                        found.setdefault(table, []).append((c[1], (c[2] or "").upper() == "BLOB"))
        return {table: columns for table, columns in found.items() if table not in NOT_PERSONAL}

    def _sweep(self, conn: Any, email: str, deleted: dict[str, int]) -> None:
        """Remove the address wherever it is still written, without touching anyone else's data.

        The address must appear as a whole token (``ada@example.co`` is not found inside
        ``ada@example.com`` or ``bada@example.co``). In the tables cleared by key, a leftover
        mention sits in another person's row (a referrer or campaign naming the erased address):
        that cell is redacted to ``[erased]``, the row stays. In any other table (a log added
        later) the row is about the person and is deleted.
        """
        token = address_pattern(email)
        text_re, bytes_re = re.compile(token, re.IGNORECASE), re.compile(token.encode(), re.IGNORECASE)
        needle = email.lower()
        postgres = self.db.dialect == "postgresql"
        # A row's address in its table: SQLite's rowid; PostgreSQL's ctid (stable here: every
        # other write waits for this transaction's lock).
        rowid = "ctid" if postgres else "rowid"
        for table, typed in self._text_columns(conn).items():
            columns = [name for name, _binary in typed]
            if postgres:  # bytea as text: 'escape' keeps ASCII as is (an address is found in it)
                found = [
                    f"strpos(lower(encode(\"{c}\", 'escape')), ?) > 0" if binary else f'strpos(lower("{c}"::text), ?) > 0'
                    for c, binary in typed
                ]
            else:
                found = [f'instr(lower(CAST("{c}" AS TEXT)), ?) > 0' for c in columns]
            cond = " OR ".join(found)
            names = ", ".join(f'"{c}"' for c in columns)
            select = f'SELECT {rowid}{"::text" if postgres else ""}, {names} FROM "{table}" WHERE {cond}'  # noqa: S608
            candidates = conn.execute(select, [needle] * len(columns)).fetchall()
            at = f"{rowid} = ?{'::tid' if postgres else ''}"
            for row_at, *values in candidates:
                changed = {}
                for column, value in zip(columns, values, strict=True):
                    if isinstance(value, str):
                        redacted = redact(text_re, value)
                    elif isinstance(value, bytes):
                        redacted = bytes_re.sub(lambda m: (m.group("prefix") or b"") + b"[erased]", value)
                    else:
                        continue
                    if redacted != value:
                        changed[column] = redacted
                if not changed:
                    continue  # only a longer address that contains this one
                if table in KEYED_TABLES:
                    sets = ", ".join(f'"{c}" = ?' for c in changed)
                    conn.execute(f'UPDATE "{table}" SET {sets} WHERE {at}', [*changed.values(), row_at])  # noqa: S608
                    key = f"{table} (redacted)"
                else:
                    conn.execute(f'DELETE FROM "{table}" WHERE {at}', (row_at,))  # noqa: S608
                    key = table
                deleted[key] = deleted.get(key, 0) + 1

    def erase_contact(self, email: str, actor: str | None = None, then: Callable[[int], object] | None = None) -> dict[str, int] | None:
        """Delete every row that names this contact, outbox included; audit it without personal data.

        Known tables are cleared by key; then every table's text columns are swept for the
        address (see :meth:`_sweep`), so a table added later cannot keep a copy. One transaction:
        all or nothing. Then the WAL is checkpointed and truncated (:meth:`checkpoint`), unless
        the erasure joined a larger transaction, whose owner checkpoints after its COMMIT.
        Returns the number of rows deleted per table, or None when no such contact exists.
        ``then(contact_id)`` runs inside the erasure's transaction, after the rows are gone: the
        ``contact.erased`` webhook event is queued there, so it exists exactly when the erasure does.
        """
        joined = self.db.conn.in_transaction
        deleted = self._erase_rows(email, actor, then)
        if deleted is None or joined:
            return deleted
        if self.db.dialect == "postgresql":
            self.vacuum()
            return deleted
        self._zero_free_space_once()
        if not self.checkpoint():
            log.warning("erasure: the WAL could not be emptied now (a reader holds it); the next checkpoint empties it")
        return deleted

    def _zero_free_space_once(self) -> None:
        """VACUUM once per database, so that nothing freed before ``secure_delete`` was on survives.

        Every connection zeroes what it frees now, but a database written by an earlier version (or
        on a SQLite built without secure deletion by default) may hold old rows in its free pages and
        in the free space of its pages. The first erasure rewrites the file (holding writes for as
        long as that takes, about a second per hundred MB) and notes it in ``store_meta``.
        """
        has_meta = self.db.value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'")
        if has_meta and self.db.value("SELECT value FROM store_meta WHERE key = ?", (FREE_SPACE_ZEROED,)) is not None:
            return
        try:
            self.db.conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # busy past the timeout, or a full disk: the next erasure tries again
            log.warning("erasure: could not VACUUM the database to zero its old free space (%s); the next erasure tries again", exc)
            return
        if has_meta:
            with self.db.writing() as conn:
                conn.execute("INSERT OR IGNORE INTO store_meta (key, value) VALUES (?, ?)", (FREE_SPACE_ZEROED, utcnow()))

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it; False if a reader kept it (see the connection).

        On PostgreSQL: VACUUM the tables an erasure that joined a larger transaction touched.
        """
        if self.db.dialect == "postgresql":
            return self.vacuum()
        return self.db.checkpoint()

    def vacuum(self) -> bool:
        """PostgreSQL: ``VACUUM`` the tables erasures touched since the last one, so the old versions
        of their rows leave the tables' pages and indexes; False when it could not run now (inside a
        transaction, or it failed: logged, and the next erasure or PostgreSQL's autovacuum does it)."""
        tables = sorted(self._touched)
        if not tables:
            return True
        if self.db.conn.in_transaction:
            return False  # VACUUM cannot run inside a transaction: the owner's checkpoint() runs it
        try:
            self.db.conn.execute(f"{VACUUM} {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)}")
        except sqlite3.DatabaseError as exc:  # the store's error types, PostgreSQL's subclass them
            log.warning("erasure: could not VACUUM %s (%s); autovacuum or the next erasure removes the old row versions", tables, exc)
            return False
        self._touched.difference_update(tables)
        return True

    def _erase_rows(self, email: str, actor: str | None, then: Callable[[int], object] | None = None) -> dict[str, int] | None:
        deleted: dict[str, int] = {}
        postgres = self.db.dialect == "postgresql"
        if not postgres:
            self.db.conn.execute("PRAGMA secure_delete = ON")  # set on every connection already; an erasure makes sure
        # One BEGIN IMMEDIATE transaction: an erasure half done would leave personal data behind.
        with self.db.writing() as conn:
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
            if has_table(self.db, "webhook_events"):
                # Queued and sent webhook payloads hold the address; their delivery rows go with them (cascade).
                steps.insert(0, ("webhook_events", "DELETE FROM webhook_events WHERE contact_id = ?", (cid,)))
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
                (utcnow(), actor, "erase_contact", json.dumps({"contact_id": cid, "deleted": deleted})),
            )
            if then is not None:
                then(cid)
            if postgres:  # vacuumed after COMMIT (this one's, or the enclosing transaction's)
                self._touched.update(t.removesuffix(" (redacted)") for t in deleted)
                self._touched.update(t for t in ALSO_TOUCHED if has_table(self.db, t))
        return deleted


def address_pattern(email: str) -> str:
    """A regular expression for ``email`` as a whole token (not inside a longer address).

    Nothing that may stand in an address's local part (RFC 5322 atext: ``o'ada@…``, ``x=ada@…``,
    ``x/ada@…`` are valid and accepted by the form) may come right before it, or erasing
    ``ada@…`` would redact those other people's addresses. The one exception is a URL query
    value (``?fwd=ada@…``, ``&to=ada@…``): the ``key=`` before it is the group ``prefix``,
    which a redaction keeps.
    """
    before = r"(?:(?P<prefix>(?<=[?&])[\w.%\[\]-]*=)|(?<![\w.!#$%&'*+/=?^`{|}~-]))"
    return before + re.escape(email) + r"(?![\w-]|\.\w)"


def redact(pattern: re.Pattern, value: str) -> str:
    """``value`` with every match of an :func:`address_pattern` replaced by ``[erased]``."""
    return pattern.sub(lambda m: (m.group("prefix") or "") + "[erased]", value)


def erase_rate_limit_keys(limits: RateLimits, email: str) -> int:
    """Delete the rate-limit counters whose key names ``email``; then empty that file's WAL. How many.

    Before 2026-12 the admin's login form counted attempts per typed address in clear; it now keys
    them by a keyed hash, like the capture form's network keys. This removes counters an earlier
    version wrote (a counter lives as long as its window, so few remain after an upgrade).
    """
    pattern = re.compile(address_pattern(email), re.IGNORECASE)
    db = limits.db
    postgres = db.dialect == "postgresql"
    if not (postgres or Path(limits.path).exists()) or not has_table(db, "rate_limits"):
        return 0
    with db.writing() as conn:
        keys = [key for (key,) in conn.execute("SELECT DISTINCT key FROM rate_limits WHERE instr(lower(key), ?) > 0", (email.lower(),))]
        gone = sum(conn.execute("DELETE FROM rate_limits WHERE key = ?", (key,)).rowcount for key in keys if pattern.search(key))
    try:  # a small file (counters live as long as their window): rewritten whole, no old free space survives
        db.conn.execute(f"{VACUUM} rate_limits" if postgres else "VACUUM")
    except sqlite3.DatabaseError as exc:
        log.warning("erasure: could not VACUUM the rate limiter's file (%s)", exc)
    if not db.checkpoint():
        log.warning("erasure: the rate limiter's WAL could not be emptied now (a reader holds it)")
    return gone
