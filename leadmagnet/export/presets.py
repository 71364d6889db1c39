"""Export presets as data: which columns each CRM importer expects, and how values are written.

A :class:`Preset` is a list of ``(header, field, format)`` columns plus a few file-level rules
(rows per file, text clip). ``field`` names a key of the plain row dicts that
:mod:`leadmagnet.export.writer` streams (``email``, ``first_name``, ``offers``, ``stage``, ``opt_in_status``
…, listed in :data:`FIELDS`); ``format`` names one of the value writers in :data:`FORMATS`. Keeping
presets as data means a site can add its own in ``instance/config.toml`` without code::

    [crm.my-crm]
    columns = [["E-mail", "email"], ["Given name", "first_name"], ["Signed up", "first_seen", "date"]]
    split = 10000        # optional: rows per file
    clip_bytes = 255     # optional: cut text to this many UTF-8 bytes

Importer rules honoured here (each is documented in the README, "Exporting to your CRM"):
HubSpot dedupes on ``Email`` and reads ``Lifecycle stage`` labels; Salesforce needs ``Last Name``
and ``Company`` (a placeholder is written when the visitor gave none), ``Email Opt Out`` as 1/0
and at most 50,000 rows per file; Mailchimp needs ``Email Address``, one ``Tags`` cell,
YYYY-MM-DD dates, two-letter country codes and text of at most 255 bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pycountry

# Salesforce refuses a lead without Last Name or Company. Salesforce's own Web-to-Lead writes
# this same placeholder for a missing company, so sales teams already know to look for it.
NOT_PROVIDED = "[not provided]"

# Cells starting with one of these are read as formulas by Excel, LibreOffice and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_SET = frozenset(FORMULA_TRIGGERS)
# ...except plain numbers in a file for an importer: a sign, then only digits, spaces and
# ( ) + - . /. Without a letter there is no function, cell reference or DDE call, so a CRM
# importer gets phone numbers (+44 20 7946 0958, which our phone field allows) exactly as typed.
# A file for a spreadsheet (--excel) keeps the apostrophe there too: it marks the cell as text,
# where a spreadsheet would otherwise compute +1-202-555-0100 to -856.
_ARITHMETIC = re.compile(r"[+-][0-9 ()+\-./]*")

# The fields of a row that :mod:`leadmagnet.export.writer` produces (contacts and submissions).
CONTACT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "offers",
    "tags",
    "stage",
    "submissions",
    "first_seen",
    "last_seen",
    "consent_at",
    "opt_in_status",
    "opt_in_at",
    "unsubscribed_at",
)
SUBMISSION_FIELDS = (
    "submission_id",
    "created_at",
    "offer_slug",
    "offer_type",
    "status",
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "tags",
    "stage",
    "consent_text",
    "consent_at",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
    "spam",
    "opt_in_status",
    "unsubscribed_at",
)
FIELDS = tuple(dict.fromkeys(CONTACT_FIELDS + SUBMISSION_FIELDS))

# Our funnel stage (and double opt-in state) as HubSpot lifecycle stage labels.
HUBSPOT_LIFECYCLE = {"tofu": "Lead", "mofu": "Marketing Qualified Lead", "bofu": "Sales Qualified Lead", None: "Lead"}
HUBSPOT_PENDING = "Subscriber"  # asked for double opt-in but has not confirmed yet


def neutralise(value: str, spreadsheet: bool = False) -> str:
    """Make a cell inert in spreadsheets, as OWASP recommends for CSV injection.

    A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
    apostrophe, which spreadsheets show as text instead of evaluating; a plain number such as a
    phone number (see ``_ARITHMETIC``) only in a file meant for a ``spreadsheet``. Applied to
    every cell of every format and preset.
    """
    if value and value[0] in _TRIGGER_SET and (spreadsheet or not _ARITHMETIC.fullmatch(value)):
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


def _as_text(value: Any, row: Mapping[str, Any]) -> str:
    return value if type(value) is str else _text(value)


def _bool01(value: Any) -> str:
    return "1" if value else "0"


def _truefalse(value: Any) -> str:
    return "true" if value else "false"


def _required(value: Any) -> str:
    text = _text(value).strip()
    return text or NOT_PROVIDED


def _hubspot_stage(row: Mapping[str, Any]) -> str:
    if row.get("opt_in_status") == "pending":
        return HUBSPOT_PENDING
    return HUBSPOT_LIFECYCLE.get(row.get("stage"), "Lead")


# Value writers: (the row's value, the whole row) -> cell text. A column may name one.
FORMATS: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "text": _as_text,
    "datetime": lambda v, r: _iso(v),
    "date": lambda v, r: _date(v),
    "country_code": lambda v, r: country_code(v),
    "bool01": lambda v, r: _bool01(v),
    "truefalse": lambda v, r: _truefalse(v),
    "required": lambda v, r: _required(v),
    "hubspot_lifecycle": lambda v, r: _hubspot_stage(r),
    "opted_out": lambda v, r: _bool01(r.get("unsubscribed_at")),
    "web": lambda v, r: "Web",
}


# Formats whose cell does not come from the column's field.
FIELDLESS_FORMATS = frozenset({"web"})


@dataclass(frozen=True)
class Column:
    """One output column: its header, the row field it reads, and the writer of its value."""

    header: str
    field: str
    format: str = "text"

    def value(self, row: Mapping[str, Any]) -> str:
        return FORMATS[self.format](row.get(self.field), row)


@dataclass(frozen=True)
class Preset:
    """An importer's file layout: columns, rows per file (0: one file) and a text clip in bytes."""

    name: str
    columns: tuple[Column, ...]
    split: int = 0
    clip: int = 0
    description: str = ""
    spreadsheet: bool = False  # the file is for Excel and the like (``--excel``): see neutralise()

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @functools.cached_property
    def _writers(self) -> list[tuple[str, Callable[[Any, Mapping[str, Any]], str]]]:
        return [(c.field, FORMATS[c.format]) for c in self.columns]

    def cells(self, row: Mapping[str, Any]) -> list[str]:
        """The row's cells in column order: formatted, formula-neutralised, clipped."""
        # The hot loop of every export (a million rows): writers are looked up once per preset.
        cells = []
        append = cells.append
        get = row.get
        for name, write in self._writers:
            value = get(name)
            cell = value if write is _as_text and type(value) is str else write(value, row)
            append(neutralise(cell, self.spreadsheet) if cell and cell[0] in _TRIGGER_SET else cell)  # the common case inlined
        if self.clip:
            cells = [clip_bytes(cell, self.clip) for cell in cells]
        return cells


