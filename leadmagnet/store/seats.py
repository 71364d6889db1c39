"""Store verbs for webinars: seats, the waitlist, the start time registrants were told, reminders.

A seat is taken inside the submission's (or confirmation's) own transaction: the write lock is
held from counting the seats to taking one, so two registrations never both take the last seat.
A seat is a person's, not a submission's: someone seated who registers again holds one seat.
"""

from __future__ import annotations

from typing import Any

from leadmagnet.store.connection import Verbs
from leadmagnet.store.leads import DELIVERED, WAITLISTED

# One row a person: the first seated registration of each subscribed contact of a webinar.
# (Grouped once, then joined: a correlated min() per row read every seated row for each one.)
SEATED_PEOPLE = (
    "SELECT s.*, c.email AS email, c.first_name AS first_name"
    " FROM (SELECT min(id) AS id FROM submissions WHERE offer_slug = ? AND status = 'ok' GROUP BY contact_id) AS f"
    " JOIN submissions s ON s.id = f.id JOIN contacts c ON c.id = s.contact_id WHERE c.unsubscribed_at IS NULL"
)
# Emails about a webinar registration that are still to go out (they are built when sent).
_UNSENT_REGISTRATION = "o.status = 'queued' AND o.kind IN ('delivery', 'promoted')"


