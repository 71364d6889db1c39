"""The SQL of ``contact_summaries``: each contact's non-spam submissions summed up, for the contacts export.

A contacts export joins every contact with its submissions. Grouping a million submissions by
contact cost more than computing every cell (0.7 s of the SQL's 1.1 s per 200,000 contacts), so the
grouping is kept, one row per contact with a non-spam submission, as the export's GROUP BY gave it:

* ``offers``: the offer slugs, in submission id order, comma-joined (``group_concat``);
* ``tags``: the JSON tag lists, in id order, joined by U+001F;
* ``stage_rank``: the highest funnel stage (3 bofu, 2 mofu, 1 tofu, 0 none);
* ``submissions``, ``consent_at`` (the latest), ``first_submission_id`` and ``last_submission_id``.

Triggers keep it equal to the submissions through every insert (a new lead: one upsert that
appends, so it costs a lead little), update ("Not spam", a moved contact, new tags: the contact's
row worked out again from its own submissions through an index) and delete (erasure: the row goes
with the contact's last submission). Offer slugs and tags only: nothing personal.

SQLite's statements are the migration's; PostgreSQL's twin (``string_agg``, ``chr``) is below them.
"""

from __future__ import annotations

TABLE = (
    "CREATE TABLE contact_summaries (contact_id INTEGER PRIMARY KEY, offers TEXT NOT NULL, tags TEXT NOT NULL,"
    " stage_rank INTEGER NOT NULL, submissions INTEGER NOT NULL, consent_at TEXT,"
    " first_submission_id INTEGER NOT NULL, last_submission_id INTEGER NOT NULL)"
)
PG_TABLE = TABLE.replace("contact_id INTEGER PRIMARY KEY", "contact_id BIGINT PRIMARY KEY").replace(
    "_submission_id INTEGER", "_submission_id BIGINT"
)
COLUMNS = "contact_id, offers, tags, stage_rank, submissions, consent_at, first_submission_id, last_submission_id"
UPDATED = "contact_id, offer_slug, tags, stage, consent_at, spam"  # the columns a summary reads


def _rank(r: str) -> str:
    return f"CASE {r}.stage WHEN 'bofu' THEN 3 WHEN 'mofu' THEN 2 WHEN 'tofu' THEN 1 ELSE 0 END"


def _summed(where: str, postgresql: bool = False) -> str:
    """SQL: the summaries of the contacts whose non-spam submissions ``s`` match ``where``, grouped in id order."""
    if postgresql:
        return (
            f"SELECT s.contact_id, string_agg(s.offer_slug, ',' ORDER BY s.id), string_agg(s.tags, chr(31) ORDER BY s.id),"  # noqa: S608
            f" max({_rank('s')}), count(*), max(s.consent_at), min(s.id), max(s.id) FROM submissions s"
            f" WHERE s.spam = 0 AND {where} GROUP BY s.contact_id"
        )
    # The sub-select's ORDER BY gives group_concat the id order (an aggregate query keeps it un-flattened).
    return (
        f"SELECT s.contact_id, group_concat(s.offer_slug), group_concat(s.tags, char(31)), max({_rank('s')}), count(*),"  # noqa: S608
        f" max(s.consent_at), min(s.id), max(s.id) FROM (SELECT * FROM submissions WHERE spam = 0 AND {where}"
        " ORDER BY contact_id, id) AS s GROUP BY s.contact_id"
    )


def backfill(postgresql: bool = False) -> str:
    return f"INSERT INTO contact_summaries ({COLUMNS}) {_summed('1 = 1', postgresql)}"


def _refresh(contact: str, postgresql: bool, only_if: str = "") -> str:
    """SQL: work out ``contact``'s row again from its own submissions (none left: no row), ``only_if`` its
    row matches that condition (the work is skipped before any submission is read otherwise)."""
    s = "s." if postgresql else ""
    missing = f" AND NOT EXISTS (SELECT 1 FROM contact_summaries WHERE contact_id = {contact})" if only_if else ""  # noqa: S608
    return (
        f"DELETE FROM contact_summaries WHERE contact_id = {contact}{only_if};\n"  # noqa: S608
        f"INSERT INTO contact_summaries ({COLUMNS}) {_summed(f'{s}contact_id = {contact}{missing}', postgresql)};"
    )


def _append(postgresql: bool) -> str:
    """SQL: a new non-spam submission added to its contact's row (appended: it has the highest id),
    and the row worked out again when it does not (an id given explicitly, lower than the row's last)."""
    sep = "chr(31)" if postgresql else "char(31)"
    t = "contact_summaries"
    upsert = (
        f"INSERT INTO {t} ({COLUMNS}) VALUES (NEW.contact_id, NEW.offer_slug, NEW.tags, {_rank('NEW')}, 1, NEW.consent_at, NEW.id, NEW.id)"  # noqa: S608
        f" ON CONFLICT (contact_id) DO UPDATE SET offers = {t}.offers || ',' || excluded.offers,"
        f" tags = {t}.tags || {sep} || excluded.tags,"
        f" stage_rank = CASE WHEN excluded.stage_rank > {t}.stage_rank THEN excluded.stage_rank ELSE {t}.stage_rank END,"
        f" submissions = {t}.submissions + 1,"
        f" consent_at = CASE WHEN {t}.consent_at IS NULL OR excluded.consent_at > {t}.consent_at THEN excluded.consent_at"
        f" ELSE {t}.consent_at END, last_submission_id = excluded.last_submission_id"
        f" WHERE excluded.last_submission_id > {t}.last_submission_id;\n"
    )
    return upsert + _refresh("NEW.contact_id", postgresql, only_if=" AND last_submission_id > NEW.id")


def triggers(postgresql: bool = False) -> tuple[str, ...]:
    """The triggers, as SQLite statements (PostgreSQL's bodies with ``postgresql``, for
    ``migrations.postgres.from_sqlite_trigger``)."""
    pg = postgresql
    return (
        f"CREATE TRIGGER contact_summaries_insert AFTER INSERT ON submissions WHEN NEW.spam = 0 BEGIN\n{_append(pg)}\nEND",
        f"CREATE TRIGGER contact_summaries_update AFTER UPDATE OF {UPDATED} ON submissions BEGIN\n"
        f"{_refresh('OLD.contact_id', pg)}\n{_refresh('NEW.contact_id', pg)}\nEND",
        f"CREATE TRIGGER contact_summaries_delete AFTER DELETE ON submissions BEGIN\n{_refresh('OLD.contact_id', pg)}\nEND",
    )
