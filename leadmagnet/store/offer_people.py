"""The SQL of the per-offer table's people roll-up: who downloaded an offer, who holds a seat, who waits.

The dashboard's per-offer table counts people, not rows: someone who downloads an ebook three
times, or registers twice for a webinar, is one person. Counting distinct people over the raw rows
read every download of the period (a third of a second per ebook at a million leads). Instead:

* ``offer_people``: one row per offer, measure and person, with ``first_at``, the time of the
  person's first counted download of the offer (``downloaded_by``), first seated registration
  (``registrations``) or first waitlisted one (``waitlisted``), as the rows stand now;
* ``offer_days``: per UTC day, offer and measure, ``n``: the people whose ``first_at`` falls on
  that day, and for ``downloads``, the counted downloads made that day.

So the people of a period are the people who did it *for the first time* in that period: a person
is counted once, in the period of their first time, and periods add up. Triggers keep both tables
equal to the raw rows through every insert, update ("Not spam", a seat, a promotion from the
waitlist, an opt-in) and delete (erasure, with the cascade of downloads): each change refreshes
the ``offer_people`` row of the person it touches (take it away from its day, work out the first
time again from that person's own rows through an index, add it to its day). A day's row that
falls to zero is deleted.

The statements are plain SQL (``min``, ``substr``, an upsert, row values nowhere), written once
here for the migration and for the PostgreSQL twin.
"""

from __future__ import annotations

from leadmagnet.store.rollups import download_counted

# offer_days.measure: downloads (rows), and the three people measures (offer_people.kind).
PEOPLE_MEASURES = ("downloaded_by", "registrations", "waitlisted")
DAY_MEASURES = ("downloads", *PEOPLE_MEASURES)
# A webinar submission's status and the people measure it counts in (not spam).
STATUS_MEASURES = {"ok": "registrations", "waitlisted": "waitlisted"}
_STATUSES = ", ".join(f"'{s}'" for s in STATUS_MEASURES)
_MEASURE_OF_STATUS = "CASE status " + " ".join(f"WHEN '{s}' THEN '{m}'" for s, m in STATUS_MEASURES.items()) + " END"

CREATE_TABLES = (
    "CREATE TABLE offer_people (offer_slug TEXT NOT NULL, kind TEXT NOT NULL, contact_id INTEGER NOT NULL, first_at TEXT NOT NULL,"
    " PRIMARY KEY (offer_slug, kind, contact_id))",
    # The hours at either end of a period that are not a whole UTC day are counted from here.
    "CREATE INDEX offer_people_first ON offer_people(first_at, offer_slug, kind)",
    "CREATE TABLE offer_days (day TEXT NOT NULL, offer_slug TEXT NOT NULL, measure TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, offer_slug, measure))",
)


def _first_download(offer: str, contact: str) -> str:
    """SQL: ``first_at``, the first counted download of ``offer`` by ``contact`` (NULL: none), through their submissions."""
    return (
        "SELECT min(d.created_at) AS first_at FROM submissions s JOIN downloads d ON d.submission_id = s.id"  # noqa: S608 - our own fragments
        f" WHERE s.contact_id = {contact} AND s.offer_slug = {offer} AND {download_counted('d')}"
    )


def _first_with_status(offer: str, contact: str, status: str) -> str:
    """SQL: ``first_at``, the first webinar registration of ``offer`` by ``contact`` with ``status`` (an SQL
    expression), not spam (NULL: none)."""
    return (
        "SELECT min(created_at) AS first_at FROM submissions WHERE contact_id ="  # noqa: S608 - our own fragments
        f" {contact} AND offer_slug = {offer} AND status = {status} AND spam = 0 AND offer_type = 'webinar'"
    )


def refresh(offer: str, measure: str, contact: str, first: str) -> str:
    """SQL statements making person ``contact``'s ``offer_people`` row of ``offer`` and ``measure`` true
    again, and moving its day's count: take the row away, work out ``first`` (a SELECT of one value,
    ``first_at``: the first time or NULL), put it back. All are SQL expressions (NEW.x, 'downloaded_by')."""
    person = f"offer_slug = {offer} AND kind = {measure} AND contact_id = {contact}"
    day = f"(SELECT substr(first_at, 1, 10) FROM offer_people WHERE {person})"  # noqa: S608
    return "\n".join(
        (
            f"UPDATE offer_days SET n = n - 1 WHERE day = {day} AND offer_slug = {offer} AND measure = {measure};",  # noqa: S608
            f"DELETE FROM offer_days WHERE day = {day} AND offer_slug = {offer} AND measure = {measure} AND n <= 0;",  # noqa: S608
            f"DELETE FROM offer_people WHERE {person};",  # noqa: S608
            f"INSERT INTO offer_people (offer_slug, kind, contact_id, first_at) SELECT {offer}, {measure}, {contact}, f.first_at"  # noqa: S608
            f" FROM ({first}) AS f WHERE f.first_at IS NOT NULL;",
            f"INSERT INTO offer_days (day, offer_slug, measure, n) SELECT substr(first_at, 1, 10), offer_slug, kind, 1 FROM offer_people"  # noqa: S608
            f" WHERE {person} ON CONFLICT (day, offer_slug, measure) DO UPDATE SET n = offer_days.n + excluded.n;",
        )
    )


