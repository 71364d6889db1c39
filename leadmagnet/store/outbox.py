"""Store verbs for the email outbox: queuing, claiming with a lease, recording attempts, trimming.

An email is queued in the transaction that makes it owed (the submission's, a confirmation's),
so the outbox row exists exactly when its lead does. The outbox is a queue with leases: a sender
*claims* due rows by moving their ``next_attempt_at`` forward by a lease and setting
``status = 'sending'``. If the sender dies before it records the attempt, the lease runs out and
the row is due again, so a crash never loses an email (it may, rarely, send one twice:
at-least-once, never at-most-once).
"""

from __future__ import annotations

from typing import Any

from leadmagnet.store.connection import Verbs


class Outbox(Verbs):
    """The queue of emails to send, and the record of every attempt to send them."""

    def enqueue_email(
        self,
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
        # One statement: a new row, or the cancelled one of this kind queued again (its id and
        # created_at kept); a row of this kind in any other state is left alone and no id comes back.
        with self.db.writing() as conn:
            row = conn.execute(
                "INSERT INTO outbox (submission_id, contact_id, kind, to_addr, subject, message, template, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (submission_id, kind) DO UPDATE SET status = 'queued',"
                " to_addr = excluded.to_addr, subject = excluded.subject, message = excluded.message, template = excluded.template,"
                " next_attempt_at = excluded.next_attempt_at, last_error = NULL WHERE outbox.status = 'cancelled' RETURNING id",
                (submission_id, contact_id, kind, to_addr, subject, message, template, now, now),
            ).fetchone()
        return row[0] if row is not None else None

    def save_rendered(self, outbox_id: int, message: bytes, created_at: str | None = None) -> bool:
        """Keep the message the sender built from the row's template (retries reuse it).

        ``created_at`` (the held row's) makes sure the id still names that row: an erasure frees
        ids, and a later row may have taken it. False, writing nothing, when it does not.
        """
        stamped, params = _stamped(outbox_id, created_at)
        with self.db.writing() as conn:
            return conn.execute(f"UPDATE outbox SET message = ?, template = NULL WHERE {stamped}", (message, *params)).rowcount == 1  # noqa: S608

    def claim_due_emails(self, now: str, lease_until: str, limit: int = 50) -> list[dict[str, Any]]:
        """Claim up to ``limit`` emails due at ``now`` (queued, or whose lease ran out).

        Claimed rows are ``sending`` until ``lease_until``; several senders never claim the same row.
        """
        with self.db.writing() as conn:
            rows = conn.execute(
                "UPDATE outbox SET status = 'sending', next_attempt_at = ? WHERE id IN ("
                " SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?) RETURNING *",
                (lease_until, now, limit),
            ).fetchall()
        return sorted((dict(r) for r in rows), key=lambda r: r["id"])

    def mark_attempt(
        self, outbox_id: int, *, at: str, ok: bool, error: str | None = None, retry_at: str | None = None, created_at: str | None = None
    ) -> bool:
        """Record one delivery attempt: sent; queued again for ``retry_at``; or ``failed`` for good.

        False, recording nothing, when the row is gone, or its id now names a later row
        (``created_at`` differs): its person was erased while the sender held it (the sender then
        deletes the file it wrote for it).
        """
        with self.db.writing() as conn:
            # The id must still name the held row (``created_at``): an erasure frees ids for reuse.
            stamped, params = _stamped(outbox_id, created_at)
            if conn.execute(f"SELECT 1 FROM outbox WHERE {stamped}", params).fetchone() is None:  # noqa: S608 - a fixed fragment
                return False
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
        return True

    def forget_sent_messages(self, sent_before: str, limit: int = 500) -> int:
        """Drop the bytes of up to ``limit`` emails sent before ``sent_before``; how many.

        The row stays (kind, address, subject, status, times, attempts): the contact's history
        and the dashboard need nothing more, and a sent email is never sent again. A bounded,
        short transaction: lead writes wait on it no longer than on one submission.
        """
        if self.db.dialect == "postgresql":  # the same partial index, which PostgreSQL picks itself
            untrimmed = "SELECT id FROM outbox WHERE status = 'sent' AND message != ''::bytea AND sent_at < ? ORDER BY sent_at LIMIT ?"
        else:
            untrimmed = (
                "SELECT id FROM outbox INDEXED BY outbox_untrimmed WHERE status = 'sent' AND message != X'' AND sent_at < ?"
                " ORDER BY sent_at LIMIT ?"
            )
        with self.db.writing() as conn:
            return conn.execute(f"UPDATE outbox SET message = ? WHERE id IN ({untrimmed})", (b"", sent_before, limit)).rowcount  # noqa: S608

    def outbox(self, status: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows (all, or of one status), oldest first."""
        if status is None:
            return self.db.rows("SELECT * FROM outbox ORDER BY id")
        return self.db.rows("SELECT * FROM outbox WHERE status = ? ORDER BY id", (status,))

    def email_attempts(self, outbox_id: int) -> list[dict[str, Any]]:
        return self.db.rows("SELECT * FROM email_attempts WHERE outbox_id = ? ORDER BY id", (outbox_id,))


def _stamped(outbox_id: int, created_at: str | None) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause naming row ``outbox_id`` (and, when given, only while it is the row made at
    ``created_at``: an erasure frees ids), with its parameters."""
    if created_at is None:
        return "id = ?", (outbox_id,)
    return "id = ? AND created_at = ?", (outbox_id, created_at)
