"""A preset's columns as :class:`~leadmagnet.store.exporting.Cell` specs, so SQLite writes the cells.

Each value writer of :data:`~leadmagnet.export.formats.FORMATS` has a SQL twin in the store where
SQLite gives the same text (plain text, the store's own UTC times, the stage mappings, flags, a
constant, custom answers); the writer itself goes along as the Python fallback for the values SQL
leaves to it, so every cell is the writer's text, byte for byte (tests/test_exporting.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadmagnet.export import answers
from leadmagnet.export.formats import (
    FORMATS,
    HUBSPOT_LIFECYCLE,
    NOT_PROVIDED,
    SALESFORCE_CLOSED,
    SALESFORCE_OPEN,
    SALESFORCE_RATING,
    SALESFORCE_WORKING,
)
from leadmagnet.export.presets import Column, Preset
from leadmagnet.store.exporting import Cell

# Formats SQL writes the same way for any field (the field's own value, or a fixed row field).
_FLAGS = {"bool01": ("1", "0"), "truefalse": ("true", "false")}


def cells_of(preset: Preset) -> list[Cell]:
    """The preset's columns (custom answers included, see ``Preset.with_answers``) as cell specs."""
    return [_cell(preset, column) for column in preset.columns]


def _cell(preset: Preset, column: Column) -> Cell:
    name = answers.field_of(column.field)
    if name is not None:
        return _answer(name, answers.ANSWER_FORMATS[column.format](preset.style), preset.labels.get(name))
    fmt, field = column.format, column.field
    write = FORMATS[fmt]
    if fmt == "text":
        return Cell(field)
    if fmt == "datetime":
        return Cell(field, "iso", python=write)
    if fmt == "date":
        return Cell(field, "date", python=write)
    if fmt == "required":
        return Cell(field, "required", default=NOT_PROVIDED, python=write)
    if fmt in _FLAGS:
        yes, no = _FLAGS[fmt]
        return Cell(field, "truthy", yes=yes, no=no, python=write)
    if fmt == "opted_out":
        return Cell("unsubscribed_at", "truthy", yes="1", no="0", python=write)
    if fmt in ("hubspot_lifecycle", "salesforce_rating"):
        mapping = HUBSPOT_LIFECYCLE if fmt == "hubspot_lifecycle" else SALESFORCE_RATING
        return Cell("lifecycle_stage", "map", default=mapping["subscriber"], values=tuple(mapping.items()), python=write)
    if fmt == "salesforce_status":
        return Cell(
            "lifecycle_stage", "status", values=(("unsubscribed", SALESFORCE_CLOSED), ("sql", SALESFORCE_WORKING), ("", SALESFORCE_OPEN))
        )
    if fmt == "web":
        return Cell(field, "constant", default=write(None, {}))
    return Cell(field, "python", python=write)  # country codes, Mailchimp's tags cell: Python, cached per value


def _answer(name: str, style: answers.AnswerStyle, labels: answers.Labels | None) -> Cell:
    write = answers.writer(name, style, labels)

    def fallback(found: Mapping[str, Any], offer_slug: str | None) -> str:
        return write(None, {"custom": found, "offer_slug": offer_slug})

    by_label = labels if style.choices == "label" and labels else {}
    merged = tuple(by_label.get(None, {}).items())
    by_offer = tuple((slug, tuple(table.items())) for slug, table in by_label.items() if slug is not None)
    return Cell(name, "answer", values=merged, by_offer=by_offer, yes=style.checked, no=style.unchecked, python=fallback)
