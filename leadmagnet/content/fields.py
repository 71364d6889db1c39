"""An offer's form fields: the built-in ones and the custom fields front matter may declare.

``fields: [first_name, company]`` lists built-in fields by name; a custom field is a mapping
(``{name, label, type, required, choices, max_length}``). :func:`parse_fields` checks the list
and always puts ``email`` in it. The web forms (``leads/forms.py``) are built from these specs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from leadmagnet.content.problems import ContentError, did_you_mean, show

FIELD_TYPES = ("text", "email", "tel", "select", "checkbox", "textarea")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_MAX_LENGTH = 200
# The keys a custom field's mapping takes.
FIELD_KEYS = {"name", "label", "type", "required", "choices", "max_length"}


@dataclass(frozen=True)
class FieldSpec:
    """One form field of an offer: built-in (``first_name``) or custom."""

    name: str
    label: str
    type: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = DEFAULT_MAX_LENGTH
    autocomplete: str | None = None
    builtin: bool = False


BUILTIN_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("email", "Work email", "email", True, max_length=254, autocomplete="email", builtin=True),
        FieldSpec("first_name", "First name", "text", False, max_length=100, autocomplete="given-name", builtin=True),
        FieldSpec("last_name", "Last name", "text", False, max_length=100, autocomplete="family-name", builtin=True),
        FieldSpec("company", "Company", "text", False, max_length=200, autocomplete="organization", builtin=True),
        FieldSpec("job_title", "Job title", "text", False, max_length=200, autocomplete="organization-title", builtin=True),
        FieldSpec("phone", "Phone", "tel", False, max_length=40, autocomplete="tel", builtin=True),
        FieldSpec("country", "Country", "text", False, max_length=100, autocomplete="country-name", builtin=True),
    )
}

# A custom field's name must not be one of leadmagnet's own inputs (the consent box, the honeypot,
# the attribution fields) nor a name the form object itself uses: a field called `validate` or
# `meta` would replace it and break every submission. tests/test_offer.py keeps this list in step
# with WTForms (listed here, not imported: the content layer and `leadmagnet build` load no WTForms).
RESERVED_FIELD_NAMES = frozenset(
    {"consent", "website", "form_ts", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}
    | {"cleaned", "data", "errors", "form_errors", "messages", "meta", "populate_obj", "post_process", "process", "spec_names", "validate"}
)


def parse_fields(value: Any) -> tuple[FieldSpec, ...]:
    """The ``fields`` key: built-in names and custom mappings, ``email`` first when not listed.

    Every item is checked and every problem reported (one message each), not only the first.
    """
    if not isinstance(value, list):
        raise ContentError(f"{show(value)} is not a list of fields (write fields: [first_name, company])")
    specs: list[FieldSpec] = []
    problems: list[str] = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, str):
            if item not in BUILTIN_FIELDS:
                hint = did_you_mean(item, BUILTIN_FIELDS)
                problems.append(
                    f"item {index}: {show(item)} is not a built-in field ({', '.join(BUILTIN_FIELDS)}){hint}; "
                    "a custom field is a mapping with name, label and type"
                )
            else:
                specs.append(BUILTIN_FIELDS[item])
        elif isinstance(item, dict):
            spec, found = _custom_field(index, item)
            problems.extend(found)
            if spec is not None:
                specs.append(spec)
        else:
            problems.append(f"item {index}: {show(item)} is neither a built-in field name nor a mapping")
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"field {', '.join(dupes)} is listed twice")
    if problems:
        raise ContentError(*problems)
    if "email" not in names:
        specs.insert(0, BUILTIN_FIELDS["email"])
    return tuple(specs)


def _custom_field(index: int, item: dict[str, Any]) -> tuple[FieldSpec | None, list[str]]:
    """Item ``index`` (from 1) of the list, a mapping: one custom field (None if it has a problem)
    and what is wrong with it, every key checked."""
    problems: list[str] = []
    name = item.get("name")
    if isinstance(name, str) and NAME_RE.match(name):
        where = f"item {index} ({name})"
        if name in BUILTIN_FIELDS:
            problems.append(f"{where}: {name} is a built-in field; list it by name only (- {name})")
        elif name in RESERVED_FIELD_NAMES:
            problems.append(f"{where}: {name} is reserved for leadmagnet's own form fields; choose another name")
    else:
        where = f"item {index}"
        problems.append(f"{where}: name {show(name)} must be lower-case letters, digits and underscores, starting with a letter")
        name = ""
    for key in sorted(set(item) - FIELD_KEYS, key=str):
        problems.append(
            f"{where}: unknown key {str(key)!r}{did_you_mean(str(key), FIELD_KEYS)}; a field takes {', '.join(sorted(FIELD_KEYS))}"
        )
    ftype = item.get("type", "text")
    if ftype not in FIELD_TYPES:
        hint = did_you_mean(ftype, FIELD_TYPES) if isinstance(ftype, str) else ""
        problems.append(f"{where}: type {show(ftype)} is not a field type{hint}; use one of: {', '.join(FIELD_TYPES)}")
    label = item.get("label", name.replace("_", " ").capitalize() or "-")  # "-": a bad name is reported once
    if not isinstance(label, str) or not label.strip():
        problems.append(f"{where}: label must be text")
    required = item.get("required", False)
    if not isinstance(required, bool):
        problems.append(f"{where}: required {show(required)} is not true or false")
    max_length = item.get("max_length", 2000 if ftype == "textarea" else DEFAULT_MAX_LENGTH)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= 10000:
        problems.append(f"{where}: max_length {show(max_length)} is not a whole number from 1 to 10000")
    choices: list[tuple[str, str]] = []
    raw_choices = item.get("choices")
    if ftype == "select":
        if not isinstance(raw_choices, list) or not raw_choices:
            problems.append(f"{where}: a select field needs choices: a list of options")
            raw_choices = []
        for choice in raw_choices:
            if isinstance(choice, dict) and len(choice) == 1:
                ((value, text),) = choice.items()
                choices.append((str(value), str(text)))
            elif isinstance(choice, (str, int, float)) and not isinstance(choice, bool):
                choices.append((str(choice), str(choice)))
            else:
                problems.append(f"{where}: choice {show(choice)} is not text (or a one-entry mapping value: label)")
    elif raw_choices is not None:
        problems.append(f"{where}: choices only apply to type: select")
    if problems:
        return None, problems
    return FieldSpec(name, label.strip(), ftype, required, tuple(choices), max_length), []