def _cols(*specs: tuple[str, ...]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


GENERIC = Preset(
    "generic",
    _cols(*((f, f, "datetime" if f.endswith(("_at", "_seen")) else "text") for f in CONTACT_FIELDS)),
    description="Our own column names, stable across versions; times in ISO 8601 UTC.",
)
GENERIC_SUBMISSIONS = Preset(
    "generic",
    _cols(*((f, f, "datetime" if f.endswith("_at") else "text") for f in SUBMISSION_FIELDS)),
    description="One row per form submission, our own column names.",
)

HUBSPOT = Preset(
    "hubspot",
    _cols(
        ("Email", "email"),
        ("First name", "first_name"),
        ("Last name", "last_name"),
        ("Company name", "company"),
        ("Job title", "job_title"),
        ("Phone number", "phone"),
        ("Country/Region", "country"),
        ("Lifecycle stage", "stage", "hubspot_lifecycle"),
        ("Lead magnet offers", "offers"),
        ("Lead magnet tags", "tags"),
        ("Lead magnet first conversion date", "first_seen", "date"),
        ("Consent date", "consent_at", "date"),
    ),
    description="Contacts import: dedupes on Email; Lifecycle stage from the offer's stage.",
)

MAILCHIMP = Preset(
    "mailchimp",
    _cols(
        ("Email Address", "email"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Company", "company"),
        ("Phone Number", "phone"),
        ("Country", "country", "country_code"),
        ("Tags", "tags"),
        ("Signup Date", "first_seen", "date"),
        ("Opt-in Date", "opt_in_at", "date"),
    ),
    clip=255,
    description="Audience import: one Tags cell, YYYY-MM-DD dates, two-letter countries, text cut at 255 bytes.",
)

SALESFORCE = Preset(
    "salesforce",
    _cols(
        ("First Name", "first_name"),
        ("Last Name", "last_name", "required"),
        ("Company", "company", "required"),
        ("Title", "job_title"),
        ("Email", "email"),
        ("Phone", "phone"),
        ("Country", "country"),
        ("Lead Source", "offers", "web"),
        ("Email Opt Out", "unsubscribed_at", "opted_out"),
        ("Description", "offers"),
    ),
    split=50_000,
    description="Leads import: Last Name and Company always filled, Email Opt Out 1/0, 50,000 rows per file.",
)

PRESETS: dict[str, Preset] = {p.name: p for p in (GENERIC, HUBSPOT, MAILCHIMP, SALESFORCE)}


class PresetError(ValueError):
    """A preset that does not exist or a site mapping in config.toml that is malformed."""


def site_presets(config_value: Any) -> dict[str, Preset]:
    """Presets defined in ``instance/config.toml`` under ``[crm.NAME]`` (see the module doc)."""
    if not config_value:
        return {}
    if not isinstance(config_value, Mapping):
        raise PresetError("instance/config.toml: [crm] must be a table of presets such as [crm.my-crm]")
    found = {}
    for name, spec in config_value.items():
        where = f"instance/config.toml [crm.{name}]"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("columns"), list) or not spec["columns"]:
            raise PresetError(f'{where}: needs columns = [["Header", "field"], …]')
        columns = []
        for item in spec["columns"]:
            if not isinstance(item, list) or len(item) not in (2, 3) or not all(isinstance(x, str) for x in item):
                raise PresetError(f'{where}: each column is ["Header", "field"] or ["Header", "field", "format"], not {item!r}')
            if item[1] not in FIELDS:
                raise PresetError(f"{where}: unknown field {item[1]!r}; use one of: {', '.join(FIELDS)}")
            if len(item) == 3 and item[2] not in FORMATS:
                raise PresetError(f"{where}: unknown format {item[2]!r}; use one of: {', '.join(FORMATS)}")
            columns.append(Column(*item))
        split, clip = spec.get("split", 0), spec.get("clip_bytes", 0)
        if not isinstance(split, int) or not isinstance(clip, int) or split < 0 or clip < 0:
            raise PresetError(f"{where}: split and clip_bytes must be whole numbers (0: none)")
        found[name] = Preset(name, tuple(columns), split=split, clip=clip, description="Defined in instance/config.toml.")
    return found


def get_preset(name: str, kind: str = "contacts", site: Any = None) -> Preset:
    """The preset ``name`` (site-defined ones win), for ``kind`` ``contacts`` or ``submissions``."""
    available = {**PRESETS, **site_presets(site)}
    if name not in available:
        raise PresetError(f"unknown export format {name!r}; use one of: {', '.join(sorted(available))}")
    if name == "generic" and kind == "submissions":
        return GENERIC_SUBMISSIONS
    preset = available[name]
    # A column reading a field this kind of row does not have would be silently empty in every row.
    have = SUBMISSION_FIELDS if kind == "submissions" else CONTACT_FIELDS
    missing = [c.field for c in preset.columns if c.field not in have and c.format not in FIELDLESS_FORMATS]
    if missing:
        raise PresetError(
            f"the {name} format needs {', '.join(dict.fromkeys(missing))}, which {kind} rows do not have; "
            + (
                "export contacts with it, or submissions with generic or a format of your own in instance/config.toml"
                if kind == "submissions"
                else "export submissions with it"
            )
        )
    return preset


def preset_names(site: Any = None) -> list[str]:
    """Every preset a site can use: the built-in ones and its own."""
    return sorted({**PRESETS, **site_presets(site)})
