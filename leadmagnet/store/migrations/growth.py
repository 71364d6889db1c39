"""Migrations m010 on: nurturing, webhooks, A/B tests, the dashboard's roll-ups (see the package doc)."""

from __future__ import annotations

from sqlite_utils import Database

from leadmagnet.store import contact_summaries, lead_responses
from leadmagnet.store.migrations import migrations
from leadmagnet.store.offer_people import BACKFILL, CREATE_TABLES, people_triggers
from leadmagnet.store.rollups import (
    DOWNLOAD_TRIGGERS,
    LEAD_COUNTED,
    LEAD_DAYS_EMPTIED,
    LEAD_MEASURES,
    count_leads,
    download_counted,
    lead_days_add,
    lead_days_triggers,
)


@migrations()
def m010_nurture(db: Database) -> None:
    """Follow-up sequences, lead scores and lifecycle stages, webinar attendance.

    ``sequence_progress`` is one person's place in one offer's sequence (one row per contact and
    offer, however often they submit it): ``position`` is the delay in seconds of the last email
    sent (-1: none yet), ``next_due_at`` when the next one is due (NULL: none left).
    ``sequence_versions`` remembers the sequence each offer had when the rows' due times were
    worked out, so an edit reschedules them. ``score_events`` records each scored event once per
    contact (``key``), so an event counted twice (an attendance report imported again) adds
    nothing. The contact keeps its score, when it last changed, and its stage.
    """
    db.execute("ALTER TABLE contacts ADD COLUMN score INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE contacts ADD COLUMN score_at TEXT")
    db.execute("ALTER TABLE contacts ADD COLUMN lifecycle_stage TEXT NOT NULL DEFAULT 'subscriber'")
    db.execute("ALTER TABLE contacts ADD COLUMN sales_qualified_at TEXT")
    db.execute("CREATE INDEX contacts_score ON contacts(score, id)")
    db.execute("ALTER TABLE submissions ADD COLUMN attendance TEXT")
    db.execute(
        """
        CREATE TABLE score_events (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            event TEXT NOT NULL,
            offer_slug TEXT,
            points INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (contact_id, key)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE sequence_progress (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
            offer_slug TEXT NOT NULL,
            started_at TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT -1,
            sent INTEGER NOT NULL DEFAULT 0,
            last_sent_at TEXT,
            next_due_at TEXT,
            status TEXT NOT NULL DEFAULT 'active',
            stopped_reason TEXT,
            stopped_at TEXT,
            UNIQUE (contact_id, offer_slug)
        )
        """
    )
    db.execute("CREATE INDEX sequence_due ON sequence_progress(offer_slug, status, next_due_at)")
    db.execute("CREATE INDEX sequence_submission ON sequence_progress(submission_id)")
    db.execute("CREATE TABLE sequence_versions (offer_slug TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)")


