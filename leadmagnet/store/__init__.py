"""The store: the one owner of the database connection, every SQL statement and the migrations.

Nothing outside this package imports ``sqlite3`` or ``sqlite_utils``, and no connection leaves
it: callers use the :class:`Store`'s verbs, which take and return plain dicts. The verbs are
grouped by concern in small classes composed into the store (``leads``, ``seats``, ``outbox``,
``reports``, ``admin``, ``dashboard``, ``privacy``, ``sequences``, ``scoring``, ``webhooks``,
``experiments``; one module each) and offered flat on it, so a caller never needs to know which
group owns a verb. Another database (PostgreSQL) fits behind the same verbs.

Writes that belong together go through one transaction::

    with store.transaction() as tx:
        outcome = tx.record_submission(...)
        tx.claim_seat(outcome["submission"]["id"], offer.slug, offer.capacity)
        tx.enqueue_email(...)

It is ``BEGIN IMMEDIATE`` … ``COMMIT``: taking the write lock up front means a busy database makes
us wait (``busy_timeout``) instead of failing half-way, a failure anywhere in the block rolls
every write of it back, and the caller answers the visitor only after COMMIT. Each verb called
on its own runs in a transaction of its own. Rate-limit counters live in a file of their own
(:class:`~leadmagnet.store.ratelimits.RateLimits`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leadmagnet.store.admin import Admin
from leadmagnet.store.backup import Backup
from leadmagnet.store.connection import DatabaseError, IntegrityError, Params, StoreUnavailable, connect, not_text_message, utcnow
from leadmagnet.store.dashboard import Dashboard
from leadmagnet.store.experiments import Experiments
from leadmagnet.store.exporting import Exporting
from leadmagnet.store.leads import DELIVERED, PENDING, WAITLISTED, Leads
from leadmagnet.store.migrations import migrations
from leadmagnet.store.migrations import postgres as postgres_migrations
from leadmagnet.store.outbox import Outbox
from leadmagnet.store.privacy import Privacy
from leadmagnet.store.reports import Reports
from leadmagnet.store.scoring import Scoring
from leadmagnet.store.seats import Seats
from leadmagnet.store.sequences import Sequences
from leadmagnet.store.webhooks import Webhooks

__all__ = [
    "DELIVERED",
    "PENDING",
    "WAITLISTED",
    "DatabaseError",
    "IntegrityError",
    "Store",
    "StoreUnavailable",
    "Transaction",
    "not_text_message",
    "utcnow",
]


class Transaction:
    """The writes that belong together, inside one :meth:`Store.transaction`.

    A submission with its seat and its email; a confirmation with the seat and the delivery
    email; a waitlisted person seated with the news; a moved webinar with the emails that tell
    its people. Reads made here see the transaction's own writes.
    """

    def __init__(self, leads: Leads, seats: Seats, outbox: Outbox, sequences: Sequences, scoring: Scoring, webhooks: Webhooks) -> None:
        self.record_submission = leads.record_submission
        self.release_spam = leads.release_spam
        self.confirm_opt_in = leads.confirm_opt_in
        self.mark_opt_in_pending = leads.mark_opt_in_pending
        self.get_contact = leads.get_contact
        self.record_download = leads.record_download
        self.claim_seat = seats.claim_seat
        self.seat_next_waitlisted = seats.seat_next_waitlisted
        self.move_webinar = seats.move_webinar
        self.enqueue_email = outbox.enqueue_email
        self.mark_attendance = seats.mark_attendance
        self.start_sequence = sequences.start_sequence
        self.stop_sequences = sequences.stop_sequences
        self.advance_sequence = sequences.advance_sequence
        self.add_points = scoring.add_points
        self.raise_stage = scoring.raise_stage
        self.offers_of = scoring.offers_of
        self.get_submission = leads.get_submission
        self.unsubscribe = leads.unsubscribe
        self.enqueue_webhook = webhooks.enqueue_webhook


class Store:
    """All persistent state of a leadmagnet install: one SQLite file, or one PostgreSQL database.

    ``target`` is a path (or ``sqlite:///path``) for SQLite, the default, or a
    ``postgresql://user:password@host/db`` URL (store/postgres.py): the same verbs on both.
    """

    now = staticmethod(utcnow)  # the store's timestamp format (ISO 8601 UTC, microseconds)

    def __init__(self, target: str | Path) -> None:
        self._db = connect(target)
        self.path = self._db.path
        self.backend: str = self._db.dialect  # "sqlite" or "postgresql"
        leads, seats, outbox = Leads(self._db), Seats(self._db), Outbox(self._db)
        reports, admin, privacy = Reports(self._db), Admin(self._db), Privacy(self._db)
        sequences, scoring, webhooks = Sequences(self._db), Scoring(self._db), Webhooks(self._db)
        self._transaction = Transaction(leads, seats, outbox, sequences, scoring, webhooks)
        experiments = Experiments(self._db)
        dashboard = Dashboard(self._db)

        # Leads (store/leads.py): contacts, submissions, opt-in, unsubscribing, downloads, views.
        self.record_submission = leads.record_submission
        self.release_spam = leads.release_spam
        self.get_submission = leads.get_submission
        self.get_contact = leads.get_contact
        self.get_contact_by_email = leads.get_contact_by_email
        self.submissions = leads.submissions
        self.contacts = leads.contacts
        self.submission_for_link = leads.submission_for_link
        self.contact_for_link = leads.contact_for_link
        self.count_submissions = leads.count_submissions
        self.lead_counts = leads.lead_counts
        self.mark_opt_in_pending = leads.mark_opt_in_pending
        self.confirm_opt_in = leads.confirm_opt_in
        self.confirmation_withdrawn = leads.confirmation_withdrawn
        self.unsubscribe = leads.unsubscribe
        self.record_download = leads.record_download
        self.downloads_of = leads.downloads_of
        self.add_page_views = leads.add_page_views
        self.page_views = leads.page_views
        # Seats (store/seats.py): webinar seats, the waitlist, the announced time, reminders.
        self.claim_seat = seats.claim_seat
        self.seat_next_waitlisted = seats.seat_next_waitlisted
        self.seats_taken = seats.seats_taken
        self.count_by_status = seats.count_by_status
        self.webinar_start = seats.webinar_start
        self.webinar_sequence = seats.webinar_sequence
        self.move_webinar = seats.move_webinar
        self.reminder_due = seats.reminder_due
        self.registrants = seats.registrants
        self.mark_attendance = seats.mark_attendance
        # Sequences (store/sequences.py): each person's place in each offer's follow-up sequence.
        self.start_sequence = sequences.start_sequence
        self.stop_sequences = sequences.stop_sequences
        self.sequence_version = sequences.sequence_version
        self.sequence_rows = sequences.sequence_rows
        self.reschedule_sequence = sequences.reschedule_sequence
        self.due_sequence_steps = sequences.due_sequence_steps
        self.advance_sequence = sequences.advance_sequence
        self.sequences_of = sequences.sequences_of
        # Scoring (store/scoring.py): scores, lifecycle stages, scored events.
        self.add_points = scoring.add_points
        self.raise_stage = scoring.raise_stage
        self.mark_sales_qualified = scoring.mark_sales_qualified
        self.decay_scores = scoring.decay_scores
        self.score_events_of = scoring.score_events_of
        self.offers_of = scoring.offers_of
        # Outbox (store/outbox.py): queued emails and every attempt to send them.
        self.enqueue_email = outbox.enqueue_email
        self.save_rendered = outbox.save_rendered
        self.claim_due_emails = outbox.claim_due_emails
        self.mark_attempt = outbox.mark_attempt
        self.forget_sent_messages = outbox.forget_sent_messages
        self.outbox = outbox.outbox
        self.email_attempts = outbox.email_attempts
        # Reports (store/reports.py, store/exporting.py): export rows, counts and cursors, the leads list.
        self.export_query = Exporting(self._db).export_query
        self.count_export_rows = reports.count_export_rows
        self.get_export_cursor = reports.get_export_cursor
        self.get_export_cursor_time = reports.get_export_cursor_time
        self.save_export_cursor = reports.save_export_cursor
        self.max_submission_id = reports.max_submission_id
        self.list_leads = reports.list_leads
        # Admin (store/admin.py): users, the audit log, the dashboard.
        self.add_user = admin.add_user
        self.get_user = admin.get_user
        self.audit = admin.audit
        self.audit_entries = admin.audit_entries
        self.dashboard = admin.dashboard
        self.email_health = admin.email_health
        # Dashboard (store/dashboard.py): the roll-ups behind the charts, breakdowns and funnel.
        self.daily_counts = dashboard.daily_counts
        self.breakdown = dashboard.breakdown
        self.response_seconds = dashboard.response_seconds
        self.attendance = dashboard.attendance
        # Privacy (store/privacy.py): one contact's record, its erasure, emptying the WAL.
        self.contact_record = privacy.contact_record
        self.erase_contact = privacy.erase_contact
        self.checkpoint = privacy.checkpoint
        # Backup (store/backup.py): a verified online copy of an SQLite file (PostgreSQL: pg_dump).
        self.backup_to = Backup(self._db).backup_to
        # Webhooks (store/webhooks.py): events owed to each endpoint, claims, attempts, endpoint health.
        self.enqueue_webhook = webhooks.enqueue_webhook
        self.claim_webhook = webhooks.claim_webhook
        self.webhook_delivered = webhooks.webhook_delivered
        self.webhook_failed = webhooks.webhook_failed
        self.webhook_endpoint_failed = webhooks.webhook_endpoint_failed
        self.disable_webhook_endpoint = webhooks.disable_webhook_endpoint
        self.enable_webhook_endpoint = webhooks.enable_webhook_endpoint
        self.retry_webhooks = webhooks.retry_webhooks
        self.fail_webhooks_not_in = webhooks.fail_webhooks_not_in
        self.forget_webhook_events = webhooks.forget_webhook_events
        self.webhook_endpoint_states = webhooks.webhook_endpoint_states
        self.webhook_counts = webhooks.webhook_counts
        self.webhook_deliveries = webhooks.webhook_deliveries
        self.webhook_events = webhooks.webhook_events
        # Experiments (store/experiments.py): views and submissions per A/B variant.
        self.add_variant_views = experiments.add_variant_views
        self.variant_days = experiments.variant_days
        self.variant_views = experiments.variant_views

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` around the block; any exception rolls it all back and is re-raised.

        The yielded :class:`Transaction` offers the writes that belong together. A verb called
        inside the block (on the transaction or on the store) joins it, on this thread.
        """
        with self._db.writing():
            yield self._transaction

    # -- schema and health ------------------------------------------------------------------

    def migrate(self, stop_before: str | None = None) -> list[str]:
        """Apply pending migrations; return the names applied."""
        # Several gunicorn workers (or nodes) start at once: the write lock makes exactly one of
        # them apply the pending migrations while the others wait and then find nothing to do.
        with self._db.writing() as conn:
            if self.backend == "postgresql":
                return postgres_migrations.apply(conn.raw, utcnow(), stop_before=stop_before)
            db = self._db.database
            pending = [m.name for m in migrations.pending(db)]
            migrations.apply(db, stop_before=stop_before)
            applied = {m.name for m in migrations.applied(db)}
        return [name for name in pending if name in applied]

    def schema_version(self) -> list[str]:
        """The names of the migrations applied, in order."""
        if self.backend == "postgresql":
            return postgres_migrations.applied(self._db.conn.raw)
        return [m.name for m in migrations.applied(self._db.database)]

    def pending_migrations(self) -> list[str]:
        """The names of the migrations not applied yet, in order."""
        if self.backend == "postgresql":
            done = set(postgres_migrations.applied(self._db.conn.raw))
            return [name for name in postgres_migrations.history() if name not in done]
        return [m.name for m in migrations.pending(self._db.database)]

    def tables(self) -> list[str]:
        if self.backend == "postgresql":
            return [r["tablename"] for r in self._db.rows("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")]
        return self._db.database.table_names()

    def healthcheck(self) -> bool:
        """True when the database opens and answers a query."""
        try:
            self._db.value("SELECT 1")
        except DatabaseError:
            return False
        return True

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok"); PostgreSQL checks its pages itself: "ok" when it answers."""
        if self.backend == "postgresql":
            return "ok" if self.healthcheck() else "unreachable"
        return str(self._db.value("PRAGMA integrity_check"))

    def close(self) -> None:
        """Close this thread's connection (the next verb opens a fresh one)."""
        self._db.close()

    def shutdown(self) -> None:
        """Close every connection (PostgreSQL: the whole pool); the store is not used again."""
        getattr(self._db, "shutdown", self._db.close)()

    # -- for tests and diagnostics (SQLite only: not verbs another backend offers) ------------

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Run a read query and return every row as a dict (a look at what no verb shows)."""
        return self._db.rows(sql, params)

    def query_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        return self._db.row(sql, params)

    @property
    def conn(self) -> Any:
        """This thread's connection (``sqlite3.Connection``; on PostgreSQL the adapter with ``?``
        placeholders), for tests that make the database fail (``PRAGMA query_only``)."""
        return self._db.conn
