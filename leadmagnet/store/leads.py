"""Store verbs for capture: contacts, submissions and page views.

A submission is written in one ``BEGIN IMMEDIATE`` transaction: the contact is upserted (one row
per normalised email), the submission row inserted, and any ``within`` callback (delivery uses it
to take a webinar seat and queue the confirmation email) runs before COMMIT, so a lead and what it
is owed are stored together or not at all. The visitor is answered only after COMMIT.

Spam submissions are stored too (``spam = 1``) so that nothing is silently dropped, but they never
overwrite a contact's details: a bot typing someone's address must not rename them. A contact whose
every submission is spam is not a lead (exports and reports skip it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from leadmagnet.foundation.tokens import RowLink

CONTACT_FIELDS = ("first_name", "last_name", "company", "job_title", "phone", "country")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

# Runs inside the submission's transaction: (connection, the submission row as a dict) -> None.
WithinTransaction = Callable[[sqlite3.Connection, dict[str, Any]], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class RateLimitVerbs:
    """Fixed-window hit counters, for :mod:`leadmagnet.leads.throttle`.

    They live in their own small SQLite file (``instance/ratelimit.db``, opened as a separate
    :class:`~leadmagnet.store.Store`), so counting hits never waits on, or slows, lead writes.
    Each hit is one autocommitted UPSERT: atomic across every gunicorn worker without a lock.
    """

    def ensure_rate_limit_table(self) -> None:
        """Create the counters table if it does not exist (idempotent; no migration needed)."""
        self.conn.execute(  # type: ignore[attr-defined]
            "CREATE TABLE IF NOT EXISTS rate_limits (key TEXT NOT NULL, bucket INTEGER NOT NULL, hits INTEGER NOT NULL,"
            " expires INTEGER NOT NULL, PRIMARY KEY (key, bucket)) WITHOUT ROWID"
        )

    def count_hit(self, key: str, bucket: int, expires: int) -> int:
        """Add one hit to ``key`` in fixed window number ``bucket``; return the hits so far in it."""
        # fetchall, not fetchone: stepping the statement to its end finishes its implicit
        # transaction now, instead of holding the write lock until the cursor is collected.
        rows = self.conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO rate_limits (key, bucket, hits, expires) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (key, bucket) DO UPDATE SET hits = hits + 1 RETURNING hits",
            (key, bucket, expires),
        ).fetchall()
        return int(rows[0][0])

    def purge_rate_limits(self, now: int) -> int:
        """Delete counters of windows that ended before ``now`` (epoch seconds); return how many."""
        return self.conn.execute("DELETE FROM rate_limits WHERE expires < ?", (now,)).rowcount  # type: ignore[attr-defined]


class LeadVerbs(RateLimitVerbs):
    """Mixin of :class:`leadmagnet.store.Store`: contacts, submissions, page views (and rate-limit counters)."""

    def record_submission(
        self,
        *,
        offer_slug: str,
        offer_type: str,
        email: str,
        fields: dict[str, Any],
        meta: dict[str, Any] | None = None,
        tags: tuple[str, ...] | list[str] = (),
        stage: str | None = None,
        consent_text: str | None = None,
        spam_reason: str | None = None,
        dedupe_seconds: int = 0,
        status: str = "ok",
        within: WithinTransaction | None = None,
        now: str | None = None,
    ) -> dict[str, Any]:
        """Store one form submission; return ``{"result", "submission", "contact_id"}``.

        ``email`` is already normalised; ``fields`` holds every cleaned field value (built-in and
        custom); ``meta`` the UTM values, ``referrer``, ``user_agent`` and ``ip_marker``. ``result``
        is ``created``, or ``duplicate`` when the same email took the same offer within
        ``dedupe_seconds`` (nothing new is written and the earlier submission is returned).
        """
        meta = meta or {}
        now = now or _now()
        spam = spam_reason is not None
        builtin, custom = _contact_values(fields)
        with self.transaction() as conn:  # type: ignore[attr-defined]
            contact = conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()
            if contact is None:
                contact_id = conn.execute(
                    "INSERT INTO contacts (email, first_name, last_name, company, job_title, phone, country, custom, first_seen, last_seen)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (email, *(None if spam else builtin[k] for k in CONTACT_FIELDS), "{}" if spam else json.dumps(custom), now, now),
                ).lastrowid
            else:
                contact_id = contact["id"]
                if dedupe_seconds > 0 and not spam:
                    since = (datetime.fromisoformat(now) - timedelta(seconds=dedupe_seconds)).isoformat(timespec="microseconds")
                    earlier = conn.execute(
                        "SELECT * FROM submissions WHERE contact_id = ? AND offer_slug = ? AND spam = 0 AND created_at >= ?"
                        " ORDER BY id DESC LIMIT 1",
                        (contact_id, offer_slug, since),
                    ).fetchone()
                    if earlier is not None:
                        return {"result": "duplicate", "submission": dict(earlier), "contact_id": contact_id}
                if not spam:
                    # Latest non-empty value wins; custom fields are merged key by key.
                    assignments = ", ".join(f"{k} = COALESCE(?, {k})" for k in CONTACT_FIELDS)
                    conn.execute(
                        f"UPDATE contacts SET {assignments}, custom = json_patch(custom, ?), last_seen = ? WHERE id = ?",  # noqa: S608 - column names are ours
                        (*(builtin[k] for k in CONTACT_FIELDS), json.dumps(custom), now, contact_id),
                    )
            row = {
                "contact_id": contact_id,
                "offer_slug": offer_slug,
                "offer_type": offer_type,
                "data": json.dumps({"email": email, **fields}, ensure_ascii=False),
                "consent_text": consent_text,
                "consent_at": now if consent_text else None,
                **{k: _blank_to_none(meta.get(k)) for k in UTM_FIELDS},
                "referrer": _blank_to_none(meta.get("referrer")),
                "user_agent": _blank_to_none(meta.get("user_agent")),
                "ip_marker": meta.get("ip_marker"),
                "spam": 1 if spam else 0,
                "spam_reason": spam_reason,
                "created_at": now,
                "tags": json.dumps(list(tags)),
                "stage": stage,
                "status": "spam" if spam else status,
            }
            columns = ", ".join(row)
            placeholders = ", ".join("?" for _ in row)
            row["id"] = conn.execute(f"INSERT INTO submissions ({columns}) VALUES ({placeholders})", tuple(row.values())).lastrowid  # noqa: S608 - column names are ours
            if within is not None and not spam:
                within(conn, row)
        return {"result": "created", "submission": row, "contact_id": contact_id}

    def release_spam(
        self, submission_id: int, status: str, within: WithinTransaction | None = None, dedupe_seconds: int = 0, now: str | None = None
    ) -> dict[str, Any] | None:
        """Make a submission stored as spam a lead after all (an admin's "Not spam"); None if it is not spam.

        As if it had come in as a lead, in one transaction: ``released``, its contact gets the
        details it gave where the contact has none (a later submission's values stay) and
        ``within`` queues what it is owed. Nothing changes when the contact unsubscribed after
        sending it (``unsubscribed``: it would be a lead owed nothing, holding a webinar seat), or
        when a lead from the same address for the same offer came within ``dedupe_seconds`` of it
        (``duplicate``: the form would have said so). Returns ``{"result", "submission", "of"}``.
        """
        now = now or _now()
        with self.transaction() as conn:  # type: ignore[attr-defined]
            found = conn.execute("SELECT * FROM submissions WHERE id = ? AND spam = 1", (submission_id,)).fetchone()
            if found is None:
                return None
            row = dict(found)
            if dedupe_seconds > 0:
                made = datetime.fromisoformat(row["created_at"])
                window = [(made + timedelta(seconds=d)).isoformat(timespec="microseconds") for d in (-dedupe_seconds, dedupe_seconds)]
                twin = conn.execute(
                    "SELECT id FROM submissions WHERE contact_id = ? AND offer_slug = ? AND spam = 0 AND created_at BETWEEN ? AND ?"
                    " ORDER BY id LIMIT 1",
                    (row["contact_id"], row["offer_slug"], *window),
                ).fetchone()
                if twin is not None:
                    return {"result": "duplicate", "submission": row, "of": twin["id"]}
            contact = conn.execute("SELECT custom, unsubscribed_at FROM contacts WHERE id = ?", (row["contact_id"],)).fetchone()
            if withdrawn(row["created_at"], contact["unsubscribed_at"]):
                return {"result": "unsubscribed", "submission": row, "of": None}
            row.update(spam=0, status=status, released_at=now)
            conn.execute("UPDATE submissions SET spam = 0, status = ?, released_at = ? WHERE id = ?", (status, now, submission_id))
            builtin, given = _contact_values(json.loads(row["data"] or "{}"))
            # Custom answers: the contact's own non-blank ones win, blanks are filled in.
            custom = {k: v for k, v in given.items() if v not in (None, "")}
            custom.update({k: v for k, v in json.loads(contact["custom"] or "{}").items() if v not in (None, "")})
            assignments = ", ".join(f"{k} = COALESCE({k}, ?)" for k in CONTACT_FIELDS)
            conn.execute(
                f"UPDATE contacts SET {assignments}, custom = ? WHERE id = ?",  # noqa: S608 - column names are ours
                (*(builtin[k] for k in CONTACT_FIELDS), json.dumps(custom, ensure_ascii=False), row["contact_id"]),
            )
            if within is not None:
                within(conn, row)
        return {"result": "released", "submission": row, "of": None}

    def get_submission(self, submission_id: int) -> dict[str, Any] | None:
        return self.query_one("SELECT * FROM submissions WHERE id = ?", (submission_id,))  # type: ignore[attr-defined]

    def get_contact(self, contact_id: int) -> dict[str, Any] | None:
        return self.query_one("SELECT * FROM contacts WHERE id = ?", (contact_id,))  # type: ignore[attr-defined]

    def submission_for_link(self, link: RowLink) -> dict[str, Any] | None:
        """The submission a signed link names; None when it is gone or the id now names another row.

        Erased ids come back (they are rowids), so the link's stamp must match the row's
        ``created_at`` (see :meth:`leadmagnet.foundation.tokens.RowLink.names`). A link that names a later
        row is answered exactly like a link to a missing one.
        """
        row = self.get_submission(link.id)
        if row is None or not link.names(row["created_at"]):
            return None
        return row

    def contact_for_link(self, link: RowLink) -> dict[str, Any] | None:
        """The contact a signed link names (stamped by ``first_seen``, which never changes); else None."""
        row = self.get_contact(link.id)
        if row is None or not link.names(row["first_seen"]):
            return None
        return row

    def get_contact_by_email(self, email: str) -> dict[str, Any] | None:
        return self.query_one("SELECT * FROM contacts WHERE email = ?", (email,))  # type: ignore[attr-defined]

    def count_submissions(self, offer_slug: str | None = None, include_spam: bool = False) -> int:
        sql = "SELECT count(*) FROM submissions WHERE 1 = 1"
        params: list[Any] = []
        if offer_slug is not None:
            sql += " AND offer_slug = ?"
            params.append(offer_slug)
        if not include_spam:
            sql += " AND spam = 0"
        return self.conn.execute(sql, params).fetchone()[0]  # type: ignore[attr-defined]

    def add_page_views(self, counts: dict[tuple[str, str, str], int]) -> None:
        """Add batched view counts, keyed by ``(offer_slug, day, utm_source)``, in one transaction."""
        if not counts:
            return
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.executemany(
                "INSERT INTO page_views (offer_slug, day, utm_source, views) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (offer_slug, day, utm_source) DO UPDATE SET views = views + excluded.views",
                [(slug, day, source, n) for (slug, day, source), n in counts.items()],
            )


def _blank_to_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _contact_values(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A submission's answers as the contact keeps them: built-in columns (blank as None), custom ones."""
    builtin = {k: _blank_to_none(fields.get(k)) for k in CONTACT_FIELDS}
    return builtin, {k: v for k, v in fields.items() if k not in CONTACT_FIELDS and k != "email"}


def withdrawn(created_at: str, unsubscribed_at: str | None) -> bool:
    """The contact unsubscribed at or after ``created_at`` (an unreadable time counts as withdrawn)."""
    if unsubscribed_at is None:
        return False
    try:
        made, left = (datetime.fromisoformat(t) for t in (created_at, unsubscribed_at))
    except ValueError:
        return True
    made, left = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (made, left))
    return left >= made