@migrations()
def m011_hooks_webhooks(db: Database) -> None:
    """Webhooks: the events owed to each endpoint (an outbox), and each endpoint's health.

    ``webhook_events`` holds each event's exact JSON body, written in the transaction that made
    it happen; ``contact_id`` lets an erasure delete every payload that names the person (it is
    NULL for ``contact.erased``, which names only an id). ``webhook_deliveries`` is one row per
    event and endpoint (its URL), claimed by the sender with a lease like the email outbox;
    ``claim`` names the claim that may record a failure. ``webhook_endpoints`` counts consecutive
    failures, and says when an endpoint was disabled or asked us to wait (``Retry-After``).
    """
    db.execute(
        """
        CREATE TABLE webhook_events (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            contact_id INTEGER,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX webhook_events_contact ON webhook_events(contact_id)")
    db.execute("CREATE INDEX webhook_events_created ON webhook_events(created_at)")
    db.execute(
        """
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            event_id INTEGER NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
            endpoint TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claim TEXT,
            last_code INTEGER,
            last_error TEXT,
            last_attempt_at TEXT,
            delivered_at TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (event_id, endpoint)
        )
        """
    )
    db.execute("CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at)")
    db.execute("CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint, id)")
    db.execute(
        """
        CREATE TABLE webhook_endpoints (
            url TEXT PRIMARY KEY,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            paused_until TEXT,
            disabled_at TEXT,
            disabled_reason TEXT
        )
        """
    )


@migrations()
def m012_ab_variants(db: Database) -> None:
    """A/B tests: the variant each submission's page showed, and views per variant and day.

    ``variant_views`` is the test's own counter (fed by the same page serve and beacon paths
    as ``page_views``, which it leaves alone). The partial index serves the report's count of
    submissions per offer, variant and day without reading submissions made outside any test.
    """
    db.execute("ALTER TABLE submissions ADD COLUMN variant TEXT")
    db.execute(
        "CREATE TABLE variant_views (offer_slug TEXT NOT NULL, day TEXT NOT NULL, variant TEXT NOT NULL,"
        " views INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (offer_slug, day, variant))"
    )
    db.execute("CREATE INDEX submissions_variant ON submissions(offer_slug, variant, created_at) WHERE variant IS NOT NULL")


# -- the dashboard's roll-ups: the SQL is written in store/rollups.py -------------------------------


@migrations()
def m013_dashboard_rollups(db: Database) -> None:
    """Daily roll-ups for the dashboard, so its charts and breakdowns cost the same at a million leads.

    * ``lead_days``: per offer, UTC day, dimension (``total``, ``source``, ``medium``,
      ``campaign``, ``referrer`` domain, ``device`` class) and value, the number of leads, spam,
      confirmed and seated submissions. Triggers keep it equal to the submissions table through
      every insert, update (opt-in, "Not spam", a seat, an erasure's redaction) and delete
      (erasure), whichever code (or sqlite3 shell) makes them; the referrer domain and device
      class are worked out in SQL by the rules of :mod:`leadmagnet.foundation.traffic`. A row
      that falls to zero is deleted, so an erased person's campaign name does not linger. The
      ``total`` row's value is the offer's type, and it also counts ``downloaded`` leads (kept by
      triggers on ``downloads``).
    * ``downloads.offer_slug`` and ``contact_id``, filled by a trigger, and the indexes
      ``downloads_by_offer`` and ``submissions_people``: the per-offer table's downloads, people
      and webinar registrations from indexes alone.
    * ``page_view_details``: views per offer, UTC day, dimension (``medium``, ``campaign``,
      ``referrer``, ``device``) and value. ``page_views`` keeps the total and ``utm_source`` as
      before; views counted before this migration have no details (the dashboard says so).
    """
    names = ", ".join(LEAD_MEASURES)
    db.execute(
        f"""
        CREATE TABLE lead_days (
            offer_slug TEXT NOT NULL,
            day TEXT NOT NULL,
            dimension TEXT NOT NULL,
            value TEXT NOT NULL,
            {", ".join(f"{m} INTEGER NOT NULL DEFAULT 0" for m in LEAD_MEASURES)},
            downloaded INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (offer_slug, day, dimension, value)
        )
        """
    )
    db.execute("CREATE INDEX lead_days_by_day ON lead_days(dimension, day)")
    # The existing submissions are counted in Python, one pass, by the same rules the triggers
    # write in SQL (tests/test_traffic.py runs both): SQL sub-selects per row took minutes at a million.
    rows = db.conn.execute(
        "SELECT offer_slug, substr(created_at, 1, 10), utm_source, utm_medium, utm_campaign, referrer, user_agent, spam, status, offer_type"
        " FROM submissions"
    )
    db.conn.executemany(
        f"INSERT INTO lead_days (offer_slug, day, dimension, value, {names}) VALUES (?, ?, ?, ?, {', '.join('?' for _ in LEAD_MEASURES)})",  # noqa: S608
        [(*key, *counts) for key, counts in count_leads(rows).items()],
    )
    db.execute(
        "UPDATE lead_days SET downloaded = (SELECT count(DISTINCT d.submission_id) FROM downloads d JOIN submissions s ON s.id = d.submission_id"  # noqa: S608
        f" WHERE s.spam = 0 AND s.offer_slug = lead_days.offer_slug AND s.created_at >= lead_days.day AND s.created_at < date(lead_days.day, '+1 day')"
        f" AND {download_counted('d')}) WHERE dimension = 'total'"
    )
    db.execute("ALTER TABLE downloads ADD COLUMN offer_slug TEXT")
    db.execute("ALTER TABLE downloads ADD COLUMN contact_id INTEGER")
    db.execute(
        "UPDATE downloads SET (offer_slug, contact_id) = (SELECT offer_slug, contact_id FROM submissions WHERE id = downloads.submission_id)"
    )
    db.execute("CREATE INDEX downloads_by_offer ON downloads(offer_slug, created_at, contact_id, range_request)")
    # Webinar registrations are people in a period: read from this index alone, never the table.
    db.execute("CREATE INDEX submissions_people ON submissions(offer_slug, status, spam, created_at, contact_id)")
    for trigger in DOWNLOAD_TRIGGERS:
        db.execute(trigger)
    db.execute(f"CREATE TRIGGER lead_days_insert AFTER INSERT ON submissions BEGIN\n{lead_days_add('NEW', '+')}\nEND")
    db.execute(
        f"CREATE TRIGGER lead_days_update AFTER UPDATE OF {', '.join(LEAD_COUNTED)} ON submissions BEGIN\n"
        f"{lead_days_add('OLD', '-')}\n{lead_days_add('NEW', '+')}\n{LEAD_DAYS_EMPTIED}\nEND"
    )
    db.execute(f"CREATE TRIGGER lead_days_delete AFTER DELETE ON submissions BEGIN\n{lead_days_add('OLD', '-')}\n{LEAD_DAYS_EMPTIED}\nEND")
    db.execute(
        """
        CREATE TABLE page_view_details (
            offer_slug TEXT NOT NULL,
            day TEXT NOT NULL,
            dimension TEXT NOT NULL,
            value TEXT NOT NULL,
            views INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (offer_slug, day, dimension, value)
        )
        """
    )
    db.execute("CREATE INDEX page_views_by_day ON page_views(day)")
    db.execute("CREATE INDEX page_view_details_by_day ON page_view_details(dimension, day)")


# variant_lead_days: a submission's count moved by one (sign) on its offer, UTC day and variant,
# when it is a lead (not spam) of an A/B test. "WHERE" lets SQLite tell the upsert's ON CONFLICT
# from a join's ON (its documented parsing rule).
def _variant_lead(r: str, sign: str) -> str:
    return (
        f"INSERT INTO variant_lead_days (offer_slug, day, variant, submissions) SELECT {r}.offer_slug, substr({r}.created_at, 1, 10),"
        f" {r}.variant, {sign}1 WHERE {r}.variant IS NOT NULL AND {r}.spam = 0"
        " ON CONFLICT (offer_slug, day, variant) DO UPDATE SET submissions = submissions + excluded.submissions;"
    )


@migrations()
def m014_variant_rollup(db: Database) -> None:
    """A/B tests' leads per offer, UTC day and variant, kept by triggers like ``lead_days``.

    The report looks at a test as it stood at the end of each day; counting the submissions per
    day and variant from the table read every lead of the test (two seconds for half a million on
    the dashboard). ``variant_lead_days`` holds those counts: the triggers keep it equal to the
    non-spam submissions with a variant through every insert, update ("Not spam", a moved date)
    and delete (erasure), and a row that falls to zero is deleted. Variant names and counts only:
    nothing personal.
    """
    db.execute(
        "CREATE TABLE variant_lead_days (offer_slug TEXT NOT NULL, day TEXT NOT NULL, variant TEXT NOT NULL,"
        " submissions INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (offer_slug, day, variant))"
    )
    db.execute(
        "INSERT INTO variant_lead_days (offer_slug, day, variant, submissions) SELECT offer_slug, substr(created_at, 1, 10), variant,"
        " count(*) FROM submissions WHERE variant IS NOT NULL AND spam = 0 GROUP BY 1, 2, 3"
    )
    emptied = (
        "DELETE FROM variant_lead_days WHERE offer_slug = OLD.offer_slug AND day = substr(OLD.created_at, 1, 10)"
        " AND variant = OLD.variant AND submissions = 0;"
    )
    db.execute(f"CREATE TRIGGER variant_lead_days_insert AFTER INSERT ON submissions BEGIN {_variant_lead('NEW', '+')} END")
    db.execute(
        "CREATE TRIGGER variant_lead_days_update AFTER UPDATE OF offer_slug, created_at, variant, spam ON submissions BEGIN"
        f" {_variant_lead('OLD', '-')} {_variant_lead('NEW', '+')} {emptied} END"
    )
    db.execute(f"CREATE TRIGGER variant_lead_days_delete AFTER DELETE ON submissions BEGIN {_variant_lead('OLD', '-')} {emptied} END")


@migrations()
def m015_submit_rollup_triggers(db: Database) -> None:
    """The ``lead_days`` triggers again, with the cheaper referrer-domain SQL (same results).

    The referrer's nested sub-selects ran on every submission, empty referrer or not: a third of
    the roll-up's cost, which is paid inside each form post's transaction (issue 20).
    """
    for name in ("lead_days_insert", "lead_days_update", "lead_days_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    for trigger in lead_days_triggers():
        db.execute(trigger)


# -- the dashboard's speed at a million leads (issue 20): plain SQL, for the PostgreSQL twin too ----

# The breakdowns, charts and per-offer views sum one value's counts over the days of a period:
# indexes holding the count read no table row (they replace the indexes on (dimension, day) and day).
DASHBOARD_INDEXES = (
    "DROP INDEX IF EXISTS lead_days_by_day",
    "CREATE INDEX lead_days_by_value ON lead_days(dimension, day, value, offer_slug, submissions)",
    "DROP INDEX IF EXISTS page_view_details_by_day",
    "CREATE INDEX page_view_details_by_value ON page_view_details(dimension, day, value, offer_slug, views)",
    "DROP INDEX IF EXISTS page_views_by_day",
    "CREATE INDEX page_views_by_value ON page_views(day, offer_slug, utm_source, views)",
    # Attendance arrives after a webinar, for its leads only: the funnel reads just the reported ones,
    # from the index alone (spam is in it so that the planner needs no table row to check it).
    "CREATE INDEX submissions_attendance ON submissions(offer_slug, created_at, attendance, spam) WHERE attendance IS NOT NULL AND spam = 0",
)


@migrations()
def m016_dashboard_speed(db: Database) -> None:
    """The dashboard over a million leads reads days and indexes, not every row (issue 20).

    * ``offer_people`` and ``offer_days`` (:mod:`leadmagnet.store.offer_people`): the people who
      downloaded each offer, hold a seat or wait for one, each on the UTC day of their first time,
      and the downloads per day, kept by triggers on ``downloads`` and ``submissions``;
    * ``lead_responses`` (:mod:`leadmagnet.store.lead_responses`): each lead's first email out,
      kept by triggers on ``outbox`` and ``submissions``, for the funnel's response times;
    * covering indexes for the breakdowns, and a partial one for webinar attendance.

    Both roll-ups are counted here once from the rows already stored, then the triggers made.
    """
    for statement in (*CREATE_TABLES, *BACKFILL, lead_responses.TABLE, lead_responses.BACKFILL, lead_responses.INDEX):
        db.execute(statement)
    for statement in (*people_triggers(), *lead_responses.TRIGGERS, *DASHBOARD_INDEXES):
        db.execute(statement)


@migrations()
def m017_export_contact_summaries(db: Database) -> None:
    """``contact_summaries``: each contact's non-spam submissions summed up, kept by triggers, so a
    contacts export reads one row per contact instead of grouping every submission (issue 20;
    :mod:`leadmagnet.store.contact_summaries`). Counted here once from the rows already stored."""
    for statement in (contact_summaries.TABLE, contact_summaries.backfill(), *contact_summaries.triggers()):
        db.execute(statement)
