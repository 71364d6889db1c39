"""The SQL of ``lead_responses``: each lead's first email out, for the funnel's response times.

The funnel's response time runs from a lead to its first email leaving the sender. Read from
the raw tables, each of the newest leads of an offer cost a look-up of the submission (is it
spam?) and two into the outbox (was anything sent, and when first): about 15 ms an offer at a
million leads. ``lead_responses`` holds one row per lead (not spam) with an email sent: its
offer, its time and the first ``sent_at``, so the newest leads of an offer and period are one
range of one index.

Triggers keep it equal to the raw rows: an outbox row sent, re-pointed or deleted, and a
submission marked or released from spam, moved, or deleted (erasure), refresh the row of the
submission they touch (delete it, insert it again from the submission and its outbox rows).
Plain SQL, for the migration and the PostgreSQL twin.
"""

from __future__ import annotations

TABLE = (
    "CREATE TABLE lead_responses (submission_id INTEGER PRIMARY KEY, offer_slug TEXT NOT NULL, created_at TEXT NOT NULL,"
    " sent_at TEXT NOT NULL)"
)
INDEX = "CREATE INDEX lead_responses_newest ON lead_responses(offer_slug, created_at, submission_id, sent_at)"


def refresh(submission: str) -> str:
    """SQL statements making submission ``submission``'s ``lead_responses`` row true again (an SQL expression)."""
    first = f"SELECT min(o.sent_at) FROM outbox o WHERE o.submission_id = {submission} AND o.sent_at IS NOT NULL"  # noqa: S608
    return (
        f"DELETE FROM lead_responses WHERE submission_id = {submission};\n"  # noqa: S608
        "INSERT INTO lead_responses (submission_id, offer_slug, created_at, sent_at) SELECT r.id, r.offer_slug, r.created_at, r.sent_at"
        f" FROM (SELECT s.id, s.offer_slug, s.created_at, ({first}) AS sent_at FROM submissions s WHERE s.id = {submission}"
        " AND s.spam = 0) AS r WHERE r.sent_at IS NOT NULL;"
    )


TRIGGERS = (
    f"CREATE TRIGGER lead_responses_sent AFTER INSERT ON outbox WHEN NEW.sent_at IS NOT NULL BEGIN\n{refresh('NEW.submission_id')}\nEND",
    "CREATE TRIGGER lead_responses_resent AFTER UPDATE OF sent_at, submission_id ON outbox BEGIN\n"
    f"{refresh('OLD.submission_id')}\n{refresh('NEW.submission_id')}\nEND",
    f"CREATE TRIGGER lead_responses_unsent AFTER DELETE ON outbox WHEN OLD.sent_at IS NOT NULL BEGIN\n{refresh('OLD.submission_id')}\nEND",
    f"CREATE TRIGGER lead_responses_lead AFTER UPDATE OF spam, created_at, offer_slug ON submissions BEGIN\n{refresh('NEW.id')}\nEND",
    "CREATE TRIGGER lead_responses_erased AFTER DELETE ON submissions BEGIN DELETE FROM lead_responses WHERE submission_id = OLD.id; END",
)

# The upgrade: every lead's first email out, grouped once over the outbox.
BACKFILL = (
    "INSERT INTO lead_responses (submission_id, offer_slug, created_at, sent_at) SELECT s.id, s.offer_slug, s.created_at, f.sent_at"
    " FROM (SELECT submission_id, min(sent_at) AS sent_at FROM outbox WHERE sent_at IS NOT NULL AND submission_id IS NOT NULL"
    " GROUP BY submission_id) AS f JOIN submissions s ON s.id = f.submission_id WHERE s.spam = 0"
)

# The newest ``?`` leads of an offer and period with an email sent, newest first: (created_at, sent_at).
NEWEST = (
    "SELECT created_at, sent_at FROM lead_responses WHERE offer_slug = ? AND created_at >= ? AND created_at < ?"
    " ORDER BY created_at DESC, submission_id DESC LIMIT ?"
)
