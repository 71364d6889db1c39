"""Streaming exports: contacts or submissions as CSV or JSON Lines, in any CRM preset.

Rows flow one at a time from the store's cursor through the preset (:mod:`leadmagnet.export.presets`) to the
output, so memory stays flat whatever the number of rows. Every cell is formula-neutralised by
the preset, in every format.

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
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from leadmagnet.content.offer import Offer
from leadmagnet.export import answers
from leadmagnet.export import presets as crm
from leadmagnet.store import Store
from leadmagnet.store.reports import ExportRows, Filters

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


def iter_rows(store: Store, request: ExportRequest) -> ExportRows:
    """The request's rows as plain dicts, streamed from one store cursor (and their custom fields)."""
    if request.kind == "submissions":
        return store.iter_submission_rows(request.filters)
    return store.iter_contact_rows(request.filters)


def with_answers(preset: crm.Preset, rows: ExportRows, request: ExportRequest, offers: Iterable[Offer] | None) -> crm.Preset:
    """``preset`` with a column for each custom field the rows answer or (given ``offers``) an offer
    in the request asks, and the offers' select labels."""
    names = set(rows.custom_fields)
    labels: dict[str, answers.Labels] = {}
    if offers is not None:
        offers = list(offers)
        names |= answers.asked(offers, request.filters.offers)
        labels = answers.choice_labels(offers)
    return preset.with_answers(names, labels)


class _Line(io.StringIO):
    """A reusable one-line buffer for :mod:`csv`, so each row becomes one string to write."""

    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


def encode_lines(preset: crm.Preset, rows: Iterable[dict[str, Any]], output: str, header: bool = True) -> Iterator[tuple[str, dict]]:
    """Yield ``(line, row)``: the header line first (row ``{}``), then one line per row."""
    if output == "jsonl":
        headers = preset.headers
        for row in rows:
            yield json.dumps(dict(zip(headers, preset.cells(row), strict=True)), ensure_ascii=False) + "\n", row
        return
    buffer = _Line()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, quote when needed
    if header:
        writer.writerow(preset.headers)
        yield buffer.take(), {}
    for row in rows:
        writer.writerow(preset.cells(row))
        yield buffer.take(), row


def write_rows(
    preset: crm.Preset,
    rows: Iterable[dict[str, Any]],
    fh: IO[str],
    output: str,
    count: Callable[[dict[str, Any]], None],
    header: bool = False,
) -> None:
    """Write ``rows`` to ``fh`` straight through a csv writer (or as JSON Lines), calling ``count``
    after each. The file exports' hot loop: no per-line buffers or generators in between."""
    cells = preset.cells
    if output == "jsonl":
        headers = preset.headers
        dumps = json.dumps
        for row in rows:
            fh.write(dumps(dict(zip(headers, cells(row), strict=True)), ensure_ascii=False) + "\n")
            count(row)
        return
    writerow = csv.writer(fh, lineterminator="\r\n").writerow  # RFC 4180: CRLF, quote when needed
    if header:
        writerow(preset.headers)
    for row in rows:
        writerow(cells(row))
        count(row)


def stream(store: Store, request: ExportRequest, site_presets: Any = None, offers: Iterable[Offer] | None = None) -> Iterator[str]:
    """The whole export as text chunks (for an HTTP download); no cursor, no files."""
    preset = resolve_preset(request, site_presets)
    if request.excel and request.output == "csv":
        yield BOM
    rows = iter_rows(store, request)
    preset = with_answers(preset, rows, request, offers)
    chunk: list[str] = []
    for line, _row in encode_lines(preset, rows, request.output):
        chunk.append(line)
        if len(chunk) >= 500:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


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
    rows = iter_rows(store, request)
    preset = with_answers(preset, rows, request, offers)

    def count(row: dict[str, Any]) -> None:
        result.rows += 1
        result.cursor = max(result.cursor or 0, int(row.get("last_submission_id") or 0))
        if on_row is not None:
            on_row(result.rows)

    if isinstance(out, Path):
        _write_files(preset, rows, request, out, split, count, result)
    else:
        if request.excel and request.output == "csv":
            out.write(BOM)
        write_rows(preset, rows, out, request.output, count, header=True)
        out.flush()
    if request.since_last and result.cursor:
        store.save_export_cursor(request.since_last, result.cursor, as_of=as_of)
    return result


def _write_files(
    preset: crm.Preset,
    rows: Iterable[dict[str, Any]],
    request: ExportRequest,
    target: Path,
    split: int,
    count: Callable[[dict[str, Any]], None],
    result: ExportResult,
) -> None:
    """Write to temporary files, fsync them, then rename every one into place."""
    left = iter(rows)
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
            fh.write(next(encode_lines(preset, (), "csv"))[0])
        return fh

    def close(fh: IO[str]) -> None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()

    try:
        handle = open_next()
        if not split:
            write_rows(preset, left, handle, request.output, count)
        else:
            while True:
                write_rows(preset, itertools.islice(left, split), handle, request.output, count)
                first = next(left, None)  # a next file only when a row is left for it
                if first is None:
                    break
                close(handle)
                handle = open_next()
                left = itertools.chain([first], left)
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
