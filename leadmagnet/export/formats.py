"""Value writers of the export presets: cell formats, formula neutralising, byte clipping, country codes.

A preset column names one of :data:`FORMATS` (``(the row's value, the whole row) -> cell text``);
:func:`neutralise` and :func:`clip_bytes` are applied to every cell by
:meth:`leadmagnet.export.presets.Preset.cells`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

# Salesforce refuses a lead without Last Name or Company. Salesforce's own Web-to-Lead writes
# this same placeholder for a missing company, so sales teams already know to look for it.
NOT_PROVIDED = "[not provided]"

# Cells starting with one of these are read as formulas by Excel, LibreOffice and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TRIGGER_SET = frozenset(FORMULA_TRIGGERS)
# ...except plain numbers in a file for an importer: a sign, then only digits, spaces and
# ( ) + - . /. Without a letter there is no function, cell reference or DDE call, so a CRM
# importer gets phone numbers (+44 20 7946 0958, which our phone field allows) exactly as typed.
# A file for a spreadsheet (--excel) keeps the apostrophe there too: it marks the cell as text,
# where a spreadsheet would otherwise compute +1-202-555-0100 to -856.
_ARITHMETIC = re.compile(r"[+-][0-9 ()+\-./]*")


# The contact's lifecycle stage (leads/scoring.py: subscriber, lead, mql, sql) as each CRM says it.
# HubSpot's internal values of its Lifecycle Stage property (an import accepts them in any portal language).
HUBSPOT_LIFECYCLE = {"subscriber": "subscriber", "lead": "lead", "mql": "marketingqualifiedlead", "sql": "salesqualifiedlead"}
# Salesforce's standard Rating picklist, and the default Lead Status picklist of a new org.
SALESFORCE_RATING = {"subscriber": "Cold", "lead": "Warm", "mql": "Hot", "sql": "Hot"}
SALESFORCE_OPEN, SALESFORCE_WORKING, SALESFORCE_CLOSED = "Open - Not Contacted", "Working - Contacted", "Closed - Not Converted"
# The tag a Mailchimp contact gets for its stage, next to the offers' tags.
MAILCHIMP_STAGE_TAG = {"subscriber": "stage: subscriber", "lead": "stage: lead", "mql": "stage: MQL", "sql": "stage: SQL"}


def neutralise(value: str, spreadsheet: bool = False) -> str:
    """Make a cell inert in spreadsheets, as OWASP recommends for CSV injection.

    A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
    apostrophe, which spreadsheets show as text instead of evaluating; a plain number such as a
    phone number (see ``_ARITHMETIC``) only in a file meant for a ``spreadsheet``. Applied to
    every cell of every format and preset.
    """
    if value and value[0] in TRIGGER_SET and (spreadsheet or not _ARITHMETIC.fullmatch(value)):
        return "'" + value
    return value


def clip_bytes(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


@functools.lru_cache(maxsize=1024)
def country_code(name: str | None) -> str:
    """ISO 3166 alpha-2 code for a country name or code (``Germany`` -> ``DE``); '' if unknown.

    Uses pycountry (the ISO 3166 data Debian ships), which knows official and common names and
    alpha-2/alpha-3 codes. Unknown text gives '' rather than a value the importer would refuse.
    """
    if not name or not name.strip():
        return ""
    text = name.strip()
    aliases = {"uk": "GB", "usa": "US", "u.s.a.": "US", "u.s.": "US", "england": "GB", "scotland": "GB", "wales": "GB"}
    if text.lower() in aliases:
        return aliases[text.lower()]
    import pycountry  # ISO 3166 data: a twentieth of a second to load, for the presets that write country codes

    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return ""


def _iso(value: Any) -> str:
    """ISO 8601 UTC with a Z, to the second (``2026-11-23T10:31:44Z``)."""
    if not value:
        return ""
    if type(value) is str and len(value) == 32 and value.endswith("+00:00"):
        return value[:19] + "Z"  # fast path: the store's own format, already UTC
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(value: Any) -> str:
    return _iso(value)[:10]


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def as_text(value: Any, row: Mapping[str, Any]) -> str:
    return value if type(value) is str else _text(value)


def _bool01(value: Any) -> str:
    return "1" if value else "0"


def _truefalse(value: Any) -> str:
    return "true" if value else "false"


def _required(value: Any) -> str:
    text = _text(value).strip()
    return text or NOT_PROVIDED


def _stage(row: Mapping[str, Any]) -> str:
    stage = row.get("lifecycle_stage")
    return stage if stage in HUBSPOT_LIFECYCLE else "subscriber"


def _salesforce_status(row: Mapping[str, Any]) -> str:
    """Unsubscribed: closed; marked sales-qualified: being worked; anyone else: open."""
    if row.get("unsubscribed_at"):
        return SALESFORCE_CLOSED
    return SALESFORCE_WORKING if _stage(row) == "sql" else SALESFORCE_OPEN


def _mailchimp_tags(value: Any, row: Mapping[str, Any]) -> str:
    """The offers' tags and the stage's tag, in one cell."""
    tags = [str(t) for t in (value or ()) if str(t) not in MAILCHIMP_STAGE_TAG.values()]
    return ", ".join([*tags, MAILCHIMP_STAGE_TAG[_stage(row)]])


# Value writers: (the row's value, the whole row) -> cell text. A column may name one.
FORMATS: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "text": as_text,
    "datetime": lambda v, r: _iso(v),
    "date": lambda v, r: _date(v),
    "country_code": lambda v, r: country_code(v),
    "bool01": lambda v, r: _bool01(v),
    "truefalse": lambda v, r: _truefalse(v),
    "required": lambda v, r: _required(v),
    "hubspot_lifecycle": lambda v, r: HUBSPOT_LIFECYCLE[_stage(r)],
    "salesforce_rating": lambda v, r: SALESFORCE_RATING[_stage(r)],
    "salesforce_status": lambda v, r: _salesforce_status(r),
    "mailchimp_tags": _mailchimp_tags,
    "opted_out": lambda v, r: _bool01(r.get("unsubscribed_at")),
    "web": lambda v, r: "Web",
}


# Formats whose cell does not come from the column's field.
FIELDLESS_FORMATS = frozenset({"web"})
