"""The one entry point to exports: ``leadmagnet export`` and the admin's download both use it.

Each front end only turns its own input (command-line options, a query string) into
:class:`~leadmagnet.store.reports.Filters` and options; :class:`Exports` checks them together
(unknown preset, kind or output: :class:`ExportError` with a message saying what to use) and runs
the export as files, a text stream or an HTTP download's chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from leadmagnet.export import presets
from leadmagnet.export.writer import ExportError, ExportRequest, ExportResult, export, resolve_preset, since_cursor, stream
from leadmagnet.store import Store
from leadmagnet.store.reports import Filters

__all__ = ["ExportError", "ExportRequest", "ExportResult", "Exports"]


class Exports:
    """Exports of one store, with the site's own CRM presets (``[crm.*]`` in config.toml)."""

    def __init__(self, store: Store, site_presets: Any = None) -> None:
        self.store = store
        self.site_presets = site_presets

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
        if single_stream and split is None and chosen.split:
            request = replace(request, split=0)
        return request

    def count(self, request: ExportRequest) -> int:
        """How many rows :meth:`write` will write (for a progress bar)."""
        return self.store.count_export_rows(request.kind, since_cursor(self.store, request))

    def write(self, request: ExportRequest, out: Path | IO[str], on_row: Callable[[int], None] | None = None) -> ExportResult:
        """Write to a file (safely, split if asked) or a text stream; moves a ``since_last`` cursor."""
        return export(self.store, request, out, self.site_presets, on_row=on_row)

    def stream(self, request: ExportRequest) -> Iterator[str]:
        """The export as text chunks (an HTTP download): no cursor, no files."""
        return stream(self.store, request, self.site_presets)
