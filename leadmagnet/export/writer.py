"""Streaming exports: contacts or submissions as CSV or JSON Lines, in any CRM preset.

SQLite computes every cell (:mod:`leadmagnet.store.exporting`, from the preset's columns turned into
cell specs by :mod:`leadmagnet.export.cells`): formatted, formula-neutralised and clipped, in every
format; for CSV it writes each row's line too, which the store makes CSV text a chunk at a time
(PostgreSQL's rows go to ``csv.writer.writerows``). Chunks of rows flow from the store's cursor
straight to the file (or JSON Lines), so memory stays flat whatever the number of rows.

Custom answers (an offer's own form fields) come after the preset's columns, one ``custom.NAME``
column per field (:mod:`leadmagnet.export.answers`): the fields the exported rows answer, and those
the site's offers ask when the caller passes ``offers`` (which also gives the select labels).

Files are written safely: each goes to a temporary file beside the target, is flushed and
fsynced, then renamed into place. An incremental export (``since_last``) saves its cursor only
after that, so an export that fails half-way never leaves a partial target file nor a moved
cursor: it is simply run again, with no row skipped or repeated. (A failure Python sees removes the
temporary file; a killed process or a power cut can leave it, hidden, beside the target.)

CSV follows RFC 4180 (comma, double-quote quoting, CRLF line ends), UTF-8, with a byte-order mark
only when asked (``excel``: Excel reads UTF-8 without it as the local code page).
"""

from __future__ import annotations

import csv
import io
import json
import operator
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from leadmagnet.content.offer import Offer
from leadmagnet.export import answers
from leadmagnet.export import presets as crm
from leadmagnet.export.cells import cells_of
from leadmagnet.store import Store
from leadmagnet.store.export_lines import StoredTextError
from leadmagnet.store.exporting import ExportQuery
from leadmagnet.store.reports import Filters

BOM = "\ufeff"
KINDS = ("contacts", "submissions")
OUTPUTS = ("csv", "jsonl")


class ExportError(ValueError):
    """Export options that cannot work together; the message says which and what to do."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export and how. ``preset`` is a CRM preset name; ``output`` ``csv`` or ``jsonl``."""

    filters: Filters = field(default_factory=Filters)
    kind: str = "contacts"
    preset: str = "generic"
    output: str = "csv"
    excel: bool = False
    split: int | None = None  # rows per file; None: the preset's default (salesforce: 50,000)
    since_last: str | None = None


@dataclass
class ExportResult:
    rows: int = 0
    files: list[Path] = field(default_factory=list)
    cursor: int | None = None


def resolve_preset(request: ExportRequest, site_presets: Any = None) -> crm.Preset:
    """The preset for a request; raises :class:`ExportError` for unknown names or bad options."""
    if request.kind not in KINDS:
        raise ExportError(f"unknown export kind {request.kind!r}; use contacts or submissions")
    if request.output not in OUTPUTS:
        raise ExportError(f"unknown output {request.output!r}; use csv or jsonl")
    try:
        preset = crm.get_preset(request.preset, request.kind, site_presets)
    except crm.PresetError as exc:
        raise ExportError(str(exc)) from None
    # A file for Excel keeps plain numbers (phone numbers) as text too: see formats.neutralise().
    return replace(preset, spreadsheet=True) if request.excel and request.output == "csv" else preset


def query(store: Store, request: ExportRequest) -> ExportQuery:
    """The request's rows in the store: their custom fields now, their cells when asked."""
    return store.export_query(request.kind, request.filters)


def with_answers(preset: crm.Preset, names: Iterable[str], request: ExportRequest, offers: Iterable[Offer] | None) -> crm.Preset:
    """``preset`` with a column for each custom field the rows answer (``names``) or (given
    ``offers``) an offer in the request asks, and the offers' select labels."""
    names = set(names)
    labels: dict[str, answers.Labels] = {}
    if offers is not None:
        offers = list(offers)
        names |= answers.asked(offers, request.filters.offers)
        labels = answers.choice_labels(offers)
    return preset.with_answers(names, labels)


Chunk = list[tuple[Any, ...]]


