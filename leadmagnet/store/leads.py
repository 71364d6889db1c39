"""Store verbs for leads: contacts, submissions, double opt-in, unsubscribing, downloads, page views.

A submission is written in one ``BEGIN IMMEDIATE`` transaction: the contact is upserted (one row
per normalised email) and the submission row inserted. Delivery writes what the submission is
owed (a webinar seat, the confirmation email) in that same transaction, through
:meth:`leadmagnet.store.Store.transaction`, so a lead and what it is owed are stored together or
not at all. The visitor is answered only after COMMIT.

Spam submissions are stored too (``spam = 1``) so that nothing is silently dropped, but they never
overwrite a contact's details: a bot typing someone's address must not rename them. A contact whose
every submission is spam is not a lead (exports and reports skip it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from leadmagnet.foundation.tokens import RowLink
from leadmagnet.store.connection import Verbs, utcnow

CONTACT_FIELDS = ("first_name", "last_name", "company", "job_title", "phone", "country")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# The dimensions of page_view_details, in the order a detailed view key carries them after the source.
VIEW_DETAILS = ("medium", "campaign", "referrer", "device")

# Statuses of a submission: holding what the offer promised, awaiting the double opt-in click,
# on a full webinar's waitlist (and ``spam``, set with the spam flag).
DELIVERED = "ok"
PENDING = "pending"
WAITLISTED = "waitlisted"


class Leads(Verbs):
    """Contacts and submissions: writing them, finding them, opting in and out, downloads, views."""

    # -- submissions ------------------------------------------------------------------------

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
        status: str = DELIVERED,
        now: str | None = None,
    ) -> dict[str, Any]:
        """Store one form submission; return ``{"result", "submission", "contact_id"}``.

        ``email`` is already normalised; ``fields`` holds every cleaned field value (built-in and
        custom); ``meta`` the UTM values, ``referrer``, ``user_agent``, ``ip_marker`` and ``variant``. ``result``
        is ``created``, or ``duplicate`` when the same email took the same offer within
        ``dedupe_seconds`` (nothing new is written and the earlier submission is returned).
        """
        meta = meta or {}
        now = now or utcnow()
        spam = spam_reason is not None
        builtin, custom = _contact_values(fields)
        with self.db.writing() as conn:
            contact = conn.execute("SELECT id FROM contacts WHERE email = ?", (email,)).fetchone()
            if contact is None:
                contact_id = conn.execute(
                    "INSERT INTO contacts (email, first_name, last_name, company, job_title, phone, country, custom, first_seen, last_seen)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (email, *(None if spam else builtin[k] for k in CONTACT_FIELDS), "{}" if spam else json.dumps(custom), now, now),
                ).fetchone()[0]
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
            if meta.get("variant"):  # the A/B variant the page showed; the column stays NULL outside a test
                row["variant"] = meta["variant"]
            columns = ", ".join(row)
            placeholders = ", ".join("?" for _ in row)
            row["id"] = conn.execute(
                f"INSERT INTO submissions ({columns}) VALUES ({placeholders}) RETURNING id",  # noqa: S608 - column names are ours
                tuple(row.values()),
            ).fetchone()[0]
        return {"result": "created", "submission": row, "contact_id": contact_id}

    def release_spam(self, submission_id: int, status: str, dedupe_seconds: int = 0, now: str | None = None) -> dict[str, Any] | None:
        """Make a submission stored as spam a lead after all (an admin's "Not spam"); None if it is not spam.

        As if it had come in as a lead with ``status``: ``released``, and its contact gets the
        details it gave where the contact has none (a later submission's values stay); the caller
        queues what it is owed in the same transaction. Nothing changes when the contact
        unsubscribed after sending it (``unsubscribed``: it would be a lead owed nothing, holding a
        webinar seat), or when a lead from the same address for the same offer came within
        ``dedupe_seconds`` of it (``duplicate``: the form would have said so).
        Returns ``{"result", "submission", "of"}`` (``of``: the duplicate's lead).
        """
        now = now or utcnow()
        with self.db.writing() as conn:
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
        return {"result": "released", "submission": row, "of": None}

    def get_submission(self, submission_id: int) -> dict[str, Any] | None:
        return self.db.row("SELECT * FROM submissions WHERE id = ?", (submission_id,))

    def get_contact(self, contact_id: int) -> dict[str, Any] | None:
        return self.db.row("SELECT * FROM contacts WHERE id = ?", (contact_id,))

    def get_contact_by_email(self, email: str) -> dict[str, Any] | None:
        return self.db.row("SELECT * FROM contacts WHERE email = ?", (email,))

    def submissions(self, offer_slug: str | None = None) -> list[dict[str, Any]]:
        """Every stored submission (spam too), or those of one offer, oldest first, as stored."""
        if offer_slug is None:
            return self.db.rows("SELECT * FROM submissions ORDER BY id")
        return self.db.rows("SELECT * FROM submissions WHERE offer_slug = ? ORDER BY id", (offer_slug,))

    def contacts(self) -> list[dict[str, Any]]:
        """Every contact, oldest first, as stored (``custom`` as JSON text)."""
        return self.db.rows("SELECT * FROM contacts ORDER BY id")

    def submission_for_link(self, link: RowLink) -> dict[str, Any] | None:
        """The submission a signed link names; None when it is gone or the id now names another row.

        On SQLite erased ids come back (they are rowids; PostgreSQL's identity ids never do), so the
        link's stamp must match the row's ``created_at`` (see :meth:`leadmagnet.foundation.tokens.RowLink.names`).
        A link that names a later row is answered exactly like a link to a missing one.
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

    def count_submissions(self, offer_slug: str | None = None, include_spam: bool = False) -> int:
        sql = "SELECT count(*) FROM submissions WHERE 1 = 1"
        params: list[Any] = []
        if offer_slug is not None:
            sql += " AND offer_slug = ?"
            params.append(offer_slug)
        if not include_spam:
            sql += " AND spam = 0"
        return int(self.db.value(sql, params))

    def lead_counts(self, offer_slug: str | None = None) -> dict[str, int]:
        """``{offer slug: people who are its leads}``: one per contact, not spam, not awaiting a
        double opt-in confirmation (the waitlisted count: they asked). The figure behind an
        offer's ``proof:`` line, never more than the real number."""
        sql = "SELECT offer_slug, count(DISTINCT contact_id) FROM submissions WHERE spam = 0 AND status IN (?, ?)"
        params: list[Any] = [DELIVERED, WAITLISTED]
        if offer_slug is not None:
            sql += " AND offer_slug = ?"
            params.append(offer_slug)
        rows = self.db.conn.execute(sql + " GROUP BY offer_slug", params)
        return {row[0]: row[1] for row in rows}

    # -- double opt-in and unsubscribe ------------------------------------------------------

    def mark_opt_in_pending(self, contact_id: int) -> None:
        """A double opt-in submission awaits confirmation: a contact never asked before is ``pending``.

        A contact already ``confirmed`` (or ``unsubscribed``) keeps that status.
        """
        with self.db.writing() as conn:
            conn.execute("UPDATE contacts SET opt_in_status = 'pending' WHERE id = ? AND opt_in_status = 'single'", (contact_id,))

    def confirm_opt_in(self, submission_id: int, now: str, created_at: str | None = None) -> dict[str, Any] | None:
        """Confirm a pending submission and its contact; return ``{"result", "submission"}`` (None if unknown).

        ``created_at``, when given, must be the row's (the one its link was checked against):
        otherwise the id names a later row and nothing happens (None).

        ``result`` is ``confirmed`` the first time, when the caller (in the same transaction) takes
        the seat and queues the delivery email; ``unchanged`` for a submission not pending (it was
        confirmed already: nothing more to do); ``withdrawn`` when the contact unsubscribed after
        making the submission: its old link changes nothing (see :meth:`confirmation_withdrawn`).
        A submission made *after* unsubscribing (they asked again) is confirmed, but the contact
        stays unsubscribed.
        """
        with self.db.writing() as conn:
            row = conn.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            if row is None or (created_at is not None and row["created_at"] != created_at):
                return None
            submission = dict(row)
            if submission["status"] != PENDING:
                return {"result": "unchanged", "submission": submission}
            unsubscribed_at = conn.execute("SELECT unsubscribed_at FROM contacts WHERE id = ?", (submission["contact_id"],)).fetchone()[0]
            if withdrawn(submission["created_at"], unsubscribed_at):
                return {"result": "withdrawn", "submission": submission}
            conn.execute("UPDATE submissions SET status = ?, confirmed_at = ? WHERE id = ?", (DELIVERED, now, submission_id))
            if unsubscribed_at is None:
                conn.execute(
                    "UPDATE contacts SET opt_in_status = 'confirmed', opt_in_at = ? WHERE id = ?",
                    (now, submission["contact_id"]),
                )
            submission.update(status=DELIVERED, confirmed_at=now)
        return {"result": "confirmed", "submission": submission}

    def confirmation_withdrawn(self, submission: dict[str, Any]) -> bool:
        """True when the submission's contact unsubscribed after making it.

        Its confirmation link is then one the person has taken back: clicking it later must not
        opt them in again nor send the offer.
        """
        row = self.db.row("SELECT unsubscribed_at FROM contacts WHERE id = ?", (submission["contact_id"],))
        return row is not None and withdrawn(submission["created_at"], row["unsubscribed_at"])

    def unsubscribe(self, contact_id: int, now: str, first_seen: str | None = None) -> bool:
        """Record that a contact unsubscribed (first time wins); drop its queued reminders and stop its sequences.

        Returns False when the contact does not exist, or when ``first_seen`` is given and is
        not the row's (the id names a later contact than the link was checked against). Emails
        already on their way are not recalled; reminders and sequence emails not yet sent are
        cancelled (and no sequence queues another: see store/sequences.py).
        """
        # The stamp check only when there is a stamp (a NULL parameter has no type on PostgreSQL).
        stamped, params = (" AND first_seen = ?", (now, contact_id, first_seen)) if first_seen is not None else ("", (now, contact_id))
        with self.db.writing() as conn:
            found = conn.execute(
                "UPDATE contacts SET unsubscribed_at = COALESCE(unsubscribed_at, ?), opt_in_status = 'unsubscribed'"  # noqa: S608 - a fixed fragment
                f" WHERE id = ?{stamped}",
                params,
            ).rowcount
            if found:
                conn.execute(
                    "UPDATE outbox SET status = 'cancelled' WHERE contact_id = ? AND (kind LIKE 'reminder%' OR kind LIKE 'sequence:%')"
                    " AND status = 'queued'",
                    (contact_id,),
                )
        return bool(found)

    # -- downloads and page views -----------------------------------------------------------

    def record_download(self, submission_id: int, now: str, range_request: bool = False) -> int:
        """Record one download of a submission's file; return how many it has now.

        The caller records only what counts as a download: the whole file, or a range from byte 0
        (``range_request``); not a 304, nor the later chunks of a file fetched in parts.
        """
        with self.db.writing() as conn:
            conn.execute(
                "INSERT INTO downloads (submission_id, created_at, range_request) VALUES (?, ?, ?)",
                (submission_id, now, 1 if range_request else 0),
            )
            return conn.execute("SELECT count(*) FROM downloads WHERE submission_id = ?", (submission_id,)).fetchone()[0]

    def downloads_of(self, submission_id: int) -> list[dict[str, Any]]:
        return self.db.rows("SELECT * FROM downloads WHERE submission_id = ? ORDER BY id", (submission_id,))

    def add_page_views(self, counts: dict[tuple[str, ...], int]) -> None:
        """Add batched view counts in one transaction.

        A key is ``(offer_slug, day, utm_source)``, or that followed by ``utm_medium``,
        ``utm_campaign``, the referrer domain and the device class (:data:`VIEW_DETAILS`, as
        :class:`leadmagnet.leads.pageviews.ViewCounter` counts them): the first three go to
        ``page_views`` (the total and the source), the others to ``page_view_details``.
        """
        if not counts:
            return
        totals: dict[tuple[str, str, str], int] = {}
        details: dict[tuple[str, str, str, str], int] = {}
        for key, n in counts.items():
            slug, day, source = key[:3]
            totals[(slug, day, source)] = totals.get((slug, day, source), 0) + n
            for dimension, value in zip(VIEW_DETAILS, key[3:], strict=False):
                details[(slug, day, dimension, value)] = details.get((slug, day, dimension, value), 0) + n
        with self.db.writing() as conn:
            conn.executemany(
                "INSERT INTO page_views (offer_slug, day, utm_source, views) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (offer_slug, day, utm_source) DO UPDATE SET views = page_views.views + excluded.views",
                [(*key, n) for key, n in totals.items()],
            )
            if details:
                conn.executemany(
                    "INSERT INTO page_view_details (offer_slug, day, dimension, value, views) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (offer_slug, day, dimension, value) DO UPDATE SET views = page_view_details.views + excluded.views",
                    [(*key, n) for key, n in details.items()],
                )

    def page_views(self, offer_slug: str | None = None) -> list[dict[str, Any]]:
        """The daily view counts (``offer_slug``, ``day``, ``utm_source``, ``views``), of one offer or all."""
        if offer_slug is None:
            return self.db.rows("SELECT offer_slug, day, utm_source, views FROM page_views ORDER BY offer_slug, day, utm_source")
        return self.db.rows(
            "SELECT offer_slug, day, utm_source, views FROM page_views WHERE offer_slug = ? ORDER BY day, utm_source", (offer_slug,)
        )


def _blank_to_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _contact_values(fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A submission's answers as the contact keeps them: built-in columns (blank as None), custom ones.

    A blank custom answer is left out, so the contact keeps its latest real answer (as for the
    built-in columns); ``False`` stays, since an unticked box is an answer.
    """
    builtin = {k: _blank_to_none(fields.get(k)) for k in CONTACT_FIELDS}
    return builtin, {k: v for k, v in fields.items() if k not in CONTACT_FIELDS and k != "email" and v not in (None, "")}


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
