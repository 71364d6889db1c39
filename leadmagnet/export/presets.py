"""Export presets as data: which columns each CRM importer expects, and how values are written.

A :class:`Preset` is a list of ``(header, field, format)`` columns plus a few file-level rules
(rows per file, text clip). ``field`` names a field of an export row (``email``, ``first_name``,
``offers``, ``stage``, ``opt_in_status`` …, listed in :data:`FIELDS`); ``format`` names one of the
value writers in :data:`FORMATS`, which SQLite mirrors (:mod:`leadmagnet.export.cells`). Keeping
presets as data means a site can add its own in ``instance/config.toml`` without code::

    [crm.my-crm]
    columns = [["E-mail", "email"], ["Given name", "first_name"], ["Signed up", "first_seen", "date"],
               ["Monthly volume", "custom.monthly_volume", "label"]]   # an offer's own form field
    split = 10000        # optional: rows per file
    clip_bytes = 255     # optional: cut text to this many UTF-8 bytes

    [crm.hubspot-plus]
    base = "hubspot"     # a built-in preset's columns, formats and rules first, then these
    columns = [["Monthly volume", "custom.monthly_volume"]]

Every preset has a ``custom.NAME`` column for each custom field it does not map itself (a site
preset only with ``base``); :mod:`leadmagnet.export.answers` says how each preset writes them.

Importer rules honoured here (each is documented in the README, "Exporting to your CRM"):
HubSpot dedupes on ``Email`` and reads ``Lifecycle Stage`` internal values; Salesforce needs ``Last Name``
and ``Company`` (a placeholder is written when the visitor gave none), ``Email Opt Out`` as 1/0
and at most 50,000 rows per file; Mailchimp needs ``Email Address``, one ``Tags`` cell,
YYYY-MM-DD dates, two-letter country codes and text of at most 255 bytes.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from leadmagnet.content.fields import NAME_RE
from leadmagnet.export import answers
from leadmagnet.export.formats import (
    FIELDLESS_FORMATS,
    FORMATS,
    TRIGGER_SET,
    as_text,
    clip_bytes,
    neutralise,
)

__all__ = [
    "CONTACT_FIELDS",
    "FIELDS",
    "FORMATS",
    "PRESETS",
    "SUBMISSION_FIELDS",
    "Column",
    "Preset",
    "PresetError",
    "get_preset",
    "preset_names",
    "site_presets",
]


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
    "score",
    "lifecycle_stage",
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
    "score",
    "lifecycle_stage",
)
FIELDS = tuple(dict.fromkeys(CONTACT_FIELDS + SUBMISSION_FIELDS))


@dataclass(frozen=True)
class Column:
    """One output column: its header, the row field it reads, and the writer of its value."""

    header: str
    field: str
    format: str = "text"

    def value(self, row: Mapping[str, Any]) -> str:
        custom = answers.field_of(self.field)
        if custom is not None:
            return answers.writer(custom, answers.ANSWER_FORMATS[self.format](answers.GENERIC_STYLE), None)(None, row)
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
    style: answers.AnswerStyle = answers.GENERIC_STYLE  # how custom answers are written
    every_answer: bool = True  # a custom.NAME column for each custom field it does not map itself
    base: str = ""  # a site preset's built-in preset, whose columns come first (see get_preset)
    labels: Mapping[str, answers.Labels] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def with_answers(self, names: Iterable[str], labels: Mapping[str, answers.Labels]) -> Preset:
        """This preset for one export: a ``custom.NAME`` column (sorted by name) for each custom field
        of ``names`` it does not map already (when ``every_answer``), and the select fields' labels."""
        mapped = {c.field for c in self.columns}
        wanted = sorted({answers.PREFIX + name for name in names} - mapped) if self.every_answer else []
        return replace(self, columns=self.columns + tuple(Column(f, f) for f in wanted), labels=labels)

    @functools.cached_property
    def _writers(self) -> list[tuple[str, Callable[[Any, Mapping[str, Any]], str]]]:
        writers = []
        for column in self.columns:
            custom = answers.field_of(column.field)
            if custom is None:
                writers.append((column.field, FORMATS[column.format]))
            else:
                style = answers.ANSWER_FORMATS[column.format](self.style)
                writers.append((column.field, answers.writer(custom, style, self.labels.get(custom))))
        return writers

    def cells(self, row: Mapping[str, Any]) -> list[str]:
        """A row dict's cells in column order: formatted, formula-neutralised, clipped.

        The Python statement of what each cell is; exports compute the same cells in SQL
        (store/exporting.py), and the Python writers are its fallbacks.
        """
        cells = []
        append = cells.append
        get = row.get
        for name, write in self._writers:
            value = get(name)
            cell = value if write is as_text and type(value) is str else write(value, row)
            append(neutralise(cell, self.spreadsheet) if cell and cell[0] in TRIGGER_SET else cell)  # the common case inlined
        if self.clip:
            cells = [clip_bytes(cell, self.clip) for cell in cells]
        return cells