def _first_time(offer: str, measure: str, contact: str, at: str) -> str:
    """SQL for a person's first time when they had none (the common case, two statements): their row,
    and one more on its day."""
    return (
        f"INSERT INTO offer_people (offer_slug, kind, contact_id, first_at) VALUES ({offer}, {measure}, {contact}, {at});\n"  # noqa: S608
        f"INSERT INTO offer_days (day, offer_slug, measure, n) VALUES (substr({at}, 1, 10), {offer}, {measure}, 1)"
        " ON CONFLICT (day, offer_slug, measure) DO UPDATE SET n = offer_days.n + excluded.n;"
    )


def _known(offer: str, measure: str, contact: str, later_than: str | None = None) -> str:
    """SQL: the person has an ``offer_people`` row (whose first time is after ``later_than``, when given)."""
    later = f" AND first_at > {later_than}" if later_than else ""
    return f"EXISTS (SELECT 1 FROM offer_people WHERE offer_slug = {offer} AND kind = {measure} AND contact_id = {contact}{later})"  # noqa: S608


def _downloads_moved(offer: str, at: str, sign: str) -> str:
    """SQL moving the ``downloads`` count of ``offer`` on the UTC day of ``at`` by one."""
    return (
        f"INSERT INTO offer_days (day, offer_slug, measure, n) VALUES (substr({at}, 1, 10), {offer}, 'downloads', {sign}1)"  # noqa: S608
        " ON CONFLICT (day, offer_slug, measure) DO UPDATE SET n = offer_days.n + excluded.n;"
        f"\nDELETE FROM offer_days WHERE day = substr({at}, 1, 10) AND offer_slug = {offer} AND measure = 'downloads' AND n <= 0;"
    )


def _registrations(offer: str, contact: str) -> str:
    """SQL refreshing both of a person's registration measures (seated, waitlisted)."""
    return "\n".join(
        refresh(offer, f"'{measure}'", contact, _first_with_status(offer, contact, f"'{status}'"))
        for status, measure in STATUS_MEASURES.items()
    )


# A new download's owner, from its submission (downloads.offer_slug/contact_id are filled by another trigger).
_NEW_OFFER = "(SELECT offer_slug FROM submissions WHERE id = NEW.submission_id)"
_NEW_CONTACT = "(SELECT contact_id FROM submissions WHERE id = NEW.submission_id)"
_DOWNLOADED = "'downloaded_by'"
# A new webinar registration's measure, by its status.
_NEW_MEASURE = "CASE NEW.status " + " ".join(f"WHEN '{s}' THEN '{m}'" for s, m in STATUS_MEASURES.items()) + " END"
# The columns whose change can move a registration (all NOT NULL, so != is exact).
_REGISTRATION_COLUMNS = ("status", "spam", "created_at", "offer_type", "offer_slug", "contact_id")