class Rows:
    """An export's rows as chunks of finished cells (SQLite wrote them: see store/exporting.py).

    With ``cursor`` each row carries the incremental cursor's submission id last, which
    :meth:`write` strips and keeps the highest of. ``write`` takes at most ``limit`` rows (a split
    file's share) and keeps the rest of the chunk for the next call.
    """

    def __init__(
        self,
        chunks: Iterator[Chunk],
        headers: list[str],
        cursor: bool,
        count: Callable[[int, int], None],
        csv_text: Callable[[Chunk], bytes] | None = None,
    ) -> None:
        self.chunks, self.headers, self.cursor, self.count = chunks, headers, cursor, count
        self.csv_text = csv_text  # the store's lines -> CSV text (SQLite), else cells -> csv.writer
        self.left: Chunk = []

    def next_chunk(self, limit: int | None) -> Chunk:
        chunk = self.left or next(self.chunks, [])
        if limit is not None and len(chunk) > limit:
            chunk, self.left = chunk[:limit], chunk[limit:]
        else:
            self.left = []
        return chunk

    def more(self) -> bool:
        if not self.left:
            self.left = next(self.chunks, [])
        return bool(self.left)

    def write(self, fh: IO[str], output: str, limit: int | None = None, binary: IO[bytes] | None = None) -> None:
        """Write (up to ``limit``) rows to ``fh``: the store's CSV text (to ``binary``, the UTF-8 file
        under ``fh``, when given: no decoding and encoding again), or cells through ``csv.writer``."""
        if binary is not None and self.csv_text is not None:
            fh.flush()  # the text written before (the header) first
        writerows = csv.writer(fh, lineterminator="\r\n").writerows  # RFC 4180: CRLF, quote when needed
        headers, dumps, last = self.headers, json.dumps, _LAST
        while limit is None or limit > 0:
            chunk = self.next_chunk(limit)
            if not chunk:
                return
            cursor = max(map(last, chunk)) if self.cursor else 0
            if self.csv_text is not None:
                try:
                    data = self.csv_text(chunk)
                except StoredTextError as exc:
                    raise ExportError(str(exc)) from None
                if binary is not None:
                    binary.write(data)
                else:
                    fh.write(data.decode("utf-8"))
                self.count(len(chunk), cursor)
                if limit is not None:
                    limit -= len(chunk)
                continue
            rows = map(_CELLS, chunk) if self.cursor else chunk
            if output == "jsonl":
                fh.write("".join(dumps(dict(zip(headers, row, strict=True)), ensure_ascii=False) + "\n" for row in rows))
            else:
                writerows(rows)
            self.count(len(chunk), cursor)
            if limit is not None:
                limit -= len(chunk)


_LAST = operator.itemgetter(-1)
_CELLS = operator.itemgetter(slice(0, -1))


def open_rows(
    store: Store,
    request: ExportRequest,
    preset: crm.Preset,
    offers: Iterable[Offer] | None,
    cursor: bool = False,
    count: Callable[[int, int], None] = lambda rows, last: None,
) -> tuple[crm.Preset, Rows]:
    """The export's final preset (its custom answer columns added) and its rows."""
    found = query(store, request)
    preset = with_answers(preset, found.custom_fields, request, offers)
    cells, options = cells_of(preset), {"spreadsheet": preset.spreadsheet, "clip": preset.clip, "cursor": cursor}
    lines = found.csv_chunks(cells, **options) if request.output == "csv" else None
    if lines is not None:
        return preset, Rows(lines[0], preset.headers, cursor, count, csv_text=lines[1])
    return preset, Rows(found.chunks(cells, **options), preset.headers, cursor, count)


def header_line(preset: crm.Preset) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(preset.headers)
    return buffer.getvalue()


def stream(store: Store, request: ExportRequest, site_presets: Any = None, offers: Iterable[Offer] | None = None) -> Iterator[str]:
    """The whole export as text chunks (for an HTTP download); no cursor, no files."""
    preset = resolve_preset(request, site_presets)
    if request.excel and request.output == "csv":
        yield BOM
    preset, rows = open_rows(store, request, preset, offers)
    if request.output == "csv":
        yield header_line(preset)
    while rows.more():
        buffer = io.StringIO()
        rows.write(buffer, request.output, limit=1000)
        yield buffer.getvalue()


