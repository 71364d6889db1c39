"""The one entry point to exports: ``leadmagnet export`` and the admin's download both use it.

Each front end only turns its own input (command-line options, a query string) into
:class:`~leadmagnet.store.reports.Filters` and options; :class:`Exports` checks them together
(unknown preset, kind or output: :class:`ExportError` with a message saying what to use) and runs
the export as files, a text stream or an HTTP download's chunks. Given the site's ``catalog``, an
export also has a column for every custom field an offer asks (answered yet or not) and writes
select answers as their labels where the preset wants labels (:mod:`leadmagnet.export.answers`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from leadmagnet.content.catalog import Catalog
from leadmagnet.content.offer import Offer
from leadmagnet.export import answers, presets
from leadmagnet.export.writer import ExportError, ExportRequest, ExportResult, export, query, resolve_preset, since_cursor, stream
from leadmagnet.store import Store
from leadmagnet.store.reports import Filters

__all__ = ["ExportError", "ExportRequest", "ExportResult", "Exports"]


class Exports:
    """Exports of one store, with the site's own CRM presets (``[crm.*]`` in config.toml).

    ``catalog`` (the catalog cache's ``get``) gives the offers' custom fields: their columns and
    select labels, and the check of a site preset's ``custom.NAME`` columns.
    """

    def __init__(self, store: Store, site_presets: Any = None, catalog: Callable[[], Catalog] | None = None) -> None:
        self.store = store
        self.site_presets = site_presets
        self.catalog = catalog

    def offers(self) -> list[Offer] | None:
        """The site's offers now (None without a catalog: columns only for the answers stored)."""
        return None if self.catalog is None else self.catalog().offers()

    def preset_names(self) -> list[str]:
        return presets.preset_names(self.site_presets)

    def prepare(
        self,
        filters: Filters,
        *,
        kind: str = "contacts",
        preset: str = "generic",
        output: str = "csv",
        excel: bool = False,
        split: int | None = None,
        since_last: str | None = None,
        single_stream: bool = False,
    ) -> ExportRequest:
        """A checked request; raises :class:`ExportError` naming the option that cannot work.

        ``single_stream``: the export goes to one stream (stdout, a download), so a preset that
        splits its files by default (salesforce) writes one stream instead, unless ``split`` asks.
        """
        request = ExportRequest(filters=filters, kind=kind, preset=preset, output=output, excel=excel, split=split, since_last=since_last)
        chosen = resolve_preset(request, self.site_presets)
        self._check_custom_columns(chosen, request)
        if single_stream and split is None and chosen.split:
            request = replace(request, split=0)
        return request

    def _check_custom_columns(self, preset: presets.Preset, request: ExportRequest) -> None:
        """A site preset's ``custom.NAME`` column must name a field an offer asks or an answer stored:
        a misspelt one would be an empty column in every import."""
        offers = self.offers()
        mapped = [(c.header, name) for c in preset.columns if (name := answers.field_of(c.field)) is not None]
        if not mapped or offers is None:
            return
        known = answers.asked(offers)
        if any(name not in known for _header, name in mapped):
            everything = Filters(include_spam=True, include_unsubscribed=True)
            known |= set(query(self.store, replace(request, filters=everything)).custom_fields)
        for header, name in mapped:
            if name not in known:
                fields = ", ".join(sorted(known)) or "none yet"
                raise ExportError(
                    f"instance/config.toml [crm.{preset.name}]: column {header!r} reads {answers.PREFIX}{name}, but no offer has a "
                    f"field named {name!r} and no stored answer does; write {answers.PREFIX} and a custom field's name "
                    f"(custom fields: {fields}), or remove the column"
                )

    def count(self, request: ExportRequest) -> int:
        """How many rows :meth:`write` will write (for a progress bar)."""
        return self.store.count_export_rows(request.kind, since_cursor(self.store, request))

    def write(self, request: ExportRequest, out: Path | IO[str], on_row: Callable[[int], None] | None = None) -> ExportResult:
        """Write to a file (safely, split if asked) or a text stream; moves a ``since_last`` cursor."""
        return export(self.store, request, out, self.site_presets, on_row=on_row, offers=self.offers())

    def stream(self, request: ExportRequest) -> Iterator[str]:
        """The export as text chunks (an HTTP download): no cursor, no files."""
        return stream(self.store, request, self.site_presets, offers=self.offers())
