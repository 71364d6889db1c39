"""The SQL of the dashboard's roll-up (``lead_days``), written from the rules of
:mod:`leadmagnet.foundation.traffic` so that a lead and a page view are grouped alike.

``m010_dashboard_rollups`` creates the table and the triggers from these pieces. Triggers run in
SQLite itself, so they cannot call Python: the device class and referrer domain are written
here as SQL from the same rule table and the same steps as the Python functions, and
``tests/test_rollups.py`` runs both over the same inputs.
"""

from __future__ import annotations

from leadmagnet.foundation.traffic import DESKTOP, DEVICE_RULES, VALUE_CAP


def device_sql(ua: str) -> str:
    """SQL for :func:`leadmagnet.foundation.traffic.device_class` of the User-Agent expression ``ua``,
    written from the same :data:`~leadmagnet.foundation.traffic.DEVICE_RULES`."""
    text = f"lower(trim(coalesce({ua}, '')))"
    cases = []
    for kind, every, none in DEVICE_RULES:
        tests = [f"instr({text}, '{word}') > 0" for word in every] + [f"instr({text}, '{word}') = 0" for word in none]
        cases.append(f"WHEN {' AND '.join(tests)} THEN '{kind}'")
    return f"(CASE WHEN {text} = '' THEN '' {' '.join(cases)} ELSE '{DESKTOP}' END)"


def referrer_sql(referrer: str) -> str:
    """SQL for :func:`leadmagnet.foundation.traffic.referrer_domain` of the expression ``referrer``:
    the same steps, one nested sub-select each (a trigger has no variables)."""
    steps = [
        "CASE WHEN instr(v, '//') > 0 THEN substr(v, instr(v, '//') + 2) ELSE v END",
        "substr(v, 1, instr(v || '/', '/') - 1)",
        "substr(v, 1, instr(v || '?', '?') - 1)",
        "substr(v, 1, instr(v || '#', '#') - 1)",
        "substr(v, instr(v, '@') + 1)",
        "substr(v, 1, instr(v || ':', ':') - 1)",
        f"substr(CASE WHEN substr(v, 1, 4) = 'www.' THEN substr(v, 5) ELSE v END, 1, {VALUE_CAP})",
    ]
    query = f"SELECT lower(trim(coalesce({referrer}, ''))) AS v"
    for step in steps:
        query = f"SELECT {step} AS v FROM ({query})"  # noqa: S608 - our own fragments
    return f"({query})"


def _utm_sql(column: str) -> str:
    return f"substr(lower(trim(coalesce({column}, ''))), 1, {VALUE_CAP})"


# What a submission is counted under in lead_days, per dimension (``{r}`` is NEW, OLD or a table
# alias): the same cleaning as views (UTM values trimmed, lower-cased in ASCII, cut to 100).
LEAD_DIMENSIONS = {
    "total": "''",
    "source": _utm_sql("{r}.utm_source"),
    "medium": _utm_sql("{r}.utm_medium"),
    "campaign": _utm_sql("{r}.utm_campaign"),
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


def lead_days_add(r: str, sign: str) -> str:
    """SQL adding (``+``) or taking away (``-``) submission ``r``'s counts in every dimension."""
    names = ", ".join(LEAD_MEASURES)
    sets = ", ".join(f"{m} = {m} + excluded.{m}" for m in LEAD_MEASURES)
    measures = ", ".join(f"{sign}{expr.format(r=r)}" for expr in LEAD_MEASURES.values())
    # "WHERE true" lets SQLite tell the upsert's ON CONFLICT from a join's ON (its documented parsing rule).
    return "\n".join(
        f"INSERT INTO lead_days (offer_slug, day, dimension, value, {names}) SELECT {r}.offer_slug, substr({r}.created_at, 1, 10),"
        f" '{dim}', {value.format(r=r)}, {measures} WHERE true ON CONFLICT (offer_slug, day, dimension, value) DO UPDATE SET {sets};"
        for dim, value in LEAD_DIMENSIONS.items()
    )


LEAD_DAYS_EMPTIED = (
    "DELETE FROM lead_days WHERE offer_slug = OLD.offer_slug AND day = substr(OLD.created_at, 1, 10)"
    " AND submissions = 0 AND spam = 0 AND confirmed = 0 AND seated = 0;"
)