class Seats(Verbs):
    """Webinar seats and the waitlist, the webinar's announced time, and who is due a reminder."""

    def claim_seat(self, submission_id: int, offer_slug: str, capacity: int | None) -> bool:
        """Give ``submission_id`` a seat if one is left, else waitlist it; True if seated.

        Called in the transaction that wrote the submission (or confirmed it), so the seat is
        stored with it or not at all. ``capacity`` None: no cap, always seated.
        """
        if capacity is None:
            return True
        with self.db.writing() as conn:
            (contact_id,) = conn.execute("SELECT contact_id FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            seated_already, taken = conn.execute(
                "SELECT coalesce(sum(CASE WHEN contact_id = ? THEN 1 ELSE 0 END), 0), count(DISTINCT contact_id) FROM submissions"
                " WHERE offer_slug = ? AND status = ? AND id != ?",
                (contact_id, offer_slug, DELIVERED, submission_id),
            ).fetchone()
            seated = bool(seated_already) or taken < capacity
            conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (DELIVERED if seated else WAITLISTED, submission_id))
        return seated

    def seat_next_waitlisted(self, offer_slug: str, capacity: int | None) -> dict[str, Any] | None:
        """Seat the earliest waitlisted person if a seat is free (capacity raised, or removed: None).

        Still subscribed, not seated already. Counts the seats again (a registration may have
        taken one since), cancels the person's waitlist emails not sent yet, and returns their
        submission (now seated) for the caller to queue the news in the same transaction; None
        when nobody moves.
        """
        with self.db.writing() as conn:
            taken = 0
            if capacity is not None:
                (taken,) = conn.execute(
                    "SELECT count(DISTINCT contact_id) FROM submissions WHERE offer_slug = ? AND status = ?", (offer_slug, DELIVERED)
                ).fetchone()
            if capacity is not None and taken >= capacity:
                return None
            found = conn.execute(
                "SELECT s.* FROM submissions s JOIN contacts c ON c.id = s.contact_id"
                " WHERE s.offer_slug = ? AND s.status = ? AND c.unsubscribed_at IS NULL AND NOT EXISTS ("
                " SELECT 1 FROM submissions o WHERE o.offer_slug = s.offer_slug AND o.contact_id = s.contact_id AND o.status = ?)"
                " ORDER BY s.id LIMIT 1",
                (offer_slug, WAITLISTED, DELIVERED),
            ).fetchone()
            if found is None:
                return None
            row = {**dict(found), "status": DELIVERED}
            # Their waitlist emails not sent yet (any of their waitlisted registrations) go.
            conn.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE kind = 'delivery' AND status = 'queued' AND submission_id IN ("
                " SELECT id FROM submissions WHERE offer_slug = ? AND contact_id = ? AND status = ?)",
                (offer_slug, row["contact_id"], WAITLISTED),
            )
            conn.execute("UPDATE submissions SET status = ? WHERE id = ?", (DELIVERED, row["id"]))
        return row

    def seats_taken(self, offer_slug: str) -> int:
        """Seats of ``offer_slug`` taken: people with a seated registration."""
        return int(
            self.db.value("SELECT count(DISTINCT contact_id) FROM submissions WHERE offer_slug = ? AND status = ?", (offer_slug, DELIVERED))
        )

    def count_by_status(self, offer_slug: str) -> dict[str, int]:
        """``{status: count}`` of an offer's submissions (``ok``, ``pending``, ``waitlisted``, ``spam``)."""
        rows = self.db.conn.execute("SELECT status, count(*) FROM submissions WHERE offer_slug = ? GROUP BY status", (offer_slug,))
        return {row[0]: row[1] for row in rows}

    # -- the webinar's time -----------------------------------------------------------------

    def webinar_start(self, offer_slug: str) -> str | None:
        """The start (UTC ISO text) the webinar's registrants were last told; None before the first look."""
        return self.db.value("SELECT starts_at FROM webinar_times WHERE offer_slug = ?", (offer_slug,))

    def webinar_sequence(self, offer_slug: str) -> int:
        """How often the webinar's time changed after people registered (its ``.ics`` SEQUENCE)."""
        return int(self.db.value("SELECT sequence FROM webinar_times WHERE offer_slug = ?", (offer_slug,)) or 0)

    def move_webinar(self, offer_slug: str, starts_at: str, now: str | None = None) -> list[dict[str, Any]]:
        """Remember the webinar's start (UTC ISO text); return the people to tell it moved.

        The first time it is only remembered. When it changed, one more ``sequence`` is counted
        and every seated person is returned (one row a person, still subscribed, carrying the
        new ``sequence``) for the caller to queue the news in the same transaction. A person
        whose registration email has not gone out yet is not returned: that email is rebuilt
        with the new time when sent (its built bytes are dropped). Reminders not yet sent for
        the old time are cancelled. When the time they were told has passed (``now``), the page
        was re-dated for another session: that is not news to the last session's people, so the
        new time is only remembered.
        """
        with self.db.writing() as conn:
            known = conn.execute("SELECT starts_at FROM webinar_times WHERE offer_slug = ?", (offer_slug,)).fetchone()
            if known is None:
                conn.execute("INSERT INTO webinar_times (offer_slug, starts_at, sequence) VALUES (?, ?, 0)", (offer_slug, starts_at))
                return []
            if known[0] == starts_at:
                return []
            if now is not None and known[0] <= now:
                conn.execute("UPDATE webinar_times SET starts_at = ? WHERE offer_slug = ?", (starts_at, offer_slug))
                return []
            conn.execute("UPDATE webinar_times SET starts_at = ?, sequence = sequence + 1 WHERE offer_slug = ?", (starts_at, offer_slug))
            (sequence,) = conn.execute("SELECT sequence FROM webinar_times WHERE offer_slug = ?", (offer_slug,)).fetchone()
            # Seated people's registration emails still to go out are rebuilt with the new time
            # when sent (their bytes dropped); reminders queued for the old time are cancelled.
            conn.execute(
                "UPDATE outbox SET message = ?, template = 'registered' WHERE status = 'queued' AND kind IN ('delivery', 'promoted')"
                " AND submission_id IN (SELECT id FROM submissions WHERE offer_slug = ? AND status = ?)",
                (b"", offer_slug, DELIVERED),
            )
            conn.execute(
                "UPDATE outbox SET status = 'cancelled' WHERE status = 'queued' AND kind LIKE 'reminder%'"
                " AND submission_id IN (SELECT id FROM submissions WHERE offer_slug = ?)",
                (offer_slug,),
            )
            seated = conn.execute(
                f"{SEATED_PEOPLE} AND NOT EXISTS (SELECT 1 FROM outbox o JOIN submissions r ON r.id = o.submission_id"  # noqa: S608
                f" WHERE r.contact_id = s.contact_id AND r.offer_slug = s.offer_slug AND r.status = 'ok' AND {_UNSENT_REGISTRATION})"
                " ORDER BY s.id",
                (offer_slug,),
            ).fetchall()
        return [{**dict(row), "sequence": sequence} for row in seated]

    def reminder_due(self, offer_slug: str, kind: str) -> list[dict[str, Any]]:
        """Seated registrants of a webinar without a reminder of ``kind`` yet (``reminder:<start>``:
        a webinar that moves is reminded of again), still subscribed: one row a person."""
        # A plain 'reminder' was written before reminders named their start; it counts while the
        # webinar has not moved since (sequence 0).
        return self.db.rows(
            f"{SEATED_PEOPLE} AND NOT EXISTS (SELECT 1 FROM outbox o JOIN submissions r ON r.id = o.submission_id"  # noqa: S608
            " WHERE r.contact_id = s.contact_id AND r.offer_slug = s.offer_slug AND o.status != 'cancelled' AND (o.kind = ? OR (o.kind = 'reminder'"
            " AND coalesce((SELECT sequence FROM webinar_times WHERE offer_slug = s.offer_slug), 0) = 0))) ORDER BY s.id",
            (offer_slug, kind),
        )

    # -- attendance (an attendee report imported after the webinar) ------------------------------

    def registrants(self, offer_slug: str) -> list[dict[str, Any]]:
        """One row a person registered for webinar ``offer_slug`` (seated or waitlisted): their first
        such submission, with the contact's ``email`` and ``unsubscribed_at``; by submission id."""
        return self.db.rows(
            "SELECT s.*, c.email AS email, c.unsubscribed_at AS unsubscribed_at"
            " FROM (SELECT min(id) AS id FROM submissions WHERE offer_slug = ? AND spam = 0 AND status IN (?, ?) GROUP BY contact_id) AS f"
            " JOIN submissions s ON s.id = f.id JOIN contacts c ON c.id = s.contact_id ORDER BY s.id",
            (offer_slug, DELIVERED, WAITLISTED),
        )

    def mark_attendance(self, submission_id: int, attendance: str) -> str | None:
        """Record ``attended`` or ``no-show`` on a registration; returns what it said before (None: nothing)."""
        if attendance not in ("attended", "no-show"):
            raise ValueError(f"attendance is attended or no-show, not {attendance!r}")
        with self.db.writing() as conn:
            before = conn.execute("SELECT attendance FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            conn.execute("UPDATE submissions SET attendance = ? WHERE id = ?", (attendance, submission_id))
        return before[0] if before is not None else None
