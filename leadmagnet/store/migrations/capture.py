"""Migrations m001-m009: capture, delivery, the admin and the outbox (see the package doc)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

from leadmagnet.store.migrations import migrations
from leadmagnet.store.rollups import (
    RANGE_DOWNLOADS_COUNTED_SINCE,
)


@migrations()
def m001_capture(db: Database) -> None:
    """The first schema: contacts, submissions and daily page views."""
    db.execute(
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            first_name TEXT,
            last_name TEXT,
            company TEXT,
            job_title TEXT,
            phone TEXT,
            country TEXT,
            custom TEXT NOT NULL DEFAULT '{}',
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE submissions (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id),
            offer_slug TEXT NOT NULL,
            offer_type TEXT NOT NULL,
            data TEXT NOT NULL,
            consent_text TEXT,
            consent_at TEXT,
            utm_source TEXT,
            utm_medium TEXT,
            utm_campaign TEXT,
            utm_term TEXT,
            utm_content TEXT,
            referrer TEXT,
            user_agent TEXT,
            ip_marker TEXT,
            spam INTEGER NOT NULL DEFAULT 0,
            spam_reason TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX submissions_contact ON submissions(contact_id)")
    db.execute("CREATE INDEX submissions_offer_created ON submissions(offer_slug, created_at)")
    db.execute(
        """
        CREATE TABLE page_views (
            offer_slug TEXT NOT NULL,
            day TEXT NOT NULL,
            utm_source TEXT NOT NULL DEFAULT '',
            views INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (offer_slug, day, utm_source)
        )
        """
    )


@migrations()
def m002_offer_context(db: Database) -> None:
    """Keep the offer's tags and stage with each submission, as they were when it was made."""
    db.execute("ALTER TABLE submissions ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE submissions ADD COLUMN stage TEXT")
    db.execute("CREATE INDEX submissions_dedupe ON submissions(contact_id, offer_slug, created_at)")
    db.execute("CREATE INDEX submissions_created ON submissions(created_at, id)")


@migrations()
def m003_delivery(db: Database) -> None:
    """Delivery: submission status (seats, double opt-in), opt-in state, downloads, the outbox."""
    # status: 'ok' (delivered or deliverable), 'pending' (awaiting double opt-in confirmation),
    # 'waitlisted' (webinar full), 'spam'.
    db.execute("ALTER TABLE submissions ADD COLUMN status TEXT NOT NULL DEFAULT 'ok'")
    db.execute("ALTER TABLE submissions ADD COLUMN confirmed_at TEXT")
    db.execute("ALTER TABLE contacts ADD COLUMN opt_in_status TEXT NOT NULL DEFAULT 'single'")
    db.execute("ALTER TABLE contacts ADD COLUMN opt_in_at TEXT")
    db.execute("ALTER TABLE contacts ADD COLUMN unsubscribed_at TEXT")
    db.execute("CREATE INDEX submissions_offer_status ON submissions(offer_slug, status)")
    db.execute(
        """
        CREATE TABLE downloads (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            range_request INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX downloads_submission ON downloads(submission_id)")
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER REFERENCES submissions(id) ON DELETE CASCADE,
            contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            to_addr TEXT NOT NULL,
            subject TEXT NOT NULL,
            message BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            UNIQUE (submission_id, kind)
        )
        """
    )
    db.execute("CREATE INDEX outbox_due ON outbox(status, next_attempt_at)")
    db.execute(
        """
        CREATE TABLE email_attempts (
            id INTEGER PRIMARY KEY,
            outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            error TEXT
        )
        """
    )


@migrations()
def m004_admin(db: Database) -> None:
    """Admin users, export cursors and a personal-data-free audit log."""
    db.execute(
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE export_cursors (
            name TEXT PRIMARY KEY,
            last_id INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            detail TEXT
        )
        """
    )
    db.execute("CREATE INDEX contacts_last_seen ON contacts(last_seen, id)")


@migrations()
def m005_outbox_template(db: Database) -> None:
    """Emails are rendered by the sender, not under the submission's write lock.

    ``template`` names the email template of a queued row whose ``message`` is not built yet
    (NULL once it is): the submission's transaction then only writes a small row.
    """
    db.execute("ALTER TABLE outbox ADD COLUMN template TEXT")


# Keys of store_meta written by m006_link_stamps (see there): RANGE_DOWNLOADS_COUNTED_SINCE,
# defined with the roll-up's SQL that reads it (store/rollups.py).


@migrations()
def m006_link_stamps(db: Database) -> None:
    """A small key/value table of facts about the database itself (never personal data).

    It starts with one: from this moment a download answered with part of the file is recorded
    only when it starts at byte 0 (before, every range request was recorded, and none was
    counted), so the dashboard counts range rows only from here on. (The signed links that gave
    the migration its name need nothing stored: see :mod:`leadmagnet.foundation.tokens`.)
    """
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    db.execute("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)", [RANGE_DOWNLOADS_COUNTED_SINCE, now])


@migrations()
def m007_released_spam(db: Database) -> None:
    """When an admin made a submission held as spam a lead ("Not spam"), and failed emails by date.

    ``released_at`` brings a released submission into the next incremental export, as
    ``confirmed_at`` does a confirmed one (its id is older than the export's cursor). The index
    serves the dashboard's count of failed emails in a period without reading every failed row.
    """
    db.execute("ALTER TABLE submissions ADD COLUMN released_at TEXT")
    db.execute("CREATE INDEX outbox_failed ON outbox(status, created_at)")


@migrations()
def m008_sent_message_index(db: Database) -> None:
    """Find sent emails that still keep their bytes, oldest first (``LEADMAGNET_KEEP_SENT_EMAILS_DAYS``).

    Partial: a row leaves the index once its bytes are dropped, so the sender's check each pass
    reads only the rows it is about to trim.
    """
    db.execute("CREATE INDEX outbox_untrimmed ON outbox(sent_at) WHERE status = 'sent' AND message != X''")


@migrations()
def m009_webinar_times(db: Database) -> None:
    """The start time each webinar's registrants were last told, and how often it changed.

    A marketer who moves a webinar edits ``starts_at``; the sender compares it with this, emails
    every seated registrant the new time, and ``sequence`` (RFC 5545 SEQUENCE) tells calendars
    that the new ``.ics`` replaces the old one.
    """
    db.execute("CREATE TABLE webinar_times (offer_slug TEXT PRIMARY KEY, starts_at TEXT NOT NULL, sequence INTEGER NOT NULL)")
