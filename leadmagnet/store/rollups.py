"""The SQL of the dashboard's roll-up (``lead_days``), written from the rules of
:mod:`leadmagnet.foundation.traffic` so that a lead and a page view are grouped alike.

``m013_dashboard_rollups`` creates the table and the triggers from these pieces. Triggers run in
SQLite itself, so they cannot call Python: the device class and referrer domain are written
here as SQL from the same rule table and the same steps as the Python functions, and
``tests/test_traffic.py`` runs both over the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leadmagnet.foundation.traffic import DESKTOP, DEVICE_RULES, VALUE_CAP, ascii_lower, device_class, referrer_domain


def device_sql(ua: str) -> str:
    """SQL for :func:`leadmagnet.foundation.traffic.device_class` of the User-Agent expression ``ua``,
    written from the same :data:`~leadmagnet.foundation.traffic.DEVICE_RULES`."""
    text = f"lower(trim(coalesce({ua}, '')))"
    cases = []
    for kind, every, none in DEVICE_RULES:
        tests = [f"instr({text}, '{word}') > 0" for word in every] + [f"instr({text}, '{word}') = 0" for word in none]
        cases.append(f"WHEN {' AND '.join(tests)} THEN '{kind}'")
    return f"(CASE WHEN {text} = '' THEN '' {' '.join(cases)} ELSE '{DESKTOP}' END)"


def referrer_sql(referrer: str, dialect: str = "sqlite") -> str:
    """SQL for :func:`leadmagnet.foundation.traffic.referrer_domain` of the expression ``referrer``:
    the same steps, one nested sub-select each (a trigger has no variables).

    Cutting at the first ``/``, then ``?``, then ``#`` is cutting at the earliest of the three, so
    that is one step; and an empty referrer (most form posts without JavaScript) is ``''`` without
    running the sub-selects at all. They were a third of the roll-up's cost on each submission.
    """
    steps = [
        "CASE WHEN instr(v, '//') > 0 THEN substr(v, instr(v, '//') + 2) ELSE v END",
        f"substr(v, 1, {'least' if dialect == 'postgresql' else 'min'}(instr(v || '/', '/'), instr(v || '?', '?'), instr(v || '#', '#')) - 1)",
        "substr(v, instr(v, '@') + 1)",
        "substr(v, 1, instr(v || ':', ':') - 1)",
        f"substr(CASE WHEN substr(v, 1, 4) = 'www.' THEN substr(v, 5) ELSE v END, 1, {VALUE_CAP})",
    ]
    query = f"SELECT lower(trim(coalesce({referrer}, ''))) AS v"
    for i, step in enumerate(steps):
        query = f"SELECT {step} AS v FROM ({query}) AS s{i}"  # noqa: S608 - our own fragments
    return f"(CASE WHEN trim(coalesce({referrer}, '')) = '' THEN '' ELSE ({query}) END)"


def utm_sql(column: str) -> str:
    """SQL for a UTM value as counted: trimmed, lower-cased in ASCII, cut to 100 characters."""
    return f"substr(lower(trim(coalesce({column}, ''))), 1, {VALUE_CAP})"


# What a submission is counted under in lead_days, per dimension (``{r}`` is NEW, OLD or a table
# alias): the same cleaning as views (UTM values trimmed, lower-cased in ASCII, cut to 100).
LEAD_DIMENSIONS = {
    "total": "{r}.offer_type",  # the total of each offer and day, with its type
    "source": utm_sql("{r}.utm_source"),
    "medium": utm_sql("{r}.utm_medium"),
    "campaign": utm_sql("{r}.utm_campaign"),
    "referrer": referrer_sql("{r}.referrer"),
    "device": device_sql("{r}.user_agent"),
}
# The measures of a lead_days row: leads (not spam), spam, leads past the double opt-in (or not
# asked for it), webinar leads holding a seat.
LEAD_MEASURES = {
    "submissions": "({r}.spam = 0)",
    "spam": "({r}.spam != 0)",
    "confirmed": "({r}.spam = 0 AND {r}.status != 'pending')",
    "seated": "({r}.spam = 0 AND {r}.offer_type = 'webinar' AND {r}.status = 'ok')",
}
# A change to any of these moves a submission from one lead_days row to another.
LEAD_COUNTED = (
    "offer_slug",
    "offer_type",
    "created_at",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    "user_agent",
    "spam",
    "status",
)


def lead_days_add(r: str, sign: str, dialect: str = "sqlite") -> str:
    """SQL adding (``+``) or taking away (``-``) submission ``r``'s counts in every dimension.

    ``dialect`` "postgresql" writes the same statements for a PostgreSQL trigger function (a
    truth value made a number with ``::int``, ``least`` for SQLite's many-argument ``min``).
    """
    names = ", ".join(LEAD_MEASURES)
    sets = ", ".join(f"{m} = lead_days.{m} + excluded.{m}" for m in LEAD_MEASURES)
    cast = "::int" if dialect == "postgresql" else ""
    measures = ", ".join(f"{sign}({expr.format(r=r)}){cast}" for expr in LEAD_MEASURES.values())
    dimensions = dict(LEAD_DIMENSIONS, referrer=referrer_sql("{r}.referrer", dialect))
    # "WHERE true" lets SQLite tell the upsert's ON CONFLICT from a join's ON (its documented parsing rule).
    return "\n".join(
        f"INSERT INTO lead_days (offer_slug, day, dimension, value, {names}) SELECT {r}.offer_slug, substr({r}.created_at, 1, 10),"
        f" '{dim}', {value.format(r=r)}, {measures} WHERE true ON CONFLICT (offer_slug, day, dimension, value) DO UPDATE SET {sets};"
        for dim, value in dimensions.items()
    )


def lead_days_triggers() -> tuple[str, str, str]:
    """The ``CREATE TRIGGER`` statements keeping ``lead_days`` in step with ``submissions``."""
    return (
        f"CREATE TRIGGER lead_days_insert AFTER INSERT ON submissions BEGIN\n{lead_days_add('NEW', '+')}\nEND",
        f"CREATE TRIGGER lead_days_update AFTER UPDATE OF {', '.join(LEAD_COUNTED)} ON submissions BEGIN\n"
        f"{lead_days_add('OLD', '-')}\n{lead_days_add('NEW', '+')}\n{LEAD_DAYS_EMPTIED}\nEND",
        f"CREATE TRIGGER lead_days_delete AFTER DELETE ON submissions BEGIN\n{lead_days_add('OLD', '-')}\n{LEAD_DAYS_EMPTIED}\nEND",
    )


LEAD_DAYS_EMPTIED = (
    "DELETE FROM lead_days WHERE offer_slug = OLD.offer_slug AND day = substr(OLD.created_at, 1, 10)"
    " AND submissions = 0 AND spam = 0 AND confirmed = 0 AND seated = 0 AND downloaded = 0;"
)

# store_meta key (written by m006_link_stamps): a range request is a download only from then on.
RANGE_DOWNLOADS_COUNTED_SINCE = "range_downloads_counted_since"


def download_counted(d: str) -> str:
    """SQL: download ``d`` counts (the whole file, or a range from byte 0 recorded since m006)."""
    return f"({d}.range_request = 0 OR {d}.created_at >= (SELECT value FROM store_meta WHERE key = '{RANGE_DOWNLOADS_COUNTED_SINCE}'))"  # noqa: S608


def downloaded_sql(row: str, sign: str) -> str:
    """SQL moving ``lead_days.downloaded`` of submission id ``row`` (its total row) by one."""
    return (
        f"UPDATE lead_days SET downloaded = downloaded {sign} 1 WHERE dimension = 'total' AND (offer_slug, day) ="  # noqa: S608
        f" (SELECT offer_slug, substr(created_at, 1, 10) FROM submissions WHERE id = {row} AND spam = 0);"
    )


def other_downloads_sql(d: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM downloads x WHERE x.submission_id = {d}.submission_id AND x.id != {d}.id AND {download_counted('x')})"  # noqa: S608
    )


# ``lead_days.downloaded``: leads with at least one counted download, on the lead's own day. A
# first download adds one, the last one deleted takes it away; a lead deleted (erased) with its
# downloads takes it away before the cascade removes them (its downloads' triggers then find no lead).
DOWNLOAD_TRIGGERS = (
    f"CREATE TRIGGER lead_days_downloaded AFTER INSERT ON downloads WHEN {download_counted('NEW')} AND {other_downloads_sql('NEW')}"
    f" BEGIN {downloaded_sql('NEW.submission_id', '+')} END",
    f"CREATE TRIGGER lead_days_undownloaded AFTER DELETE ON downloads WHEN {download_counted('OLD')} AND {other_downloads_sql('OLD')}"
    f" BEGIN {downloaded_sql('OLD.submission_id', '-')} END",
    "CREATE TRIGGER lead_days_erased_downloads BEFORE DELETE ON submissions WHEN OLD.spam = 0 AND EXISTS"  # noqa: S608
    f" (SELECT 1 FROM downloads d WHERE d.submission_id = OLD.id AND {download_counted('d')}) BEGIN {downloaded_sql('OLD.id', '-')} END",
    # Whose download it is, on the row itself: the dashboard counts downloads and people per
    # offer from one covering index, without a look-up into the submissions per download.
    "CREATE TRIGGER downloads_owner AFTER INSERT ON downloads BEGIN UPDATE downloads SET (offer_slug, contact_id) ="
    " (SELECT offer_slug, contact_id FROM submissions WHERE id = NEW.submission_id) WHERE id = NEW.id; END",
)


def utm_value(value: str | None) -> str:
    """A submission's UTM value as ``lead_days`` counts it (the Python twin of the SQL above)."""
    return ascii_lower((value or "").strip(" "))[:VALUE_CAP]


def count_leads(rows: Iterable[Any]) -> dict[tuple[str, str, str, str], list[int]]:
    """The ``lead_days`` rows of existing submissions, counted in Python by the triggers' rules.

    ``rows``: ``(offer_slug, day, utm_source, utm_medium, utm_campaign, referrer, user_agent,
    spam, status, offer_type)``. Returns ``(offer_slug, day, dimension, value)`` -> the
    :data:`LEAD_MEASURES` in order.
    """
    found: dict[tuple[str, str, str, str], list[int]] = {}
    for slug, day, source, medium, campaign, referrer, agent, spam, status, kind in rows:
        lead = not spam
        measures = (int(lead), int(bool(spam)), int(lead and status != "pending"), int(lead and kind == "webinar" and status == "ok"))
        values = (
            ("total", kind),
            ("source", utm_value(source)),
            ("medium", utm_value(medium)),
            ("campaign", utm_value(campaign)),
            ("referrer", referrer_domain(referrer)),
            ("device", device_class(agent)),
        )
        for dimension, value in values:
            counts = found.setdefault((slug, day, dimension, value), [0, 0, 0, 0])
            for i, n in enumerate(measures):
                counts[i] += n
    return found
