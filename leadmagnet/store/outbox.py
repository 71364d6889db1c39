"""Store verbs for delivery: seats, double opt-in, downloads, the email outbox.

Verbs whose name ends in ``_in`` take the connection of a transaction that is already open (the
submission's, through ``record_submission(within=...)``), so that a seat and the confirmation
email are written together with the lead or not at all. The others open their own transaction.

The outbox is a queue with leases: a sender *claims* due rows by moving their
``next_attempt_at`` forward by a lease and setting ``status = 'sending'``. If the sender dies
before it records the attempt, the lease runs out and the row is due again, so a crash never
loses an email (it may, rarely, send one twice: at-least-once, never at-most-once).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from leadmagnet.store.leads import WithinTransaction, withdrawn

# Statuses of a submission that hold (or are owed) what the offer promised.
DELIVERED = "ok"
PENDING = "pending"
WAITLISTED = "waitlisted"

# One row a person: the first seated registration of each subscribed contact of a webinar.
# (Grouped once, then joined: a correlated min() per row read every seated row for each one.)
_SEATED_PEOPLE = (
    "SELECT s.*, c.email AS email, c.first_name AS first_name"
    " FROM (SELECT min(id) AS id FROM submissions WHERE offer_slug = ? AND status = 'ok' GROUP BY contact_id) AS f"
    " JOIN submissions s ON s.id = f.id JOIN contacts c ON c.id = s.contact_id WHERE c.unsubscribed_at IS NULL"
)
# Emails about a webinar registration that are still to go out (they are built when sent).
_UNSENT_REGISTRATION = "o.status = 'queued' AND o.kind IN ('delivery', 'promoted')"


class DeliveryVerbs:
    """Mixin of :class:`leadmagnet.store.Store`: seats, opt-in, downloads, outbox."""

    # -- seats ------------------------------------------------------------------------------

    def claim_seat_in(self, conn: sqlite3.Connection, submission_id: int, offer_slug: str, capacity: int | None) -> bool:
        """Give ``submission_id`` a seat if one is left, else waitlist it; True if seated.

        A seat is a person's, not a submission's: someone already seated who registers again
        (to find the join link, say) is seated without taking a second seat.
        Must run inside a ``BEGIN IMMEDIATE`` transaction: the write lock is held from the count to
        the update, so two registrations can never both take the last seat.
        """
        if capacity is None:
            return True
        (contact_id,) = conn.execute("SELECT contact_id FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        seated_already, taken = conn.execute(
            "SELECT coalesce(sum(contact_id = ?), 0), count(DISTINCT contact_id) FROM submissions"
            " WHERE offer_slug = ? AND status = ? AND id != ?",
            (contact_id, offer_slug, DELIVERED, submission_id),
        ).fetchone()
        seated = bool(seated_already) or taken < capacity
        conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (DELIVERED if seated else WAITLISTED, submission_id))
        return seated

    def promote_waitlisted(self, offer_slug: str, capacity: int | None, within: WithinTransaction) -> int:
        """Seat the earliest waitlisted people while seats are free (capacity raised, or removed:
        None); how many.

        Still subscribed, not seated already; each promotion is one short transaction that counts
        the seats again (a registration may take one meanwhile), cancels the person's waitlist
        email if it has not gone yet, and calls ``within`` to queue the news.
        """
        promoted = 0
        while True:
            with self.transaction() as conn:  # type: ignore[attr-defined]
                taken = 0
                if capacity is not None:
                    (taken,) = conn.execute(
                        "SELECT count(DISTINCT contact_id) FROM submissions WHERE offer_slug = ? AND status = ?", (offer_slug, DELIVERED)
                    ).fetchone()
                found = None
                if capacity is None or taken < capacity:
                    found = conn.execute(
                        "SELECT s.* FROM submissions s JOIN contacts c ON c.id = s.contact_id"
                        " WHERE s.offer_slug = ? AND s.status = ? AND c.unsubscribed_at IS NULL AND NOT EXISTS ("
                        " SELECT 1 FROM submissions o WHERE o.offer_slug = s.offer_slug AND o.contact_id = s.contact_id AND o.status = ?)"
                        " ORDER BY s.id LIMIT 1",
                        (offer_slug, WAITLISTED, DELIVERED),
                    ).fetchone()
                if found is None:
                    return promoted
                row = {**dict(found), "status": DELIVERED}
                # Their waitlist emails not sent yet (any of their waitlisted registrations) go.
                conn.execute(
                    "UPDATE outbox SET status = 'cancelled' WHERE kind = 'delivery' AND status = 'queued' AND submission_id IN ("
                    " SELECT id FROM submissions WHERE offer_slug = ? AND contact_id = ? AND status = ?)",
                    (offer_slug, row["contact_id"], WAITLISTED),
                )
                conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (DELIVERED, row["id"]))
                within(conn, row)
                promoted += 1

    def webinar_sequence(self, offer_slug: str) -> int:
        """How often the webinar's time changed after people registered (its ``.ics`` SEQUENCE)."""
        row = self.conn.execute("SELECT sequence FROM webinar_times WHERE offer_slug = ?", (offer_slug,)).fetchone()  # type: ignore[attr-defined]
        return row[0] if row else 0

    def announce_time(self, offer_slug: str, starts_at: str, within: WithinTransaction, now: str | None = None) -> int:
        """Compare the webinar's start (UTC ISO text) with the one its registrants were told.

        The first time it is only remembered. When it changed, one transaction remembers the new
        time, counts one more ``sequence`` and calls ``within`` for every seated person (one row
        a person, still subscribed; the row carries the new ``sequence``) to queue the news. A
        person whose registration email has not gone out yet gets no news: that email is rebuilt
        with the new time when sent (its built bytes are dropped). Reminders not yet sent for the
        old time are cancelled. Returns how many people were called for. When the time they were
        told has passed (``now``), the page was re-dated for another session: that is not news to
        the last session's people, so the new time is only remembered.
        """
        row = self.conn.execute("SELECT starts_at FROM webinar_times WHERE offer_slug = ?", (offer_slug,)).fetchone()  # type: ignore[attr-defined]
        if row is not None and row[0] == starts_at:
            return 0  # the usual case, every pass: a read, no write lock
        with self.transaction() as conn:  # type: ignore[attr-defined]
            known = conn.execute("SELECT starts_at FROM webinar_times WHERE offer_slug = ?", (offer_slug,)).fetchone()
            if known is None:
                conn.execute("INSERT INTO webinar_times (offer_slug, starts_at, sequence) VALUES (?, ?, 0)", (offer_slug, starts_at))
                return 0
            if known[0] == starts_at:
                return 0
            if now is not None and known[0] <= now:
                conn.execute("UPDATE webinar_times SET starts_at = ? WHERE offer_slug = ?", (starts_at, offer_slug))
                return 0
            conn.execute("UPDATE webinar_times SET starts_at = ?, sequence = sequence + 1 WHERE offer_slug = ?", (starts_at, offer_slug))
            (sequence,) = conn.execute("SELECT sequence FROM webinar_times WHERE offer_slug = ?", (offer_slug,)).fetchone()
            # Seated people's registration emails still to go out are rebuilt with the new time
            # when sent (their bytes dropped); reminders queued for the old time are cancelled.
            conn.execute(
                "UPDATE outbox SET message = X'', template = 'registered' WHERE status = 'queued' AND kind IN ('delivery', 'promoted')"
                " AND submission_id IN (SELECT id FROM submissions WHERE offer_slug = ? AND status = ?)",
                (offer_slug, DELIVERED),
            )
            conn.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE status = 'queued' AND kind LIKE 'reminder%'"
                " AND submission_id IN (SELECT id FROM submissions WHERE offer_slug = ?)",
                (offer_slug,),
            )
            seated = conn.execute(
                f"{_SEATED_PEOPLE} AND NOT EXISTS (SELECT 1 FROM outbox o JOIN submissions r ON r.id = o.submission_id"  # noqa: S608
                f" WHERE r.contact_id = s.contact_id AND r.offer_slug = s.offer_slug AND r.status = 'ok' AND {_UNSENT_REGISTRATION})"
                " ORDER BY s.id",
                (offer_slug,),
            ).fetchall()
            for row in seated:
                within(conn, {**dict(row), "sequence": sequence})
            return len(seated)

    def seats_taken(self, offer_slug: str) -> int:
        """Seats of ``offer_slug`` taken: people with a seated registration."""
        return self.conn.execute(  # type: ignore[attr-defined]
            "SELECT count(DISTINCT contact_id) FROM submissions WHERE offer_slug = ? AND status = ?", (offer_slug, DELIVERED)
        ).fetchone()[0]

    def count_by_status(self, offer_slug: str) -> dict[str, int]:
        """``{status: count}`` of an offer's submissions (``ok``, ``pending``, ``waitlisted``, ``spam``)."""
        rows = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT status, count(*) FROM submissions WHERE offer_slug = ? GROUP BY status", (offer_slug,)
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    # -- double opt-in and unsubscribe ------------------------------------------------------

    def mark_opt_in_pending_in(self, conn: sqlite3.Connection, contact_id: int) -> None:
        """A double opt-in submission awaits confirmation: a contact never asked before is ``pending``.

        A contact already ``confirmed`` (or ``unsubscribed``) keeps that status.
        """
        conn.execute("UPDATE contacts SET opt_in_status = 'pending' WHERE id = ? AND opt_in_status = 'single'", (contact_id,))

    def confirm_opt_in(
        self, submission_id: int, now: str, within: WithinTransaction | None = None, created_at: str | None = None
    ) -> dict[str, Any] | None:
        """Confirm a pending submission and its contact; return the submission (None if unknown).

        ``created_at``, when given, must be the row's (the one its link was checked against):
        otherwise the id names a later row and nothing happens (None).

        Idempotent: confirming twice changes nothing the second time and ``within`` (which takes
        the seat and queues the delivery email) runs only on the first, in the same transaction.
        A contact who unsubscribed after making the submission has withdrawn it: its old link
        changes nothing (see :meth:`confirmation_withdrawn`). A submission made *after*
        unsubscribing (they asked again) is delivered, but the contact stays unsubscribed.
        """
        with self.transaction() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            if row is None or (created_at is not None and row["created_at"] != created_at):
                return None
            submission = dict(row)
            if submission["status"] != PENDING:
                return submission
            unsubscribed_at = conn.execute("SELECT unsubscribed_at FROM contacts WHERE id = ?", (submission["contact_id"],)).fetchone()[0]
            if withdrawn(submission["created_at"], unsubscribed_at):
                return submission
            conn.execute("UPDATE submissions SET status = ?, confirmed_at = ? WHERE id = ?", (DELIVERED, now, submission_id))
            if unsubscribed_at is None:
                conn.execute(
                    "UPDATE contacts SET opt_in_status = 'confirmed', opt_in_at = ? WHERE id = ?",
                    (now, submission["contact_id"]),
                )
            submission.update(status=DELIVERED, confirmed_at=now)
            if within is not None:
                within(conn, submission)
                submission["status"] = conn.execute("SELECT status FROM submissions WHERE id = ?", (submission_id,)).fetchone()[0]
        return submission

    def confirmation_withdrawn(self, submission: dict[str, Any]) -> bool:
        """True when the submission's contact unsubscribed after making it.

        Its confirmation link is then one the person has taken back: clicking it later must not
        opt them in again nor send the offer.
        """
        row = self.conn.execute("SELECT unsubscribed_at FROM contacts WHERE id = ?", (submission["contact_id"],)).fetchone()  # type: ignore[attr-defined]
        return row is not None and withdrawn(submission["created_at"], row[0])

    def unsubscribe(self, contact_id: int, now: str, first_seen: str | None = None) -> bool:
        """Record that a contact unsubscribed (first time wins); drop its queued reminders.

        Returns False when the contact does not exist, or when ``first_seen`` is given and is
        not the row's (the id names a later contact than the link was checked against). Emails
        already on their way are not recalled; reminders not yet sent are cancelled.
        """
        with self.transaction() as conn:  # type: ignore[attr-defined]
            found = conn.execute(
                "UPDATE contacts SET unsubscribed_at = COALESCE(unsubscribed_at, ?), opt_in_status = 'unsubscribed'"
                " WHERE id = ? AND (? IS NULL OR first_seen = ?)",
                (now, contact_id, first_seen, first_seen),
            ).rowcount
            if found:
                conn.execute(
                    "UPDATE outbox SET status = 'cancelled' WHERE contact_id = ? AND kind LIKE 'reminder%' AND status = 'queued'",
                    (contact_id,),
                )
        return bool(found)

    # -- downloads --------------------------------------------------------------------------

    def record_download(self, submission_id: int, now: str, range_request: bool = False) -> int:
        """Record one download of a submission's file; return how many it has now.

        The caller records only what counts as a download: the whole file, or a range from byte 0
        (``range_request``); not a 304, nor the later chunks of a file fetched in parts.
        """
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO downloads (submission_id, created_at, range_request) VALUES (?, ?, ?)",
                (submission_id, now, 1 if range_request else 0),
            )
            return conn.execute("SELECT count(*) FROM downloads WHERE submission_id = ?", (submission_id,)).fetchone()[0]

    def downloads_of(self, submission_id: int) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM downloads WHERE submission_id = ? ORDER BY id", (submission_id,))  # type: ignore[attr-defined]

    # -- outbox -----------------------------------------------------------------------------

    def enqueue_email_in(
        self,
        conn: sqlite3.Connection,
        *,
        submission_id: int | None,
        contact_id: int | None,
        kind: str,
        to_addr: str,
        subject: str,
        now: str,
        message: bytes = b"",
        template: str | None = None,
    ) -> int | None:
        """Queue one email; None if this submission already has an email of this ``kind``.

        Either ``message`` is the whole raw message, or ``template`` names the email template the
        sender renders it from (see :meth:`save_rendered`). A cancelled email of the same kind
        (a reminder for a time the webinar moved away from, and then back to) is queued again.
        """
        revived = conn.execute(
            "UPDATE outbox SET status = 'queued', to_addr = ?, subject = ?, message = ?, template = ?, next_attempt_at = ?,"
            " last_error = NULL WHERE submission_id = ? AND kind = ? AND status = 'cancelled'",
            (to_addr, subject, message, template, now, submission_id, kind),
        )
        if revived.rowcount:
            return conn.execute("SELECT id FROM outbox WHERE submission_id = ? AND kind = ?", (submission_id, kind)).fetchone()[0]
        cursor = conn.execute(
            "INSERT INTO outbox (submission_id, contact_id, kind, to_addr, subject, message, template, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (submission_id, kind) DO NOTHING",
            (submission_id, contact_id, kind, to_addr, subject, message, template, now, now),
        )
        return cursor.lastrowid if cursor.rowcount else None

    def save_rendered(self, outbox_id: int, message: bytes) -> None:
        """Keep the message the sender built from the row's template (retries reuse it)."""
        self.conn.execute("UPDATE outbox SET message = ?, template = NULL WHERE id = ?", (message, outbox_id))  # type: ignore[attr-defined]

    def enqueue_email(self, **kwargs: Any) -> int | None:
        """:meth:`enqueue_email_in` in a transaction of its own."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            return self.enqueue_email_in(conn, **kwargs)

    def claim_due_emails(self, now: str, lease_until: str, limit: int = 50) -> list[dict[str, Any]]:
        """Claim up to ``limit`` emails due at ``now`` (queued, or whose lease ran out).

        Claimed rows are ``sending`` until ``lease_until``; several senders never claim the same row.
        """
        with self.transaction() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(
                "UPDATE outbox SET status = 'sending', next_attempt_at = ? WHERE id IN ("
                " SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?) RETURNING *",
                (lease_until, now, limit),
            ).fetchall()
        return sorted((dict(r) for r in rows), key=lambda r: r["id"])

    def mark_attempt(self, outbox_id: int, *, at: str, ok: bool, error: str | None = None, retry_at: str | None = None) -> None:
        """Record one delivery attempt: sent; queued again for ``retry_at``; or ``failed`` for good."""
        with self.transaction() as conn:  # type: ignore[attr-defined]
            conn.execute(
                "INSERT INTO email_attempts (outbox_id, at, ok, error) VALUES (?, ?, ?, ?)", (outbox_id, at, 1 if ok else 0, error)
            )
            if ok:
                conn.execute(
                    "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?",
                    (at, outbox_id),
                )
            elif retry_at is not None:
                conn.execute(
                    "UPDATE outbox SET status = 'queued', attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    (retry_at, error, outbox_id),
                )
            else:
                conn.execute(
                    "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?", (error, outbox_id)
                )

    def forget_sent_messages(self, sent_before: str, limit: int = 500) -> int:
        """Drop the bytes of up to ``limit`` emails sent before ``sent_before``; how many.

        The row stays (kind, address, subject, status, times, attempts): the contact's history
        and the dashboard need nothing more, and a sent email is never sent again. A bounded,
        short transaction: lead writes wait on it no longer than on one submission.
        """
        with self.transaction() as conn:  # type: ignore[attr-defined]
            return conn.execute(
                "UPDATE outbox SET message = X'' WHERE id IN ("
                " SELECT id FROM outbox INDEXED BY outbox_untrimmed WHERE status = 'sent' AND message != X'' AND sent_at < ? ORDER BY sent_at LIMIT ?)",
                (sent_before, limit),
            ).rowcount

    def outbox(self, status: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows (all, or of one status), oldest first."""
        if status is None:
            return self.query("SELECT * FROM outbox ORDER BY id")  # type: ignore[attr-defined]
        return self.query("SELECT * FROM outbox WHERE status = ? ORDER BY id", (status,))  # type: ignore[attr-defined]

    def email_attempts(self, outbox_id: int) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM email_attempts WHERE outbox_id = ? ORDER BY id", (outbox_id,))  # type: ignore[attr-defined]

    def reminder_due(self, offer_slug: str, kind: str) -> list[dict[str, Any]]:
        """Seated registrants of a webinar without a reminder of ``kind`` yet (``reminder:<start>``:
        a webinar that moves is reminded of again), still subscribed: one row a person."""
        # A plain 'reminder' was written before reminders named their start; it counts while the
        # webinar has not moved since (sequence 0).
        return self.query(  # type: ignore[attr-defined]
            f"{_SEATED_PEOPLE} AND NOT EXISTS (SELECT 1 FROM outbox o JOIN submissions r ON r.id = o.submission_id"  # noqa: S608
            " WHERE r.contact_id = s.contact_id AND r.offer_slug = s.offer_slug AND o.status != 'cancelled' AND (o.kind = ? OR (o.kind = 'reminder'"
            " AND coalesce((SELECT sequence FROM webinar_times WHERE offer_slug = s.offer_slug), 0) = 0))) ORDER BY s.id",
            (offer_slug, kind),
        )
