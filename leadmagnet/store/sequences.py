"""Store verbs for follow-up sequences: each person's place in each offer's sequence.

One ``sequence_progress`` row per contact and offer: started once (a second submission of the
same offer does not start it again), advanced when an email of it is queued, stopped when the
person submits an offer named in ``stop_when:``. Unsubscribing stops every sequence of the
person without touching these rows: no due row of an unsubscribed contact is ever read, and their
queued sequence emails are cancelled with their reminders (``Leads.unsubscribe``). ``position`` is the delay (in
seconds) of the last email queued; the next email is the first of the sequence with a longer
delay (see :mod:`leadmagnet.delivery.sequences`, which owns that rule). The rows' due times are
worked out from the sequence as it is in the content folder; ``sequence_versions`` remembers the
version they were worked out for, so that an edited sequence reschedules them.
"""

from __future__ import annotations

from typing import Any

from leadmagnet.store.connection import Verbs

ACTIVE, FINISHED, STOPPED = "active", "finished", "stopped"


class Sequences(Verbs):
    """Where each person is in each offer's follow-up sequence."""

    def start_sequence(self, *, contact_id: int, submission_id: int, offer_slug: str, started_at: str, next_due_at: str | None) -> bool:
        """Start ``offer_slug``'s sequence for a contact; False when they already have it (started,
        finished or stopped: a second submission never starts it again)."""
        with self.db.writing() as conn:
            return (
                conn.execute(
                    "INSERT INTO sequence_progress (contact_id, submission_id, offer_slug, started_at, next_due_at, status)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id, offer_slug) DO NOTHING",
                    (contact_id, submission_id, offer_slug, started_at, next_due_at, ACTIVE if next_due_at else FINISHED),
                ).rowcount
                == 1
            )

    def stop_sequences(self, contact_id: int, offer_slugs: list[str] | None, reason: str, now: str) -> int:
        """Stop a contact's running sequences (of ``offer_slugs``, or all when None); how many.

        Their sequence emails queued and not yet claimed by a sender are cancelled with them.
        """
        where, params = "contact_id = ? AND status IN (?, ?)", [contact_id, ACTIVE, FINISHED]
        if offer_slugs is not None:
            if not offer_slugs:
                return 0
            where += f" AND offer_slug IN ({', '.join('?' for _ in offer_slugs)})"
            params += list(offer_slugs)
        with self.db.writing() as conn:
            ids = [row[0] for row in conn.execute(f"SELECT submission_id FROM sequence_progress WHERE {where}", params)]  # noqa: S608 - our fragments
            stopped = conn.execute(
                f"UPDATE sequence_progress SET status = ?, stopped_reason = ?, stopped_at = ?, next_due_at = NULL WHERE {where}",  # noqa: S608
                [STOPPED, reason, now, *params],
            ).rowcount
            conn.executemany(
                "UPDATE outbox SET status = 'cancelled' WHERE submission_id = ? AND kind LIKE 'sequence:%' AND status = 'queued'",
                [(sid,) for sid in ids],
            )
        return stopped

    def sequence_version(self, offer_slug: str) -> str | None:
        """The fingerprint of the sequence ``offer_slug``'s rows were last scheduled for (None: never)."""
        return self.db.value("SELECT fingerprint FROM sequence_versions WHERE offer_slug = ?", (offer_slug,))

    def sequence_rows(self, offer_slug: str) -> list[dict[str, Any]]:
        """The running and finished rows of an offer's sequence (to reschedule after an edit)."""
        return self.db.rows(
            "SELECT id, started_at, position FROM sequence_progress WHERE offer_slug = ? AND status IN (?, ?) ORDER BY id",
            (offer_slug, ACTIVE, FINISHED),
        )

    def reschedule_sequence(self, offer_slug: str, fingerprint: str, due: list[tuple[int, str | None]]) -> None:
        """Set each row's next due time (``(id, next_due_at)``, None: nothing left) and remember the version."""
        with self.db.writing() as conn:
            conn.executemany(
                "UPDATE sequence_progress SET next_due_at = ?, status = ? WHERE id = ? AND status IN (?, ?)",
                [(when, FINISHED if when is None else ACTIVE, row_id, FINISHED, ACTIVE) for row_id, when in due],
            )
            conn.execute(
                "INSERT INTO sequence_versions (offer_slug, fingerprint) VALUES (?, ?)"
                " ON CONFLICT (offer_slug) DO UPDATE SET fingerprint = excluded.fingerprint",
                (offer_slug, fingerprint),
            )

    def due_sequence_steps(self, offer_slug: str, now: str, limit: int = 200) -> list[dict[str, Any]]:
        """Running rows of ``offer_slug`` whose next email is due at ``now``, with their submission,
        of contacts still subscribed; oldest due first."""
        return self.db.rows(
            "SELECT p.id AS progress_id, p.position, p.started_at, p.sent, s.* FROM sequence_progress p"
            " JOIN submissions s ON s.id = p.submission_id JOIN contacts c ON c.id = p.contact_id"
            " WHERE p.offer_slug = ? AND p.status = ? AND p.next_due_at <= ? AND c.unsubscribed_at IS NULL"
            " ORDER BY p.next_due_at, p.id LIMIT ?",
            (offer_slug, ACTIVE, now, limit),
        )

    def advance_sequence(self, progress_id: int, *, position: int, now: str, next_due_at: str | None) -> bool:
        """Record that the email at ``position`` was queued; False (nothing written) when the row
        was stopped meanwhile or is already past it, so the caller queues nothing."""
        with self.db.writing() as conn:
            return (
                conn.execute(
                    "UPDATE sequence_progress SET position = ?, sent = sent + 1, last_sent_at = ?, next_due_at = ?,"
                    " status = ? WHERE id = ? AND status = ? AND position < ?",
                    (position, now, next_due_at, FINISHED if next_due_at is None else ACTIVE, progress_id, ACTIVE, position),
                ).rowcount
                == 1
            )

    def sequences_of(self, contact_id: int) -> list[dict[str, Any]]:
        """A contact's sequences (every offer's row), oldest first. A contact who unsubscribed has
        every sequence stopped (``unsubscribed``) from that moment, whatever its row says."""
        rows = self.db.rows(
            "SELECT p.offer_slug, p.submission_id, p.started_at, p.position, p.sent, p.last_sent_at, p.next_due_at, p.status,"
            " p.stopped_reason, p.stopped_at, c.unsubscribed_at FROM sequence_progress p JOIN contacts c ON c.id = p.contact_id"
            " WHERE p.contact_id = ? ORDER BY p.id",
            (contact_id,),
        )
        for row in rows:
            left = row.pop("unsubscribed_at")
            if left is not None and row["status"] != STOPPED:
                row.update(status=STOPPED, stopped_reason="unsubscribed", stopped_at=left, next_due_at=None)
        return rows