def people_triggers() -> tuple[str, ...]:
    """The ``CREATE TRIGGER`` statements keeping ``offer_people`` and ``offer_days`` in step.

    An insert (a download, a registration) can only bring a person's first time forward: a person
    new to the measure costs two statements, one already counted earlier costs nothing, and only a
    row recorded out of order (earlier than the first time known) refreshes. Updates and deletes
    refresh the person they touch, when a counted column changed.
    """
    counted_new = f"{download_counted('NEW')} AND {_NEW_OFFER} IS NOT NULL"
    # A download's own offer and contact are always filled (downloads_owner); the condition keeps a
    # row missing them (none should) from stopping an erasure with a NOT NULL error.
    counted_old = f"{download_counted('OLD')} AND OLD.offer_slug IS NOT NULL AND OLD.contact_id IS NOT NULL"
    new_registration = f"NEW.offer_type = 'webinar' AND NEW.spam = 0 AND NEW.status IN ({_STATUSES})"
    changed = " OR ".join(f"OLD.{c} != NEW.{c}" for c in _REGISTRATION_COLUMNS)
    moved = "OLD.offer_slug != NEW.offer_slug OR OLD.contact_id != NEW.contact_id"
    download_first = _first_download(_NEW_OFFER, _NEW_CONTACT)
    return (
        f"CREATE TRIGGER offer_people_download AFTER INSERT ON downloads WHEN {counted_new} BEGIN\n"
        f"{_downloads_moved(_NEW_OFFER, 'NEW.created_at', '+')}\nEND",
        f"CREATE TRIGGER offer_people_download_first AFTER INSERT ON downloads WHEN {counted_new}"
        f" AND NOT {_known(_NEW_OFFER, _DOWNLOADED, _NEW_CONTACT)} BEGIN\n{_first_time(_NEW_OFFER, _DOWNLOADED, _NEW_CONTACT, 'NEW.created_at')}\nEND",
        f"CREATE TRIGGER offer_people_download_earlier AFTER INSERT ON downloads WHEN {counted_new}"
        f" AND {_known(_NEW_OFFER, _DOWNLOADED, _NEW_CONTACT, 'NEW.created_at')} BEGIN\n"
        f"{refresh(_NEW_OFFER, _DOWNLOADED, _NEW_CONTACT, download_first)}\nEND",
        f"CREATE TRIGGER offer_people_undownload AFTER DELETE ON downloads WHEN {counted_old} BEGIN\n"
        f"{_downloads_moved('OLD.offer_slug', 'OLD.created_at', '-')}\n"
        f"{refresh('OLD.offer_slug', _DOWNLOADED, 'OLD.contact_id', _first_download('OLD.offer_slug', 'OLD.contact_id'))}\nEND",
        # Webinar registrations only: an ebook lead's writes do not pay for them.
        f"CREATE TRIGGER offer_people_register_first AFTER INSERT ON submissions WHEN {new_registration}"
        f" AND NOT {_known('NEW.offer_slug', _NEW_MEASURE, 'NEW.contact_id')} BEGIN\n"
        f"{_first_time('NEW.offer_slug', _NEW_MEASURE, 'NEW.contact_id', 'NEW.created_at')}\nEND",
        f"CREATE TRIGGER offer_people_register_earlier AFTER INSERT ON submissions WHEN {new_registration}"
        f" AND {_known('NEW.offer_slug', _NEW_MEASURE, 'NEW.contact_id', 'NEW.created_at')} BEGIN\n"
        f"{refresh('NEW.offer_slug', _NEW_MEASURE, 'NEW.contact_id', _first_with_status('NEW.offer_slug', 'NEW.contact_id', 'NEW.status'))}\nEND",
        f"CREATE TRIGGER offer_people_reregister AFTER UPDATE OF {', '.join(_REGISTRATION_COLUMNS)} ON submissions"
        f" WHEN (OLD.offer_type = 'webinar' OR NEW.offer_type = 'webinar') AND ({changed}) BEGIN\n"
        f"{_registrations('NEW.offer_slug', 'NEW.contact_id')}\nEND",
        f"CREATE TRIGGER offer_people_moved AFTER UPDATE OF offer_slug, contact_id ON submissions WHEN OLD.offer_type = 'webinar'"
        f" AND ({moved}) BEGIN\n{_registrations('OLD.offer_slug', 'OLD.contact_id')}\nEND",
        f"CREATE TRIGGER offer_people_unregister AFTER DELETE ON submissions WHEN OLD.offer_type = 'webinar' BEGIN\n"
        f"{_registrations('OLD.offer_slug', 'OLD.contact_id')}\nEND",
    )


# The upgrade: both tables counted from the rows already stored, in three grouped statements.
BACKFILL = (
    "INSERT INTO offer_people (offer_slug, kind, contact_id, first_at) SELECT s.offer_slug, 'downloaded_by', s.contact_id,"  # noqa: S608
    f" min(d.created_at) FROM downloads d JOIN submissions s ON s.id = d.submission_id WHERE {download_counted('d')}"
    " GROUP BY s.offer_slug, s.contact_id",
    "INSERT INTO offer_people (offer_slug, kind, contact_id, first_at) SELECT offer_slug,"  # noqa: S608
    f" {_MEASURE_OF_STATUS}, contact_id, min(created_at)"
    f" FROM submissions WHERE offer_type = 'webinar' AND spam = 0 AND status IN ({_STATUSES})"
    " GROUP BY offer_slug, status, contact_id",
    "INSERT INTO offer_days (day, offer_slug, measure, n) SELECT substr(first_at, 1, 10), offer_slug, kind, count(*) FROM offer_people"
    " GROUP BY substr(first_at, 1, 10), offer_slug, kind",
    "INSERT INTO offer_days (day, offer_slug, measure, n) SELECT substr(d.created_at, 1, 10), s.offer_slug, 'downloads', count(*)"  # noqa: S608
    f" FROM downloads d JOIN submissions s ON s.id = d.submission_id WHERE {download_counted('d')}"
    " GROUP BY substr(d.created_at, 1, 10), s.offer_slug",
)