def _cols(*specs: tuple[str, ...]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


GENERIC = Preset(
    "generic",
    _cols(*((f, f, "datetime" if f.endswith(("_at", "_seen")) else "text") for f in CONTACT_FIELDS)),
    description="Our own column names, stable across versions; times in ISO 8601 UTC.",
    style=answers.STYLES["generic"],
)
GENERIC_SUBMISSIONS = Preset(
    "generic",
    _cols(*((f, f, "datetime" if f.endswith("_at") else "text") for f in SUBMISSION_FIELDS)),
    description="One row per form submission, our own column names.",
    style=answers.STYLES["generic"],
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
        ("Lifecycle Stage", "lifecycle_stage", "hubspot_lifecycle"),
        ("Lead magnet score", "score"),
        ("Lead magnet offers", "offers"),
        ("Lead magnet tags", "tags"),
        ("Lead magnet first conversion date", "first_seen", "date"),
        ("Consent date", "consent_at", "date"),
    ),
    description="Contacts import: dedupes on Email; Lifecycle Stage from the contact's score (internal values).",
    style=answers.STYLES["hubspot"],
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
        ("Tags", "tags", "mailchimp_tags"),
        ("Signup Date", "first_seen", "date"),
        ("Opt-in Date", "opt_in_at", "date"),
    ),
    clip=255,
    description="Audience import: one Tags cell (with the stage's tag), YYYY-MM-DD dates, two-letter countries, text cut at 255 bytes.",
    style=answers.STYLES["mailchimp"],
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
        ("Rating", "lifecycle_stage", "salesforce_rating"),
        ("Lead Status", "lifecycle_stage", "salesforce_status"),
    ),
    split=50_000,
    description="Leads import: Last Name and Company always filled, Email Opt Out 1/0, Rating and Lead Status from the stage, 50,000 rows per file.",
    style=answers.STYLES["salesforce"],
)

PRESETS: dict[str, Preset] = {p.name: p for p in (GENERIC, HUBSPOT, MAILCHIMP, SALESFORCE)}


class PresetError(ValueError):
    """A preset that does not exist or a site mapping in config.toml that is malformed."""


SITE_KEYS = ("columns", "base", "split", "clip_bytes")


def site_presets(config_value: Any) -> dict[str, Preset]:
    """Presets defined in ``instance/config.toml`` under ``[crm.NAME]`` (see the module doc)."""
    if not config_value:
        return {}
    if not isinstance(config_value, Mapping):
        raise PresetError("instance/config.toml: [crm] must be a table of presets such as [crm.my-crm]")
    found = {}
    for name, spec in config_value.items():
        where = f"instance/config.toml [crm.{name}]"
        if not isinstance(spec, Mapping):
            raise PresetError(f'{where}: needs columns = [["Header", "field"], …]')
        unknown = sorted(set(spec) - set(SITE_KEYS))
        if unknown:
            raise PresetError(f"{where}: unknown key {unknown[0]!r}; a preset takes {', '.join(SITE_KEYS)}")
        base = spec.get("base", "")
        if base and base not in PRESETS:
            raise PresetError(f"{where}: base {base!r} is not a built-in preset; use one of: {', '.join(PRESETS)}")
        items = spec.get("columns", [] if base else None)
        if not isinstance(items, list) or not (items or base):
            raise PresetError(f'{where}: needs columns = [["Header", "field"], …]')
        columns = tuple(_site_column(where, item) for item in items)
        inherited = PRESETS[base] if base else None
        split = spec.get("split", inherited.split if inherited else 0)
        clip = spec.get("clip_bytes", inherited.clip if inherited else 0)
        if not isinstance(split, int) or not isinstance(clip, int) or split < 0 or clip < 0:
            raise PresetError(f"{where}: split and clip_bytes must be whole numbers (0: none)")
        style = inherited.style if inherited else answers.STYLES["generic"]
        found[name] = Preset(
            name,
            columns,
            split=split,
            clip=clip,
            description="Defined in instance/config.toml.",
            style=style,
            every_answer=bool(base),
            base=base,
        )
    return found


def _site_column(where: str, item: Any) -> Column:
    """One ``["Header", "field"]`` or ``["Header", "field", "format"]`` of a site preset, checked."""
    if not isinstance(item, list) or len(item) not in (2, 3) or not all(isinstance(x, str) for x in item):
        raise PresetError(f'{where}: each column is ["Header", "field"] or ["Header", "field", "format"], not {item!r}')
    header, name, fmt = item[0], item[1], item[2] if len(item) == 3 else "text"
    custom = answers.field_of(name)
    if custom is not None:
        if not NAME_RE.match(custom):
            raise PresetError(f"{where}: {name!r} is not a custom field; write custom. then the name of a field in an offer's fields:")
        if fmt not in answers.ANSWER_FORMATS:
            raise PresetError(
                f"{where}: format {fmt!r} does not apply to the answer {name}; use one of: {', '.join(answers.ANSWER_FORMATS)}"
            )
    elif name not in FIELDS:
        close = difflib.get_close_matches(name, FIELDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if NAME_RE.match(name):
            hint += f' An answer to an offer\'s own form field is custom.NAME: write ["{header}", "{answers.PREFIX}{name}"].'
        raise PresetError(f"{where}: unknown field {name!r}{hint} Built-in fields: {', '.join(FIELDS)}")
    elif fmt not in FORMATS:
        raise PresetError(f"{where}: unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    return Column(header, name, fmt)


def get_preset(name: str, kind: str = "contacts", site: Any = None) -> Preset:
    """The preset ``name`` (site-defined ones win), for ``kind`` ``contacts`` or ``submissions``."""
    available = {**PRESETS, **site_presets(site)}
    if name not in available:
        raise PresetError(f"unknown export format {name!r}; use one of: {', '.join(sorted(available))}")
    if name == "generic" and kind == "submissions":
        return GENERIC_SUBMISSIONS
    preset = available[name]
    if preset.base:  # the built-in columns for this kind of row, then the site's own
        preset = replace(preset, columns=get_preset(preset.base, kind).columns + preset.columns)
    # A column reading a field this kind of row does not have would be silently empty in every row.
    have = SUBMISSION_FIELDS if kind == "submissions" else CONTACT_FIELDS
    missing = [
        c.field for c in preset.columns if c.field not in have and c.format not in FIELDLESS_FORMATS and answers.field_of(c.field) is None
    ]
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