def since_cursor(store: Store, request: ExportRequest) -> Filters:
    """The request's filters, narrowed to what arrived since its ``since_last`` cursor (if any)."""
    if not request.since_last:
        return request.filters
    return replace(
        request.filters,
        after_id=max(request.filters.after_id, store.get_export_cursor(request.since_last)),
        confirmed_after=store.get_export_cursor_time(request.since_last),
    )


def numbered(path: Path, index: int) -> Path:
    """``leads.csv`` -> ``leads-001.csv`` (the files of a split export)."""
    return path.with_name(f"{path.stem}-{index:03d}{path.suffix}")


def export(
    store: Store,
    request: ExportRequest,
    out: Path | IO[str],
    site_presets: Any = None,
    on_row: Callable[[int], None] | None = None,
    offers: Iterable[Offer] | None = None,
) -> ExportResult:
    """Write an export to a file path (safely, split if asked) or an open text stream.

    ``on_row(n)`` is called after each row is written (the CLI's progress bar). With
    ``request.since_last`` only submissions newer than that name's cursor are exported, and the
    cursor moves only after every file is completely on disk (or the stream flushed). If anything
    raises, no target file is touched and the cursor stays where it was. ``offers`` (the site's)
    add a column for each custom field they ask and give the select fields' labels.
    """
    preset = resolve_preset(request, site_presets)
    as_of = store.now()  # before any row is read: a confirmation after this comes next run
    request = replace(request, filters=since_cursor(store, request))
    split = preset.split if request.split is None else request.split
    if split and not isinstance(out, Path):
        raise ExportError("--split writes numbered files: give an output file with -o FILE")
    result = ExportResult()

    def count(rows: int, cursor: int) -> None:
        result.rows += rows
        if cursor:
            result.cursor = max(result.cursor or 0, int(cursor))
        if on_row is not None:
            on_row(result.rows)

    preset, rows = open_rows(store, request, preset, offers, cursor=bool(request.since_last), count=count)
    if isinstance(out, Path):
        _write_files(preset, rows, request, out, split, result)
    else:
        if request.excel and request.output == "csv":
            out.write(BOM)
        if request.output == "csv":
            out.write(header_line(preset))
        rows.write(out, request.output)
        out.flush()
    if request.since_last and result.cursor:
        store.save_export_cursor(request.since_last, result.cursor, as_of=as_of)
    return result


def _write_files(preset: crm.Preset, rows: Rows, request: ExportRequest, target: Path, split: int, result: ExportResult) -> None:
    """Write to temporary files, fsync them, then rename every one into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[Path, Path]] = []
    handle: IO[str] | None = None
    bom = BOM if request.excel and request.output == "csv" else ""

    def open_next() -> IO[str]:
        index = len(temps) + 1
        final = numbered(target, index) if split else target
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        temps.append((Path(tmp), final))
        fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        fh.write(bom)
        if request.output == "csv":
            fh.write(header_line(preset))
        return fh

    def close(fh: IO[str]) -> None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()

    try:
        handle = open_next()
        if not split:
            rows.write(handle, request.output, binary=handle.buffer)  # type: ignore[attr-defined]
        else:
            while True:
                rows.write(handle, request.output, limit=split, binary=handle.buffer)  # type: ignore[attr-defined]
                if not rows.more():  # a next file only when a row is left for it
                    break
                close(handle)
                handle = open_next()
        close(handle)
        handle = None
    except BaseException:
        if handle is not None:
            handle.close()
        for tmp, _final in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in temps:
        os.replace(tmp, final)  # atomic on POSIX: a reader sees the old file or the whole new one
        result.files.append(final)
    if split:
        # Numbered files left by an earlier, longer export would be imported again by mistake.
        index = len(temps) + 1
        while numbered(target, index).exists():
            numbered(target, index).unlink()
            index += 1
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the renames durable too (the directory entry), where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
