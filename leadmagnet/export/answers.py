"""Custom answers in exports: a column per custom form field, written the way each CRM reads it.

An offer's own fields (``fields:`` mappings in front matter, :class:`~leadmagnet.content.fields.FieldSpec`)
reach every export as one column per field name, headed ``custom.NAME`` (a name the built-in
columns can never take: field names have no dot), after the preset's own columns, sorted by name.
A submissions row carries that submission's answers; a contacts row the contact's latest answer to
each field. A field nobody in the export answered has no column unless an offer of the site
still asks it (so a nightly import keeps the same header); an answer the row does not have is an
empty cell, never ``false``.

How an answer is written depends on the preset (:class:`AnswerStyle`, in :data:`STYLES`):
a checkbox as ``true``/``false`` (generic, HubSpot's single checkbox), ``Yes``/``No`` (Mailchimp,
which has no yes/no field: a text or dropdown field) or ``1``/``0`` (Salesforce, like its
``Email Opt Out``); a select as the choice's value (generic, HubSpot's internal option value) or
its label (Mailchimp and Salesforce, which match the option text). Text is written as given.
Every cell then goes through the preset's formula neutralising and clipping like any other.

A preset of the site's own (``instance/config.toml``) maps a field with ``["Header", "custom.NAME"]``
and may name one of :data:`ANSWER_FORMATS` as the third item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from leadmagnet.content.offer import Offer

PREFIX = "custom."
# A select's labels for one field name: by offer slug, and under None every offer's merged
# (the first offer by slug wins a value two offers label differently): a contact's row has no offer.
Labels = dict[str | None, dict[str, str]]
_NO_ANSWERS: Mapping[str, Any] = {}


@dataclass(frozen=True)
class AnswerStyle:
    """How a preset writes custom answers: a ticked and an unticked checkbox, a select's value or label."""

    checked: str = "true"
    unchecked: str = "false"
    choices: str = "value"  # "value" or "label"


GENERIC_STYLE = AnswerStyle("true", "false", "value")
STYLES: dict[str, AnswerStyle] = {
    "generic": GENERIC_STYLE,
    "hubspot": AnswerStyle("true", "false", "value"),  # single checkbox: true/false; dropdown: internal value
    "mailchimp": AnswerStyle("Yes", "No", "label"),  # no boolean field type: text, dropdown by option text
    "salesforce": AnswerStyle("1", "0", "label"),  # checkbox 1/0 like Email Opt Out; picklist by its value text
}

# Formats a column reading a custom answer may name; "answer" (the default) follows the preset.
ANSWER_FORMATS: dict[str, Callable[[AnswerStyle], AnswerStyle]] = {
    "answer": lambda style: style,
    "text": lambda style: style,
    "value": lambda style: replace(style, choices="value"),
    "label": lambda style: replace(style, choices="label"),
    "truefalse": lambda style: replace(style, checked="true", unchecked="false"),
    "yesno": lambda style: replace(style, checked="Yes", unchecked="No"),
    "bool01": lambda style: replace(style, checked="1", unchecked="0"),
}


def field_of(column_field: str) -> str | None:
    """``custom.team_size`` -> ``team_size``; None for a built-in field."""
    return column_field[len(PREFIX) :] if column_field.startswith(PREFIX) else None


def writer(name: str, style: AnswerStyle, labels: Labels | None) -> Callable[[Any, Mapping[str, Any]], str]:
    """The value writer of the column for custom field ``name`` (reads the row's ``custom`` dict)."""
    checked, unchecked = style.checked, style.unchecked
    by_label = labels if style.choices == "label" and labels else None
    merged = (by_label or {}).get(None, {})

    def write(_value: Any, row: Mapping[str, Any]) -> str:
        answer = (row.get("custom") or _NO_ANSWERS).get(name)
        if answer is None:
            return ""
        if answer is True:
            return checked
        if answer is False:
            return unchecked
        text = answer if type(answer) is str else str(answer)
        if by_label is None:
            return text
        table = by_label.get(row.get("offer_slug"))
        return (merged if table is None else table).get(text, text)

    return write


def choice_labels(offers: Iterable[Offer]) -> dict[str, Labels]:
    """Each custom field's choice labels, by field name, then by offer slug (None: every offer)."""
    found: dict[str, Labels] = {}
    for offer in sorted(offers, key=lambda o: o.slug):
        for spec in offer.fields:
            if spec.builtin:
                continue
            by_offer = found.setdefault(spec.name, {None: {}})
            by_offer[offer.slug] = dict(spec.choices)
            for value, label in spec.choices:
                by_offer[None].setdefault(value, label)
    return found


def asked(offers: Iterable[Offer], only: tuple[str, ...] = ()) -> set[str]:
    """The custom field names the offers ask (those of ``only``, when it names some)."""
    return {spec.name for offer in offers if not only or offer.slug in only for spec in offer.fields if not spec.builtin}
